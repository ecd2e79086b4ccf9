"""The audit log: every admin action, with actor, time, target, before and after.

Entries are only ever added; the product offers no way to edit or delete them.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from crm_core import clock
from crm_core.access import Actor
from crm_core.models import AuditLog
from crm_core.permissions import Permission


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: Any = None,
    before: Any = None,
    after: Any = None,
) -> AuditLog:
    """Append one entry in the caller's transaction, so it lands with the change it records."""
    entry = AuditLog(
        at=clock.now(),
        actor_id=actor.user_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def list_entries(
    session: Session,
    actor: Actor,
    *,
    action: str | None = None,
    target_type: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditLog]:
    """Newest entries first, filtered; admins only."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    query = select(AuditLog)
    if action:
        query = query.where(AuditLog.action == action)
    if target_type:
        query = query.where(AuditLog.target_type == target_type)
    query = query.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
    return list(session.exec(query.limit(limit).offset(offset)).all())
