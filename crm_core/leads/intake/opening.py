"""Opening the opportunities of migrated records as their source says: the final stage,
pool state, owner, close date and stage history are inserted with the opportunity, in bulk,
so nothing is updated afterwards (an UPDATE per opportunity cost as much as the whole intake).

Each opportunity gets what any opportunity gets - its first stage `new` at its created date
and the flow event entering `unassigned` by intake - and then what the record says: one
stage-history row to its stage (a skipped stage counts as passed, as anywhere; a won or
lost one goes `new -> won|lost` at its close date, its furthest stage stays `new`: the
source proves the lead and the outcome, not the stages between), and a flow event to
`owned` (its owner) or `closed` (with its owner kept for the team's figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from crm_core.leads.intake.inputs import IntakeOutcome, LeadInput, Opening
from crm_core.leads.intake.matching import Person
from crm_core.models import FlowEvent, Opportunity, StageHistory
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows, insert_with_ids

_CHUNK = 10_000
_COLUMNS = (
    "lead_id",
    "business_line_id",
    "pipeline_type",
    "stage",
    "furthest_stage",
    "pool_state",
    "owner_id",
    "org_unit_id",
    "assigned_at",
    "stage_changed_at",
    "locked",
    "recycle_count",
    "created_at",
    "closed_at",
    "lost_reason",
    "intention_level",
    "amount",
)
_STAGE_COLUMNS = ("opportunity_id", "from_stage", "to_stage", "changed_at", "actor_id")
_FLOW_COLUMNS = (
    "opportunity_id",
    "at",
    "from_state",
    "to_state",
    "to_owner_id",
    "reason",
    "actor_id",
    "note",
)
NOTE = "import"  # the note on the flow event that moves an imported opportunity


def _row(lead_id: int, line_id: int, created: datetime, said: Opening, now: datetime) -> tuple:
    closed = said.closed
    owner = said.owner_id
    return (
        lead_id,
        line_id,
        "new",
        said.stage,
        "new" if closed else said.stage,
        said.pool_state,
        owner,
        said.org_unit_id if owner is not None else None,
        now if owner is not None else None,
        said.closed_at if closed else created,
        False,
        0,
        created,
        said.closed_at if closed else None,
        said.lost_reason if said.stage == "lost" else None,
        said.intention_level,
        str(said.amount) if said.amount is not None and said.stage == "won" else None,
    )


def open_as_said(
    session: Session,
    actor: Actor,
    now: datetime,
    source: str,
    planned: Sequence[tuple[Person, int, int]],
    inputs: Sequence[LeadInput],
    outcomes: list[IntakeOutcome | None],
    openings: Sequence[Opening | None],
) -> None:
    """Insert the planned opportunities (person, line id, input index) whose input has an
    opening, with their stage history and flow events; fill the outcomes' opportunity ids.
    The opportunity is as old as its input's created date (now when undated)."""
    by = actor.user_id
    note = source[:400]
    for start in range(0, len(planned), _CHUNK):
        chunk = planned[start : start + _CHUNK]
        rows, saids = [], []
        for person, line_id, index in chunk:
            said = openings[index]
            created = inputs[index].created_at or now
            rows.append(_row(person.lead_id, line_id, created, said, now))
            saids.append(said)
        ids = insert_with_ids(session, Opportunity.__table__, _COLUMNS, rows)
        stages, flows = [], []
        for opportunity_id, row, said, (_, _, index) in zip(ids, rows, saids, chunk, strict=True):
            outcomes[index].opportunity_ids.append(opportunity_id)
            created, owner = row[12], said.owner_id
            stages.append((opportunity_id, None, "new", created, by))
            flows.append((opportunity_id, now, None, "unassigned", None, "intake", by, note))
            if said.stage != "new":
                stages.append((opportunity_id, "new", said.stage, row[9], by))
            if said.closed:
                flows.append(
                    (opportunity_id, now, "unassigned", "closed", owner, said.stage, by, NOTE)
                )
            elif owner is not None:
                flows.append(
                    (opportunity_id, now, "unassigned", "owned", owner, "assign", by, NOTE)
                )
        insert_rows(session, StageHistory.__table__, _STAGE_COLUMNS, stages)
        insert_rows(session, FlowEvent.__table__, _FLOW_COLUMNS, flows)
