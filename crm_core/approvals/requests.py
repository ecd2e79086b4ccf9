"""Approval requests: opened instead of acting when a flow applies, decided step by step,
withdrawn by their requester; each keeps its history (`approval_decision`).

A request copies its flow's steps (role ids in order) when it is asked, so editing a flow
never changes a request already waiting. The approvers at a step hold the step's role, are
active, reach the request's opportunity (`opportunity_scope`) and are not the requester;
they are told (`approval.requested`, pushable to work chat) when the request reaches their
step. A rejection at any step ends the request; the last approval runs its effect
(`effects.apply_request`) in the same transaction, and the requester is told the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import literal, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_core.commerce.orders import clean_note, notify
from crm_core.models import (
    ApprovalDecision,
    ApprovalFlow,
    ApprovalRequest,
    Notice,
    Opportunity,
    OrgUnit,
    Role,
    User,
    UserRole,
)
from crm_core.org.access import actor_from_roles, opportunity_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.database import savepoint
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

_UNION_PARTS = 200


def _record(
    session: Session, request: ApprovalRequest, decision: str, who: int | None, note: str | None
) -> None:
    session.add(
        ApprovalDecision(
            request_id=request.id,
            step=request.current_step,
            approver_id=who,
            decision=decision,
            note=note,
            at=clock.now(),
        )
    )


def _reaching(
    session: Session, role_id: int, opportunity_ids: list[int], exclude: int | None
) -> dict[int, list[int]]:
    """opportunity id -> the active holders of `role_id` who reach it, `exclude` left out.
    A handful of queries whatever their number: the holders, their roles, and compound
    SELECTs asking the database which holder reaches which of the opportunities."""
    holders = session.exec(
        select(User, OrgUnit.path)
        .join(OrgUnit, col(OrgUnit.id) == col(User.org_unit_id), isouter=True)
        .where(
            col(User.id).in_(select(UserRole.user_id).where(UserRole.role_id == role_id)),
            User.status == "active",
            User.enabled,
        )
    ).all()
    holders = [(u, p) for u, p in holders if u.id != exclude]
    if not holders or not opportunity_ids:
        return {}
    roles = {r.id: r for r in session.exec(select(Role)).all()}
    held: dict[int, list[Role]] = {}
    for user_id, held_role in session.exec(
        select(UserRole.user_id, UserRole.role_id).where(
            col(UserRole.user_id).in_([u.id for u, _ in holders])
        )
    ).all():
        held.setdefault(user_id, []).append(roles[held_role])
    candidates = [actor_from_roles(u, p, held[u.id]) for u, p in holders]
    chosen = one_of(session, Opportunity.id, sorted(set(opportunity_ids)))
    reached: dict[int, set[int]] = {}
    for start in range(0, len(candidates), _UNION_PARTS):
        parts = [
            select(literal(a.user_id).label("user_id"), Opportunity.id.label("opportunity_id"))
            .select_from(Opportunity)
            .where(chosen, opportunity_scope(a, shared=False))
            for a in candidates[start : start + _UNION_PARTS]
        ]
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        for user_id, opportunity_id in session.execute(statement).all():
            reached.setdefault(opportunity_id, set()).add(user_id)
    return {o: sorted(users) for o, users in reached.items()}


def step_approvers(session: Session, request: ApprovalRequest) -> list[int]:
    """Who may decide the request's current step: active holders of the step's role who
    reach its opportunity, the requester left out."""
    if request.state != "pending" or request.current_step >= len(request.steps):
        return []
    role_id = request.steps[request.current_step]
    reached = _reaching(session, role_id, [request.opportunity_id], request.requested_by_id)
    return reached.get(request.opportunity_id, [])


def _params(request: ApprovalRequest, **more: Any) -> dict:
    return {"request": request.id, "opportunity": request.opportunity_id, **more}


def _tell_approvers(
    session: Session, requests: list[ApprovalRequest], requester: str, exclude: int | None
) -> None:
    """Tell each request's current-step approvers (one insert for all of them)."""
    by_role: dict[int, list[ApprovalRequest]] = {}
    for request in requests:
        by_role.setdefault(request.steps[request.current_step], []).append(request)
    now = clock.now()
    rows = []
    for role_id, asked in by_role.items():
        reached = _reaching(session, role_id, [r.opportunity_id for r in asked], exclude)
        for request in asked:
            params = _params(request, requester=requester)
            for user_id in reached.get(request.opportunity_id, []):
                rows.append(
                    {
                        "user_id": user_id,
                        "kind": "approval.requested",
                        "params": params,
                        "created_at": now,
                    }
                )
    if rows:
        session.exec(Notice.__table__.insert(), params=rows)


