"""Payments and refunds (回款/退款): the moment revenue is credited.

Finance or an admin (`record_payments`) records that an order was paid, by hand or from a
payment file (`crm_core.imports.payments`). A payment is identified by its reference (the
payment provider's transaction number): recording the same reference on the same order
again is "already recorded" and changes nothing, and a reference already used by another
order is refused. The unique index on `sales_order.payment_ref` backs this when two
payments race: the loser's IntegrityError becomes the same refusal.

Paying freezes the attribution on the order - the opportunity's owner (without one, the
order's creator), that person's org unit and the unit's path at that moment - and wins the
opportunity (`stages.close_as_won`). Revenue reports group by these frozen values, so moving
the rep or the unit later never moves past revenue. A refund turns a paid order into
`refunded`; the opportunity stays won and the attribution stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_core.commerce.orders import clean_note, lock_order, notify, order_number
from crm_core.models import Opportunity, OrgUnit, Product, SalesOrder, User
from crm_core.org.access import opportunity_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import format_money, parse_money
from crm_core.platform.permissions import Permission
from crm_core.sales.stages import close_as_won

MAX_REF = 80
PAYABLE_APPROVALS = ("none", "approved")


@dataclass(frozen=True)
class PaymentOutcome:
    """What `record_payment` did: `recorded` now, or the same payment was `already` there."""

    order_id: int
    recorded: bool

    @property
    def already(self) -> bool:
        return not self.recorded


def clean_ref(payment_ref: object) -> str:
    """A payment reference, spaces trimmed; refused when blank or too long."""
    ref = str(payment_ref or "").strip()
    if not ref:
        raise ValidationError(N_("A payment needs its payment reference."))
    if len(ref) > MAX_REF:
        raise ValidationError(
            N_("The payment reference is longer than {maximum} characters."), maximum=MAX_REF
        )
    return ref


def ref_used_error(session: Session, actor: Actor, ref: str) -> ValidationError:
    """The refusal of a reference another order holds, naming that order when the actor
    reaches it (outside the scope an order does not exist, even by its reference)."""
    other = session.exec(
        select(SalesOrder.id)
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .where(SalesOrder.payment_ref == ref, opportunity_scope(actor))
    ).first()
    if other is None:
        return ValidationError(
            N_("Payment reference {ref} is already used by another order."), ref=ref
        )
    return ValidationError(
        N_("Payment reference {ref} is already used by order {order}."),
        ref=ref,
        order=order_number(other),
    )


def check_payable(
    order: SalesOrder, *, amount: object = None, paid_at: datetime | None = None
) -> None:
    """Refuse paying `order` (one that does not already hold the reference): it must be
    pending with no approval outstanding, `amount` (when given) equal to its amount, and
    `paid_at` neither in the future nor before the order was made."""
    number = order_number(order.id)
    if order.status in ("paid", "refunded"):
        raise ValidationError(
            N_("Order {order} is already paid (reference {ref})."),
            order=number,
            ref=order.payment_ref,
        )
    if order.status != "pending":
        raise ValidationError(
            N_("Order {order} was cancelled: it cannot be paid."), order=number, status=order.status
        )
    if order.approval not in PAYABLE_APPROVALS:
        raise ValidationError(
            N_("The discount of order {order} is not approved: it cannot be paid yet."),
            order=number,
        )
    if amount is not None and parse_money(amount) != order.amount:
        raise ValidationError(
            N_("The amount {amount} differs from order {order}'s amount {expected}."),
            order=number,
            amount=format_money(parse_money(amount)),
            expected=format_money(order.amount),
        )
    if paid_at is not None:
        if paid_at > clock.now():
            raise ValidationError(
                N_("The payment time {paid_at} is in the future."),
                paid_at=paid_at.isoformat(sep=" "),
            )
        # Forms and payment files give the minute, so a payment in the minute the order was
        # made counts as after it.
        if paid_at < order.created_at.replace(second=0, microsecond=0):
            raise ValidationError(
                N_("The payment time is before order {order} was made."), order=number
            )


def pay_order(
    session: Session,
    actor: Actor,
    order_id: int,
    payment_ref: str,
    *,
    amount: object = None,
    paid_at: datetime | None = None,
) -> PaymentOutcome:
    """`record_payment` without turning a lost race into a refusal: the unique index's
    IntegrityError propagates, for a caller that writes many payments in one transaction
    (the payment-file import). Checks come before any write, so a refusal leaves the
    caller's transaction usable."""
    actor.require(Permission.RECORD_PAYMENTS)
    ref = clean_ref(payment_ref)
    order, opportunity = lock_order(session, actor, order_id, Permission.RECORD_PAYMENTS)
    if order.payment_ref == ref and order.status in ("paid", "refunded"):
        return PaymentOutcome(order.id, recorded=False)
    taken = session.exec(
        select(SalesOrder.id).where(SalesOrder.payment_ref == ref, SalesOrder.id != order.id)
    ).first()
    if taken is not None:
        raise ref_used_error(session, actor, ref)
    check_payable(order, amount=amount, paid_at=paid_at)
    at = paid_at or clock.now()
    # The attribution as the organisation stands now, read fresh (not from the session's
    # memory of an earlier moment).
    owner_id = opportunity.owner_id or order.created_by_id
    owner = unit = None
    if owner_id is not None:
        owner = session.exec(
            select(User).where(User.id == owner_id).execution_options(populate_existing=True)
        ).first()
    if owner is not None and owner.org_unit_id is not None:
        unit = session.exec(
            select(OrgUnit)
            .where(OrgUnit.id == owner.org_unit_id)
            .execution_options(populate_existing=True)
        ).first()
    product = session.get(Product, order.product_id) if order.product_id is not None else None
    order.status = "paid"
    order.payment_ref = ref
    order.paid_at = at
    order.payment_recorded_by_id = actor.user_id
    order.attributed_owner_id = owner.id if owner is not None else None
    order.attributed_unit_id = unit.id if unit is not None else None
    order.attributed_org_path = unit.path if unit is not None else None
    order.course_ends_at = (
        at + timedelta(days=product.course_days) if product and product.course_days else None
    )
    session.add(order)
    session.flush()  # the reference is claimed here: a racing payment fails on the index
    close_as_won(session, actor, opportunity, order.amount, at)
    if owner is not None and owner.id != actor.user_id:
        params = {
            "order": order_number(order.id),
            "opportunity": opportunity.id,
            "amount": format_money(order.amount),
        }
        notify(session, [owner.id], "order.paid", params, clock.now())
    session.flush()
    return PaymentOutcome(order.id, recorded=True)


