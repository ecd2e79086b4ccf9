"""An import's last runs, as the import page lists them under the uploader: read from the
runs' audit entries (one indexed query), the reader's own runs unless asked for everyone's.

The audit entry is the one record of a run for every import. Entries the lead import wrote
before it ran on the engine (`{"filename", "status", <count>: n ...}`) read alike, so its
earlier runs stay in the list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm_core.imports.engine.spec import ImportSpec
from crm_core.models import AuditLog
from crm_core.platform.actor import Actor


@dataclass(frozen=True)
class PastRun:
    """One run: when, which file, in which mode, what it stored, whether all or nothing
    refused it, and who ran it."""

    at: datetime
    source: str
    mode: str | None
    counts: dict[str, int]
    refused: bool = False
    actor_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """ "refused" or "done" (the label family `lead_import.status`)."""
        return "refused" if self.refused else "done"


def _run_of(at: datetime, target_id: Any, after: Any, actor_id: int | None) -> PastRun:
    after = after if isinstance(after, dict) else {}
    if "counts" in after:
        counts = {str(k): int(v) for k, v in (after.get("counts") or {}).items()}
        refused = bool(after.get("refused"))
    else:  # an entry of the lead import before the engine: the counts sit beside the file
        counts = {
            str(k): int(v)
            for k, v in after.items()
            if isinstance(v, int) and not isinstance(v, bool)
        }
        refused = after.get("status") == "refused"
    source = str(after.get("source") or after.get("filename") or target_id or "")
    return PastRun(at, source, after.get("mode"), counts, refused, actor_id, after)


def last_runs(
    session: Session, actor: Actor, spec: ImportSpec, limit: int = 5, *, everyone: bool = False
) -> list[PastRun]:
    """The actor's own last `limit` runs of `spec`, newest first (another user's files and
    counts are theirs: an importer sees only their own); `everyone`: every user's runs (the
    caller decides that the actor may see them: a company-wide scope). Needs the spec's
    permission."""
    actor.require(spec.permission)
    query = (
        select(AuditLog.at, AuditLog.target_id, AuditLog.after, AuditLog.actor_id)
        .where(AuditLog.action == spec.audit_action)
        .order_by(col(AuditLog.id).desc())
        .limit(limit)
    )
    if not everyone:
        query = query.where(AuditLog.actor_id == actor.user_id)
    return [_run_of(*entry) for entry in session.exec(query).all()]


__all__ = ["PastRun", "last_runs"]