@dataclass(frozen=True)
class Ask:
    """One request to open: the flow that governs it, the opportunity (and order), what to
    do once approved, the amount weighed."""

    flow: ApprovalFlow
    opportunity_id: int
    payload: dict
    amount: Decimal | None = None
    order_id: int | None = None


def open_requests(session: Session, actor: Actor, asks: list[Ask]) -> list[ApprovalRequest]:
    """Requests for the actor (who has been checked for the actions themselves), each
    waiting at its first step, their approvers told; flushes. A handful of statements
    whatever their number. Refused while another request of the same kind waits on the
    same opportunity (and order)."""
    if not asks:
        return []
    _refuse_waiting(session, asks)
    now = clock.now()
    try:
        with savepoint(session):
            requests = _insert(session, actor, asks, now)
    except IntegrityError:
        # Someone asked for the same thing between the check and the insert: the unique
        # index kept one request; name it.
        _refuse_waiting(session, asks)
        raise
    audit.record(
        session,
        actor,
        "approval.request",
        "approval_request",
        requests[0].id if len(requests) == 1 else None,
        None,
        {"requests": [{"id": r.id, "kind": r.kind, **r.payload} for r in requests]},
    )
    _tell_approvers(session, requests, actor.full_name, actor.user_id)
    session.flush()
    return requests


def _refuse_waiting(session: Session, asks: list[Ask]) -> None:
    """Refuse, naming it, a request of the same kind already waiting on an asked opportunity
    (and order)."""
    waiting = session.exec(
        select(
            ApprovalRequest.id,
            ApprovalRequest.kind,
            ApprovalRequest.opportunity_id,
            ApprovalRequest.order_id,
        ).where(
            ApprovalRequest.state == "pending",
            col(ApprovalRequest.kind).in_(sorted({a.flow.kind for a in asks})),
            one_of(session, ApprovalRequest.opportunity_id, [a.opportunity_id for a in asks]),
        )
    ).all()
    for request_id, kind, opportunity_id, order_id in waiting:
        for ask in asks:
            same_order = ask.order_id is None or ask.order_id == order_id
            if (ask.flow.kind, ask.opportunity_id) == (kind, opportunity_id) and same_order:
                raise ValidationError(
                    N_("Request #{request} for this is already waiting for approval."),
                    request=request_id,
                )


def _insert(
    session: Session, actor: Actor, asks: list[Ask], now: datetime
) -> list[ApprovalRequest]:
    """The requests and their first history lines; flushed."""
    # Core inserts (one executemany each): the ORM would insert row by row to learn ids.
    session.exec(
        ApprovalRequest.__table__.insert(),
        params=[
            {
                "kind": ask.flow.kind,
                "state": "pending",
                "opportunity_id": ask.opportunity_id,
                "order_id": ask.order_id,
                "payload": ask.payload,
                "amount": ask.amount,
                "flow_id": ask.flow.id,
                "steps": list(ask.flow.steps),
                "current_step": 0,
                "requested_by_id": actor.user_id,
                "requested_at": now,
            }
            for ask in asks
        ],
    )
    # Just opened, pending and not duplicated: (kind, opportunity, order) names each one.
    opened = session.exec(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.state == "pending",
            ApprovalRequest.requested_at == now,
            col(ApprovalRequest.kind).in_(sorted({a.flow.kind for a in asks})),
            one_of(session, ApprovalRequest.opportunity_id, [a.opportunity_id for a in asks]),
        )
        .execution_options(populate_existing=True)
    ).all()
    by_key = {(r.kind, r.opportunity_id, r.order_id): r for r in opened}
    requests = [by_key[(a.flow.kind, a.opportunity_id, a.order_id)] for a in asks]
    session.exec(
        ApprovalDecision.__table__.insert(),
        params=[
            {
                "request_id": r.id,
                "step": 0,
                "approver_id": actor.user_id,
                "decision": "requested",
                "note": r.payload.get("reason"),
                "at": now,
            }
            for r in requests
        ],
    )
    session.flush()
    return requests


