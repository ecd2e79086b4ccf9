"""The audit log: every admin action, with actor, time, target, before and after.

Entries are only ever added; the product offers no way to edit or delete them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.models import AuditLog, User
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission


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


@dataclass(frozen=True)
class AuditRow:
    """One entry as the audit page shows it, with the actor's name (None: the system)."""

    id: int
    at: datetime
    actor_id: int | None
    actor_username: str | None
    actor_name: str | None
    action: str
    target_type: str
    target_id: str | None
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditPage:
    """One page of entries and how many entries match the filters in all."""

    rows: list[AuditRow]
    total: int


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show; unset fields do not filter. `since` counts, `until` does not."""

    action: str | None = None
    target_type: str | None = None
    actor_id: int | None = None
    target_id: Any = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query):
        if self.action:
            query = query.where(AuditLog.action == self.action)
        if self.target_type:
            query = query.where(AuditLog.target_type == self.target_type)
        if self.actor_id is not None:
            query = query.where(AuditLog.actor_id == self.actor_id)
        if self.target_id is not None and str(self.target_id) != "":
            query = query.where(AuditLog.target_id == str(self.target_id))
        if self.since is not None:
            query = query.where(col(AuditLog.at) >= self.since)
        if self.until is not None:
            query = query.where(col(AuditLog.at) < self.until)
        return query


def _newest_first(query):
    return query.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())


def list_entries(
    session: Session, actor: Actor, *, limit: int = 200, offset: int = 0, **filters: Any
) -> list[AuditLog]:
    """Newest entries first, narrowed by `AuditFilter` fields given as keywords; admins only."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    query = AuditFilter(**filters).apply(select(AuditLog))
    return list(session.exec(_newest_first(query).limit(limit).offset(offset)).all())


def count_entries(session: Session, actor: Actor, **filters: Any) -> int:
    """How many entries match the same filters as `list_entries`; admins only."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    query = AuditFilter(**filters).apply(select(func.count()).select_from(AuditLog))
    return int(session.exec(query).one())


def search_entries(
    session: Session, actor: Actor, *, limit: int = 50, offset: int = 0, **filters: Any
) -> AuditPage:
    """One page of matching entries, newest first, with actor names and the total count."""
    total = count_entries(session, actor, **filters)
    query = AuditFilter(**filters).apply(
        select(AuditLog, User.username, User.full_name).join(
            User, col(User.id) == col(AuditLog.actor_id), isouter=True
        )
    )
    rows = [
        AuditRow(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_username=username,
            actor_name=full_name,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            before=entry.before,
            after=entry.after,
        )
        for entry, username, full_name in session.exec(
            _newest_first(query).limit(max(0, limit)).offset(max(0, offset))
        ).all()
    ]
    return AuditPage(rows=rows, total=total)


def audit_actions(session: Session, actor: Actor) -> list[str]:
    """The distinct actions in the log, for the page's filter."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    return list(session.exec(select(AuditLog.action).distinct().order_by(AuditLog.action)).all())


def audit_target_types(session: Session, actor: Actor) -> list[str]:
    """The distinct target types in the log, for the page's filter."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    return list(
        session.exec(select(AuditLog.target_type).distinct().order_by(AuditLog.target_type)).all()
    )


def actor_id_for_username(session: Session, actor: Actor, username: str) -> int | None:
    """The id of the user called `username` (case and surrounding blanks ignored), to filter
    the log by actor; None when nobody has that name."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    name = (username or "").strip().lower()
    if not name:
        return None
    return session.exec(select(User.id).where(func.lower(User.username) == name)).first()
