"""What a lead file says beyond the lead, written onto the opportunities the intake opened
for it: the stage, a close (won or lost), the owner, the lost reason and intention level.

The intake opens every new opportunity as every entrance does (`unassigned`, stage `new`,
as old as the row's created date); this module then moves the ones whose row says more, in
a few bulk statements for the whole file:

- an open stage past `new` becomes the stage, with one stage-history row at the created
  date (the funnel counts the stages before it as passed, as for any skipped stage);
- a won or lost row closes the opportunity (`closed`: never dispatched, never in a pool) at
  its close date (the row's close-date column, else its created date), with one history
  row `new -> won` or `new -> lost`. Its furthest stage stays `new`: the file proves the
  lead and the outcome, not trial lessons or any stage between (the funnel counts a won
  opportunity as won whatever its furthest stage). A won row creates no order: without an
  amount there is no revenue;
- a row with an owner is the owner's (`owned`, their unit, assigned now); a closed row
  keeps its owner for the team's figures. A row without one goes to dispatch like any
  imported opportunity.

Each change of owner or state writes its flow event; the import run commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update

from crm_core.imports.leads.rows import CLOSED_STAGES, FileRows, RowOutcome
from crm_core.leads.intake import ADDED_LINE, CREATED, IntakeResult
from crm_core.models import FlowEvent, Opportunity, StageHistory
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows

_CHUNK = 10_000
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
_SET = (
    "stage",
    "furthest_stage",
    "stage_changed_at",
    "pool_state",
    "owner_id",
    "org_unit_id",
    "assigned_at",
    "closed_at",
    "lost_reason",
    "intention_level",
)


def _targets(rows: FileRows, positions: Sequence[int], result: IntakeResult, now: datetime):
    """(opportunity id, created date, outcome) for each new opportunity whose row says more
    than the lead."""
    if not rows.outcomes:
        return []
    targets = []
    for intake in result.outcomes:
        if intake.status not in (CREATED, ADDED_LINE) or not intake.opportunity_ids:
            continue
        position = positions[intake.index]
        outcome = rows.outcomes[position]
        if outcome is None:
            continue
        created = rows.inputs[position].created_at or now
        targets.extend((opp, created, outcome) for opp in intake.opportunity_ids)
    return targets


def _values(opportunity_id: int, created: datetime, outcome: RowOutcome, now: datetime):
    stage = outcome.stage or "new"
    closed = stage in CLOSED_STAGES
    owner = outcome.owner
    state = "closed" if closed else ("owned" if owner is not None else "unassigned")
    return {
        "b_id": opportunity_id,
        "stage": stage,
        "furthest_stage": "new" if closed else stage,
        "stage_changed_at": outcome.closed_at if closed else created,
        "pool_state": state,
        "owner_id": owner.user_id if owner else None,
        "org_unit_id": owner.org_unit_id if owner else None,
        "assigned_at": now if owner else None,
        "closed_at": outcome.closed_at if closed else None,
        "lost_reason": outcome.lost_reason if stage == "lost" else None,
        "intention_level": outcome.intention_level,
    }


def apply_outcomes(
    session,
    actor: Actor,
    now: datetime,
    rows: FileRows,
    positions: Sequence[int],
    result: IntakeResult,
) -> int:
    """Write the stage, close and owner the file's rows give onto the opportunities the
    intake just opened for them (see the module docstring). Flushes; returns how many
    opportunities changed."""
    targets = _targets(rows, positions, result, now)
    if not targets:
        return 0
    table = Opportunity.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in _SET})
    )
    connection = session.connection()
    note = "import"
    for start in range(0, len(targets), _CHUNK):
        chunk = targets[start : start + _CHUNK]
        values = [_values(opp, created, outcome, now) for opp, created, outcome in chunk]
        connection.execute(statement, values)
        stages, flows = [], []
        for row in values:
            stage, opp, owner = row["stage"], row["b_id"], row["owner_id"]
            if stage != "new":
                stages.append((opp, "new", stage, row["stage_changed_at"], actor.user_id))
            if row["pool_state"] == "closed":
                flows.append((opp, now, "unassigned", "closed", owner, stage, actor.user_id, note))
            elif owner is not None:
                flows.append(
                    (opp, now, "unassigned", "owned", owner, "assign", actor.user_id, note)
                )
        insert_rows(session, StageHistory.__table__, _STAGE_COLUMNS, stages)
        insert_rows(session, FlowEvent.__table__, _FLOW_COLUMNS, flows)
    session.flush()
    return len(targets)