def open_request(
    session: Session,
    actor: Actor,
    flow: ApprovalFlow,
    opportunity_id: int,
    payload: dict,
    *,
    amount: Decimal | None = None,
    order_id: int | None = None,
) -> ApprovalRequest:
    """One request (`open_requests`)."""
    [request] = open_requests(
        session, actor, [Ask(flow, opportunity_id, payload, amount, order_id)]
    )
    return request


def _lock(session: Session, request_id: int) -> ApprovalRequest | None:
    # An UPDATE of the row itself first, so two approvers of one step are served in turn.
    session.exec(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .values(id=ApprovalRequest.id)
        .execution_options(synchronize_session=False)
    )
    return session.exec(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).first()


def _visible(actor: Actor):
    mine = ApprovalRequest.requested_by_id == actor.user_id
    if actor.can(Permission.VIEW_OPPORTUNITIES) or actor.can(Permission.RECORD_PAYMENTS):
        return mine | opportunity_scope(actor, shared=False)
    return mine


def _held_roles(session: Session, actor: Actor) -> set[int]:
    return set(
        session.exec(select(UserRole.role_id).where(UserRole.user_id == actor.user_id)).all()
    )


def decide_request(
    session: Session, actor: Actor, request_id: int, approve: bool, note: str | None = None
) -> ApprovalRequest:
    """Approve or reject the current step of a pending request; flushes. The approver holds
    the step's role, reaches the opportunity and is not the requester. A rejection ends the
    request; the last approval carries out what was asked (or ends the request as failed,
    with the reason, when that is no longer possible). The requester is told the outcome."""
    from crm_core.approvals.effects import apply_request, reject_effect  # noqa: PLC0415

    reachable = session.exec(
        select(ApprovalRequest.id)
        .join(Opportunity, Opportunity.id == ApprovalRequest.opportunity_id)
        .where(ApprovalRequest.id == request_id, opportunity_scope(actor, shared=False))
    ).first()
    if reachable is None:
        raise NotFound(entity="approval_request", id=request_id)
    why = clean_note(note)
    request = _lock(session, request_id)
    assert request is not None
    if request.state != "pending":
        raise ValidationError(N_("This request has been decided already."))
    if request.requested_by_id is not None and request.requested_by_id == actor.user_id:
        raise PermissionDenied(N_("Nobody approves their own request."))
    if request.steps[request.current_step] not in _held_roles(session, actor):
        raise PermissionDenied(N_("This step waits for another role."))
    now = clock.now()
    _record(session, request, "approved" if approve else "rejected", actor.user_id, why)
    if approve:
        audit.record(
            session, actor, "approval.approve", "approval_request", request.id, None, {"note": why}
        )
    else:
        audit.record(
            session, actor, "approval.reject", "approval_request", request.id, None, {"note": why}
        )
    if not approve:
        request.state = "rejected"
        request.decided_at = now
        session.add(request)
        reject_effect(session, request)
        _tell_requester(session, request, "approval.rejected", approver=actor.full_name)
    elif request.current_step + 1 < len(request.steps):
        request.current_step += 1
        session.add(request)
        session.flush()
        requester = session.get(User, request.requested_by_id) if request.requested_by_id else None
        name = requester.full_name if requester else "-"
        _tell_approvers(session, [request], name, request.requested_by_id)
    else:
        request.current_step += 1
        apply_request(session, request, actor)
        kind = "approval.approved" if request.state == "approved" else "approval.failed"
        _tell_requester(session, request, kind, approver=actor.full_name)
    session.flush()
    return request


def _tell_requester(session: Session, request: ApprovalRequest, kind: str, **more: Any) -> None:
    if request.requested_by_id is not None:
        notify(session, [request.requested_by_id], kind, _params(request, **more), clock.now())


def withdraw_request(session: Session, actor: Actor, request_id: int) -> ApprovalRequest:
    """The requester takes back their own pending request; flushes."""
    from crm_core.approvals.effects import reject_effect  # noqa: PLC0415

    request = _lock(session, request_id)
    if request is None or actor.user_id is None or request.requested_by_id != actor.user_id:
        raise NotFound(entity="approval_request", id=request_id)
    if request.state != "pending":
        raise ValidationError(N_("This request has been decided already."))
    request.state = "withdrawn"
    request.decided_at = clock.now()
    session.add(request)
    _record(session, request, "withdrawn", actor.user_id, None)
    reject_effect(session, request)
    audit.record(session, actor, "approval.withdraw", "approval_request", request.id)
    session.flush()
    return request
