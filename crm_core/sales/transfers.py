"""Asking a manager to transfer an opportunity (转单申请): a rep who cannot serve a lead (wrong
city, a friend, a complaint) asks; a manager who reaches the opportunity approves - giving
it to a rep or returning it to the pool, through the manual override - or rejects.

The managers told are the holders of `assign_opportunities` who sit in the opportunity's
unit or a unit above it; each decision is told back to the rep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.circulation.opportunities import lock_for_change
from crm_core.circulation.override import assign_opportunities, override_scope, return_to_pool
from crm_core.models import (
    Lead,
    Notice,
    Opportunity,
    OrgUnit,
    Role,
    TransferRequest,
    User,
    UserRole,
    path_ids,
)
from crm_core.org.roles import dispatch_receivers
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MAX_REASON = 400


@dataclass(frozen=True)
class TransferRow:
    """A request as the manager's list shows it."""

    id: int
    opportunity_id: int
    lead_name: str
    requested_by_id: int | None
    requested_by: str | None
    suggested_owner_id: int | None
    suggested_owner: str | None
    reason: str
    status: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


def colleagues(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the active dispatch receivers in the actor's own unit, whom a rep may
    suggest as the new owner."""
    if actor.org_unit_id is None:
        return []
    rows = session.exec(
        select(User.id, User.full_name)
        .where(
            User.org_unit_id == actor.org_unit_id,
            User.status == "active",
            User.enabled,
            User.id != actor.user_id,
            dispatch_receivers(session),
        )
        .order_by(User.full_name)
    ).all()
    return [(user_id, name) for user_id, name in rows]


def _managers_of(session: Session, unit_id: int | None) -> list[int]:
    """Active holders of assign_opportunities in the unit or the units above it."""
    if unit_id is None:
        return []
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        return []
    roles = session.exec(select(Role.id, Role.permissions)).all()
    assigning = [rid for rid, perms in roles if Permission.ASSIGN_OPPORTUNITIES in (perms or [])]
    return list(
        session.exec(
            select(User.id)
            .where(
                col(User.org_unit_id).in_(path_ids(unit.path)),
                User.status == "active",
                User.enabled,
                col(User.id).in_(
                    select(UserRole.user_id).where(col(UserRole.role_id).in_(assigning))
                ),
            )
            .distinct()
        ).all()
    )


def _tell(session: Session, user_ids: list[int], kind: str, params: dict, at: datetime) -> None:
    for user_id in user_ids:
        session.add(Notice(user_id=user_id, kind=kind, params=params, created_at=at))


def request_transfer(
    session: Session,
    actor: Actor,
    opportunity_id: int,
    reason: str,
    suggested_owner_id: int | None = None,
) -> TransferRequest:
    """Ask the managers above an owned opportunity in the actor's scope to move it. One
    pending request per opportunity; the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Say why the opportunity should move."))
    if len(reason) > MAX_REASON:
        raise ValidationError(
            N_("The reason is longer than {maximum} characters."), maximum=MAX_REASON
        )
    opportunity = lock_for_change(session, actor, opportunity_id)
    if opportunity.pool_state != "owned":
        raise ValidationError(N_("Only an owned opportunity can be transferred."))
    if suggested_owner_id is not None and suggested_owner_id not in dict(
        colleagues(session, actor)
    ):
        raise ValidationError(
            N_("Suggest a colleague of your own team who receives opportunities.")
        )
    pending = session.exec(
        select(TransferRequest.id).where(
            TransferRequest.opportunity_id == opportunity_id, TransferRequest.status == "pending"
        )
    ).first()
    if pending is not None:
        raise ValidationError(
            N_("A transfer of this opportunity is already waiting for a decision.")
        )
    now = clock.now()
    request = TransferRequest(
        opportunity_id=opportunity_id,
        requested_by_id=actor.user_id,
        reason=reason,
        suggested_owner_id=suggested_owner_id,
        created_at=now,
    )
    session.add(request)
    managers = [m for m in _managers_of(session, opportunity.org_unit_id) if m != actor.user_id]
    _tell(
        session,
        managers,
        "transfer.requested",
        {"opportunity": opportunity_id, "name": actor.full_name},
        now,
    )
    session.flush()
    return request


def _rows(session: Session, where: list) -> list[TransferRow]:
    requester, suggested, decider = aliased(User), aliased(User), aliased(User)
    t = TransferRequest
    rows = session.exec(
        select(
            t.id,
            t.opportunity_id,
            Lead.name,
            t.requested_by_id,
            requester.full_name,
            t.suggested_owner_id,
            suggested.full_name,
            t.reason,
            t.status,
            t.created_at,
            decider.full_name,
            t.decided_at,
            t.decision_note,
        )
        .join(Opportunity, Opportunity.id == t.opportunity_id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .outerjoin(requester, requester.id == t.requested_by_id)
        .outerjoin(suggested, suggested.id == t.suggested_owner_id)
        .outerjoin(decider, decider.id == t.decided_by_id)
        .where(*where)
        .order_by(col(t.created_at).desc(), col(t.id).desc())
        .limit(200)
    ).all()
    return [TransferRow(*row) for row in rows]


def list_transfer_requests(
    session: Session, actor: Actor, *, status: str | None = "pending"
) -> list[TransferRow]:
    """Requests on opportunities the manager may change by hand, newest first."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    where = [override_scope(actor)]
    if status:
        where.append(TransferRequest.status == status)
    return _rows(session, where)


def count_pending_transfers(session: Session, actor: Actor) -> int:
    """How many requests wait for the manager."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    return session.exec(
        select(func.count())
        .select_from(TransferRequest)
        .join(Opportunity, Opportunity.id == TransferRequest.opportunity_id)
        .where(TransferRequest.status == "pending", override_scope(actor))
    ).one()


def requests_of_opportunity(
    session: Session, actor: Actor, opportunity_id: int
) -> list[TransferRow]:
    """The transfer requests of one opportunity the actor may read (its detail page)."""
    from crm_core.circulation.opportunities import get_opportunity  # noqa: PLC0415

    get_opportunity(session, actor, opportunity_id)
    return _rows(session, [TransferRequest.opportunity_id == opportunity_id])


def pending_transfer(
    session: Session, actor: Actor, request_id: int, to_user_id: int | None = None
) -> TransferRequest:
    """A pending request on an opportunity the manager may move, refused for a move to
    `to_user_id` when that is the rep who asked. What `decide_transfer` and the approval
    route (`approvals.entry.decide_transfer_routed`) check before anything else."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    request = session.exec(
        select(TransferRequest)
        .join(Opportunity, Opportunity.id == TransferRequest.opportunity_id)
        .where(TransferRequest.id == request_id, override_scope(actor))
    ).first()
    if request is None:
        raise NotFound(entity="transfer_request", id=request_id)
    if request.status != "pending":
        raise ValidationError(N_("This request has been decided already."))
    if to_user_id is not None and to_user_id == request.requested_by_id:
        raise ValidationError(N_("Give it to someone other than the rep who asked."))
    return request


def decide_transfer(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    approve: bool,
    to_user_id: int | None = None,
    note: str | None = None,
) -> int:
    """Approve (move the opportunity to `to_user_id`, or to the public pool when None) or
    reject a pending request; the rep is told. Returns how many flow events were written."""
    request = pending_transfer(session, actor, request_id, to_user_id if approve else None)
    moved = 0
    if approve:
        if to_user_id is None:
            moved = return_to_pool(session, actor, [request.opportunity_id])
        else:
            moved = assign_opportunities(session, actor, [request.opportunity_id], to_user_id)
    close_transfer(session, request, "approved" if approve else "rejected", actor.user_id, note)
    session.flush()
    return moved


def close_transfer(
    session: Session,
    request: TransferRequest,
    status: str,
    by: int | None,
    note: str | None = None,
) -> None:
    """End a pending request as `approved` or `rejected` by `by` and tell the rep. For
    `decide_transfer` and the approval flow that a move across units waits for
    (`approvals.effects`), whose callers have checked who decides."""
    now = clock.now()
    request.status = status
    request.decided_by_id = by
    request.decided_at = now
    request.decision_note = (note or "").strip()[:MAX_REASON] or None
    session.add(request)
    if request.requested_by_id is not None:
        _tell(
            session,
            [request.requested_by_id],
            f"transfer.{status}",
            {"opportunity": request.opportunity_id},
            now,
        )


def withdraw_transfer(session: Session, actor: Actor, request_id: int) -> None:
    """The rep takes back their own pending request."""
    request = session.get(TransferRequest, request_id)
    if request is None or request.requested_by_id != actor.user_id:
        raise NotFound(entity="transfer_request", id=request_id)
    if request.status != "pending":
        raise ValidationError(N_("This request has been decided already."))
    if actor.user_id is None:
        raise PermissionDenied(permission="work_opportunities")
    request.status = "withdrawn"
    request.decided_at = clock.now()
    session.add(request)
    session.flush()
