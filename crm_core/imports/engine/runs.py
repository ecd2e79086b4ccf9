"""An import's last runs, as the import page lists them under the uploader: read from the
runs' audit entries (one indexed query), the reader's own runs only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm_core.imports.engine.spec import ImportSpec
from crm_core.models import AuditLog
from crm_core.platform.actor import Actor


@dataclass(frozen=True)
class PastRun:
    """One run: when, which file, in which mode, and what it stored."""

    at: datetime
    source: str
    mode: str | None
    counts: dict[str, int]


def last_runs(session: Session, actor: Actor, spec: ImportSpec, limit: int = 5) -> list[PastRun]:
    """The actor's own last `limit` runs of `spec`, newest first (another user's files and
    counts are theirs: an importer sees only their own). Needs the spec's permission."""
    actor.require(spec.permission)
    entries = session.exec(
        select(AuditLog.at, AuditLog.target_id, AuditLog.after)
        .where(AuditLog.action == spec.audit_action, AuditLog.actor_id == actor.user_id)
        .order_by(col(AuditLog.id).desc())
        .limit(limit)
    ).all()
    runs = []
    for at, target_id, after in entries:
        after = after if isinstance(after, dict) else {}
        counts = {str(k): int(v) for k, v in (after.get("counts") or {}).items()}
        source = str(after.get("source") or target_id or "")
        runs.append(PastRun(at, source, after.get("mode"), counts))
    return runs


__all__ = ["PastRun", "last_runs"]
