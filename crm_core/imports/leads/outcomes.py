"""What a lead file says beyond the lead, handed to the intake so the opportunities it opens
for the file are written as they end up (`crm_core.leads.intake.opening`): the stage, a
close (won or lost), the owner, the lost reason and intention level.

- an open stage past `new` becomes the stage, with one stage-history row at the created
  date (the funnel counts the stages before it as passed, as for any skipped stage);
- a won or lost row closes the opportunity (`closed`: never dispatched, never in a pool) at
  its close date (the row's close-date column, else its created date), with one history
  row `new -> won` or `new -> lost`. Its furthest stage stays `new`: the file proves the
  lead and the outcome, not trial lessons or any stage between (the funnel counts a won
  opportunity as won whatever its furthest stage). A won row with an amount (importer with
  record_payments) carries it and gets its paid order at the close date, attributed to its
  owner's team as the history import does (`record_wins`); without one it brings no revenue;
- a row with an owner is the owner's (`owned`, their unit, assigned now); a closed row
  keeps its owner for the team's figures. A row without one goes to dispatch like any
  imported opportunity.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from crm_core.commerce.payment_rows import write_payment_rows
from crm_core.imports.leads.rows import LeadRow, RowOutcome
from crm_core.leads.intake import ADDED_LINE, CREATED, IntakeResult, Opening
from crm_core.models import OrgUnit, SalesOrder
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows
from crm_core.platform.permissions import Permission


def opening_of(said: RowOutcome | None) -> Opening | None:
    """The intake's opening for a row that says more than the lead (None: it says nothing)."""
    if said is None:
        return None
    owner = said.owner
    return Opening(
        stage=said.stage or "new",
        owner_id=owner.user_id if owner is not None else None,
        org_unit_id=owner.org_unit_id if owner is not None else None,
        closed_at=said.closed_at,
        lost_reason=said.lost_reason,
        intention_level=said.intention_level,
        amount=said.amount,
    )


def openings_for(rows: Sequence[LeadRow]) -> list[Opening | None] | None:
    """The openings of `rows`, in their order (None: no row says more than the lead)."""
    if all(row.outcome is None for row in rows):
        return None
    return [opening_of(row.outcome) for row in rows]


_ORDER_COLUMNS = (
    "opportunity_id",
    "list_price",
    "amount",
    "status",
    "approval",
    "paid_at",
    "created_by_id",
    "attributed_owner_id",
    "attributed_unit_id",
    "attributed_org_path",
    "note",
    "created_at",
)


def record_wins(
    session: Session,
    actor: Actor,
    rows: Sequence[LeadRow],
    result: IntakeResult,
) -> int:
    """The paid order of each won opportunity the intake opened for a row with an amount
    (set-based); returns how many. The rows were checked: only an importer who may record
    payments gets amounts (`rows.read_leads`)."""
    if any(row.outcome is not None and row.outcome.amount is not None for row in rows):
        actor.require(Permission.RECORD_PAYMENTS)
    else:
        return 0
    units = dict(session.exec(select(OrgUnit.id, OrgUnit.path)).all())
    orders = []
    for outcome in result.outcomes:
        if outcome.status not in (CREATED, ADDED_LINE):
            continue
        said = rows[outcome.index].outcome
        if said is None or said.stage != "won" or said.amount is None:
            continue
        owner = said.owner
        unit = owner.org_unit_id if owner is not None else None
        amount = str(said.amount)
        for opportunity_id in outcome.opportunity_ids:
            orders.append(
                (opportunity_id, amount, amount, "paid", "none", said.closed_at, actor.user_id)
                + (owner.user_id if owner else None, unit, units.get(unit), "import")
                + (said.closed_at,)
            )
    insert_rows(session, SalesOrder.__table__, _ORDER_COLUMNS, orders)
    if orders:
        write_payment_rows(session, [order[0] for order in orders])
    return len(orders)
