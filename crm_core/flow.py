"""What every path that moves opportunities shares: the write lock it takes first, the
company's local day, and the set-based writing of flow events (流转记录)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, insert, text
from sqlmodel import Session, col, select

from crm_core.models import FlowEvent, Role, User, UserRole
from crm_core.permissions import Permission
from crm_core.settings import get_setting

FLOW_COLUMNS = (
    "opportunity_id", "at", "from_owner_id", "to_owner_id", "from_state", "to_state",
    "reason", "rule_kind", "rule_id", "actor_id",
)  # fmt: skip


def hold_opportunity_writes(session: Session) -> None:
    """Make the caller the only writer of opportunities until its transaction ends.

    Engine runs read (candidates, caps, exclusions) and then write; nobody may change an
    opportunity in between, or a count they rely on would be stale. Readers are never
    blocked. PostgreSQL: a table lock that conflicts only with other writers. SQLite: an
    empty write takes the database's single write lock (writers wait, readers go on)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("LOCK TABLE opportunity IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.exec(text("UPDATE opportunity SET id = id WHERE 0"))


def lock_users(session: Session, user_ids: list[int]) -> None:
    """Serialise actions on the same reps' counts (claims) on PostgreSQL by locking their
    rows; on SQLite the database write lock does it. `NO KEY UPDATE`, not `UPDATE`: an
    engine run writing flow events and notices that point at these users takes key-share
    locks on them, and must not wait for a claim that itself waits for the engine run."""
    if not user_ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.exec(
            text(
                "SELECT id FROM app_user WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE"
            ).bindparams(ids=sorted(user_ids))
        )
    else:
        session.exec(text("UPDATE opportunity SET id = id WHERE 0"))


def utc_offset(session: Session) -> timedelta:
    return timedelta(hours=get_setting(session, "company.utc_offset_hours"))


def local_day_start(session: Session, at: datetime) -> datetime:
    """The UTC moment the company's local day containing `at` began."""
    offset = utc_offset(session)
    local = at + offset
    return datetime(local.year, local.month, local.day) - offset


def insert_flow_events(session: Session, events: Select, *, with_note: bool = False) -> int:
    """Append the flow events that `events` selects, in FLOW_COLUMNS order (then the note,
    `with_note`); one statement."""
    columns = [*FLOW_COLUMNS, "note"] if with_note else list(FLOW_COLUMNS)
    result = session.exec(
        insert(FlowEvent).from_select(columns, events).execution_options(preserve_rowcount=True)
    )
    return result.rowcount


def dispatch_receivers(session: Session) -> ColumnElement[bool]:
    """Users holding a role with `receive_dispatch` (reps, team leads): a manager, an
    executive or an admin inside a target unit is never handed any."""
    roles = session.exec(select(Role.id, Role.permissions)).all()
    working = [rid for rid, perms in roles if Permission.RECEIVE_DISPATCH.value in (perms or [])]
    return col(User.id).in_(select(UserRole.user_id).where(col(UserRole.role_id).in_(working)))
