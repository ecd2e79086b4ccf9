"""The approval requests the inbox lists: waiting for the actor's decision, asked by the
actor, or every one the actor may read, each with its history (`approval_decision`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.approvals.requests import _held_roles, _visible
from crm_core.models import ApprovalDecision, ApprovalRequest, Lead, Opportunity, User
from crm_core.org.access import opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_

VIEWS = ("waiting", "mine", "all")
_LIMIT = 200


@dataclass(frozen=True)
class ApprovalRow:
    """One request as the inbox lists it."""

    id: int
    kind: str
    state: str
    opportunity_id: int
    lead_name: str | None
    order_id: int | None
    amount: Decimal | None
    payload: dict
    steps: list
    current_step: int
    requested_by_id: int | None
    requester: str | None
    requested_at: datetime
    decided_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class HistoryRow:
    """One line of a request's history."""

    at: datetime
    step: int
    decision: str
    who: str | None
    note: str | None


def _rows(session: Session, where: list, limit: int | None = _LIMIT) -> list[ApprovalRow]:
    requester = aliased(User)
    r = ApprovalRequest
    rows = session.exec(
        select(
            r.id,
            r.kind,
            r.state,
            r.opportunity_id,
            Lead.name,
            r.order_id,
            r.amount,
            r.payload,
            r.steps,
            r.current_step,
            r.requested_by_id,
            requester.full_name,
            r.requested_at,
            r.decided_at,
            r.outcome,
        )
        .join(Opportunity, Opportunity.id == r.opportunity_id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .outerjoin(requester, requester.id == r.requested_by_id)
        .where(*where)
        .order_by(col(r.requested_at).desc(), col(r.id).desc())
        .limit(limit)
    ).all()
    return [ApprovalRow(*row) for row in rows]


def list_requests(
    session: Session, actor: Actor, view: str = "waiting", *, state: str | None = None
) -> list[ApprovalRow]:
    """Requests newest first: `waiting` for the actor's decision (pending, at a step of a
    role they hold, on an opportunity they reach, not their own), `mine` (asked by the
    actor), `all` (every request the actor may read: their own and those on opportunities
    they reach)."""
    if view not in VIEWS:
        raise ValidationError(N_("Unknown view {view}."), view=view)
    r = ApprovalRequest
    if view == "mine":
        where = [r.requested_by_id == actor.user_id]
    elif view == "all":
        where = [_visible(actor)]
    else:
        where = [r.state == "pending", opportunity_scope(actor, shared=False)]
        if actor.user_id is not None:
            where.append(col(r.requested_by_id).is_distinct_from(actor.user_id))
    if state is not None:
        where.append(r.state == state)
    if view != "waiting":
        return _rows(session, where)
    # Pending ones in reach, then those at a step of a role the actor holds (the step's
    # role sits in a JSON list): the newest _LIMIT of them.
    held = _held_roles(session, actor)
    rows = _rows(session, where, None)
    return [row for row in rows if row.steps[row.current_step] in held][:_LIMIT]


def count_waiting(session: Session, actor: Actor) -> int:
    """How many requests wait for the actor's decision."""
    return len(list_requests(session, actor, "waiting"))


def request_history(session: Session, actor: Actor, request_id: int) -> list[HistoryRow]:
    """Every step of a request the actor may read, oldest first."""
    found = request_histories(session, actor, [request_id])
    if request_id not in found:
        raise NotFound(entity="approval_request", id=request_id)
    return found[request_id]


def request_histories(
    session: Session, actor: Actor, request_ids: list[int]
) -> dict[int, list[HistoryRow]]:
    """The histories of the requests among `request_ids` the actor may read, oldest first
    (one query for a whole list); the others are left out."""
    if not request_ids:
        return {}
    d = ApprovalDecision
    rows = session.exec(
        select(d.request_id, d.at, d.step, d.decision, User.full_name, d.note)
        .join(ApprovalRequest, ApprovalRequest.id == d.request_id)
        .join(Opportunity, Opportunity.id == ApprovalRequest.opportunity_id)
        .outerjoin(User, User.id == d.approver_id)
        .where(one_of(session, d.request_id, request_ids), _visible(actor))
        .order_by(col(d.request_id), col(d.at), col(d.id))
    ).all()
    found: dict[int, list[HistoryRow]] = {}
    for request_id, *rest in rows:
        found.setdefault(request_id, []).append(HistoryRow(*rest))
    return found


def requests_of_opportunity(
    session: Session, actor: Actor, opportunity_id: int, limit: int = 20
) -> list[ApprovalRow]:
    """The approval requests of one opportunity the actor may read (their own, or any when
    they reach it as its owner's side), newest first: what the opportunity page shows."""
    where = [ApprovalRequest.opportunity_id == opportunity_id, _visible(actor)]
    return _rows(session, where, limit)
