"""Refunds (退款), of a whole order or a part of it, always with the reason.

`refund_order` is the one function that applies a refund (an approval flow calls it once the
refund is approved). It gives back at most what was paid and not yet refunded; the refund
is taken from the latest payments first and each part keeps the attribution of the payment
it came from (`OrderRefund`), so revenue reports take it off the person and unit that were
credited. The order becomes `refunded` when everything paid was given back; the opportunity
stays won either way.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.commerce.orders import clean_note, lock_order, notify, order_number
from crm_core.models import OrderPayment, OrderRefund, SalesOrder
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import format_money, parse_money
from crm_core.platform.permissions import Permission

ZERO = Decimal(0)


def refundable(order: SalesOrder) -> Decimal:
    """What may still be refunded on an order: paid and not yet refunded."""
    return (order.paid_amount or ZERO) - (order.refunded_amount or ZERO)


def refund_amount(order: SalesOrder, amount: object = None) -> Decimal:
    """What refunding `amount` (None: everything refundable) of `order` gives back; refused
    on an order with nothing refundable, for nothing, or for more than is refundable. The
    check `refund_order` makes, also asked before a refund is sent for approval."""
    number = order_number(order.id)
    room = refundable(order)
    if order.status not in ("paid", "pending") or room <= 0:
        raise ValidationError(
            N_("Only a paid order can be refunded; order {order} is not paid."),
            order=number,
            status=order.status,
        )
    take = room if amount is None else parse_money(amount)
    if take <= 0:
        raise ValidationError(N_("A refund needs an amount above zero."), order=number)
    if take > room:
        raise ValidationError(
            N_("At most {refundable} of order {order} can be refunded, not {amount}."),
            order=number,
            refundable=format_money(room),
            amount=format_money(take),
        )
    return take


def refund_order(
    session: Session, actor: Actor, order_id: int, reason: str, amount: object = None
) -> SalesOrder:
    """Refund `amount` of an order (None: everything still refundable), with why; flushes.
    Refused without a reason, on an order with nothing refundable, or for more than what
    is refundable. The refunded revenue leaves the attribution of the payments it came
    from, latest payment first."""
    actor.require(Permission.RECORD_PAYMENTS)
    why = clean_note(reason, field="refund_reason")
    if why is None:
        raise ValidationError(N_("Say why the order is refunded."))
    order, _ = lock_order(session, actor, order_id, Permission.RECORD_PAYMENTS)
    number = order_number(order.id)
    take = refund_amount(order, amount)
    now = clock.now()
    payments = session.exec(
        select(OrderPayment)
        .where(OrderPayment.order_id == order.id)
        .order_by(col(OrderPayment.paid_at).desc(), col(OrderPayment.id).desc())
    ).all()
    given_back = dict(
        session.exec(
            select(OrderRefund.payment_id, func.sum(OrderRefund.amount))
            .where(OrderRefund.order_id == order.id)
            .group_by(OrderRefund.payment_id)
        ).all()
    )
    left = take
    for payment in payments:
        part = min(left, payment.amount - Decimal(str(given_back.get(payment.id) or 0)))
        if part <= 0:
            continue
        session.add(
            OrderRefund(
                order_id=order.id,
                payment_id=payment.id,
                amount=part,
                reason=why,
                refunded_at=now,
                refunded_by_id=actor.user_id,
                attributed_owner_id=payment.attributed_owner_id,
                attributed_unit_id=payment.attributed_unit_id,
                attributed_org_path=payment.attributed_org_path,
            )
        )
        left -= part
        if left <= 0:
            break
    order.refunded_amount = (order.refunded_amount or ZERO) + take
    if order.refunded_amount >= order.paid_amount:
        order.status = "refunded"
    order.refunded_at = now
    order.refunded_by_id = actor.user_id
    order.refund_reason = why
    session.add(order)
    session.flush()
    payload = {"payment_ref": order.payment_ref, "reason": why}
    if take != order.amount:
        payload["amount"] = str(take)
    audit.record(
        session,
        actor,
        "order.refund",
        "sales_order",
        order.id,
        None,
        payload,
    )
    if order.attributed_owner_id is not None and order.attributed_owner_id != actor.user_id:
        notify(session, [order.attributed_owner_id], "order.refunded", {"order": number}, now)
    session.flush()
    return order
