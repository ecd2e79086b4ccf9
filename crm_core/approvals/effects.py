"""What runs once the last step approves a request, and what a rejection or withdrawal
undoes.

The effect is the same service the requester would have called, run as the REQUESTER (their
permissions and scope as they are now), so an approval never lets anyone do more than the
person who asked could: a refund as the finance user who asked (`refund_order`), a transfer
as the manager who asked (`assign_opportunities`), a re-activation as that manager
(`reactivate`). A discount has no service to run: the order's approval is marked approved,
by the last approver. The effect runs in a savepoint: when it is no longer possible (the
order refunded meanwhile, the opportunity no longer dormant, the requester's rights gone)
nothing of it is written and the request ends `failed`, the refusal kept as its outcome.
"""

from __future__ import annotations

from sqlmodel import Session, select

from crm_core.circulation import override
from crm_core.commerce.orders import set_discount_decision
from crm_core.commerce.refunds import refund_order
from crm_core.models import ApprovalRequest, Opportunity, SalesOrder, TransferRequest
from crm_core.org.access import load_actor
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.sales.transfers import close_transfer


def _apply_refund(session: Session, actor: Actor, payload: dict) -> None:
    """The one place approvals refund an order (a partial refund passes its amount)."""
    part = payload.get("amount")
    amount = None if part in (None, "all") else parse_money(part)
    refund_order(session, actor, payload["order_id"], payload["reason"], amount)


def _apply_transfer(session: Session, actor: Actor, request: ApprovalRequest) -> None:
    payload = request.payload
    transfer_id = payload.get("transfer_request_id")
    if transfer_id is not None:
        transfer = session.get(TransferRequest, transfer_id)
        if transfer is None or transfer.status != "pending":
            raise ValidationError(N_("The rep's transfer request has been decided already."))
    override.assign_opportunities(session, actor, [request.opportunity_id], payload["rep_id"])
    if transfer_id is not None:
        _close_transfer(session, transfer_id, "approved", actor.user_id)


def _close_transfer(session: Session, transfer_id: int, status: str, by: int | None) -> None:
    transfer = session.get(TransferRequest, transfer_id)
    if transfer is not None and transfer.status == "pending":
        close_transfer(session, transfer, status, by)


def _apply_discount(session: Session, request: ApprovalRequest, approver: Actor) -> None:
    order = session.exec(
        select(SalesOrder)
        .where(SalesOrder.id == request.order_id)
        .execution_options(populate_existing=True)
    ).one()
    if order.status != "pending" or order.approval != "requested":
        raise ValidationError(N_("The order is no longer waiting for a discount approval."))
    order.approved_by_id = approver.user_id
    opportunity = session.get(Opportunity, order.opportunity_id)
    set_discount_decision(session, order, opportunity, True, clock.now())


def apply_request(session: Session, request: ApprovalRequest, approver: Actor) -> None:
    """Carry out an approved request in a savepoint; mark it `approved` with the effect
    written, or `failed` with nothing of it written and the refusal as its outcome."""
    now = clock.now()
    try:
        with savepoint(session):
            if request.kind == "discount":
                _apply_discount(session, request, approver)
            else:
                if request.requested_by_id is None:
                    raise ValidationError(N_("The requester's account no longer exists."))
                actor = load_actor(session, request.requested_by_id)
                if request.kind == "refund":
                    _apply_refund(session, actor, request.payload)
                elif request.kind == "transfer":
                    _apply_transfer(session, actor, request)
                else:
                    override.reactivate(session, actor, [request.opportunity_id])
            session.flush()
    except CrmError as error:
        request.state = "failed"
        request.outcome = error.key[:400]
        request.payload = {**request.payload, "failure": _plain(error.params)}
        decision = "failed"
    else:
        request.state = "approved"
        decision = "applied"
    request.decided_at = now
    session.add(request)
    from crm_core.approvals.requests import _record  # noqa: PLC0415

    _record(session, request, decision, approver.user_id, request.outcome)
    after = {"kind": request.kind, "outcome": request.outcome}
    # Each action written out, so the audit labels' check sees both.
    if decision == "applied":
        audit.record(
            session, approver, "approval.applied", "approval_request", request.id, None, after
        )
    else:
        audit.record(
            session, approver, "approval.failed", "approval_request", request.id, None, after
        )
    session.flush()


def _plain(params: dict) -> dict:
    return {
        k: v if isinstance(v, int | float | bool) or v is None else str(v)
        for k, v in params.items()
    }


def reject_effect(session: Session, request: ApprovalRequest) -> None:
    """What a rejected or withdrawn request undoes: a discount's order is cancelled (as a
    rejected discount always was); a transfer asked by a rep is rejected. Others change
    nothing, since nothing happened before approval."""
    if request.kind == "discount" and request.order_id is not None:
        order = session.get(SalesOrder, request.order_id)
        if order is not None and order.status == "pending":
            opportunity = session.get(Opportunity, order.opportunity_id)
            set_discount_decision(session, order, opportunity, False, clock.now())
    transfer_id = request.payload.get("transfer_request_id")
    if request.kind == "transfer" and transfer_id is not None and request.state == "rejected":
        _close_transfer(session, transfer_id, "rejected", None)
    session.flush()
