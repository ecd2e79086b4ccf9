"""Flow events (流转记录): the append-only record of every change of owner or pool state,
written set-based by every path that moves opportunities."""

from __future__ import annotations

from sqlalchemy import Select, insert
from sqlmodel import Session

from crm_core.models import FlowEvent

FLOW_COLUMNS = (
    "opportunity_id",
    "at",
    "from_owner_id",
    "to_owner_id",
    "from_state",
    "to_state",
    "reason",
    "rule_kind",
    "rule_id",
    "actor_id",
)


def insert_flow_events(session: Session, events: Select, *, with_note: bool = False) -> int:
    """Append the flow events that `events` selects, in FLOW_COLUMNS order (then the note,
    `with_note`); one statement."""
    columns = [*FLOW_COLUMNS, "note"] if with_note else list(FLOW_COLUMNS)
    result = session.exec(
        insert(FlowEvent).from_select(columns, events).execution_options(preserve_rowcount=True)
    )
    return result.rowcount