def record_payment(
    session: Session,
    actor: Actor,
    order_id: int,
    payment_ref: str,
    *,
    amount: object = None,
    paid_at: datetime | None = None,
) -> PaymentOutcome:
    """Record that `order_id` was paid with reference `payment_ref`; flushes, the caller
    commits. Idempotent by reference: the same reference on the same order again returns
    `recorded=False` and changes nothing.

    Refused: a reference another order holds (naming it), an order that is not pending or
    still waits for (or was refused) a discount approval, an `amount` other than the
    order's, a `paid_at` (default now) in the future or before the order. On a lost race
    for the reference this payment is undone (a savepoint: the caller's earlier work stays)
    and the same refusal raised."""
    try:
        with savepoint(session):
            outcome = pay_order(
                session, actor, order_id, payment_ref, amount=amount, paid_at=paid_at
            )
    except IntegrityError as error:
        raise ref_used_error(session, actor, clean_ref(payment_ref)) from error
    if outcome.recorded:
        audit.record(
            session,
            actor,
            "order.pay",
            "sales_order",
            order_id,
            None,
            {"payment_ref": clean_ref(payment_ref)},
        )
        session.flush()
    return outcome


def refund_order(session: Session, actor: Actor, order_id: int, reason: str) -> SalesOrder:
    """Refund a paid order (`refunded`, with when, by whom and why); flushes. The
    opportunity stays won and the frozen attribution stays as it is."""
    actor.require(Permission.RECORD_PAYMENTS)
    why = clean_note(reason, field="refund_reason")
    if why is None:
        raise ValidationError(N_("Say why the order is refunded."))
    order, _ = lock_order(session, actor, order_id, Permission.RECORD_PAYMENTS)
    if order.status != "paid":
        raise ValidationError(
            N_("Only a paid order can be refunded; order {order} is not paid."),
            order=order_number(order.id),
            status=order.status,
        )
    now = clock.now()
    order.status = "refunded"
    order.refunded_at = now
    order.refunded_by_id = actor.user_id
    order.refund_reason = why
    session.add(order)
    session.flush()
    audit.record(
        session,
        actor,
        "order.refund",
        "sales_order",
        order.id,
        None,
        {"payment_ref": order.payment_ref, "reason": why},
    )
    if order.attributed_owner_id is not None and order.attributed_owner_id != actor.user_id:
        notify(
            session,
            [order.attributed_owner_id],
            "order.refunded",
            {"order": order_number(order.id)},
            now,
        )
    session.flush()
    return order
