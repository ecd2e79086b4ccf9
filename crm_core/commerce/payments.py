"""Payments (回款): the moment revenue is credited.

Finance or an admin (`record_payments`) records that an order was paid, by hand or from a
payment file (`crm_core.imports.payments`). A payment is identified by its reference (the
payment provider's transaction number): recording the same reference on the same order
again is "already recorded" and changes nothing, and a reference already used by another
order is refused. The unique indexes on `order_payment.payment_ref` and
`sales_order.payment_ref` back this when two payments race: the loser's IntegrityError
becomes the same refusal.

Every payment is an `OrderPayment` row that freezes the attribution - the opportunity's
owner (without one, the order's creator), that person's org unit and the unit's path at
that moment. Revenue reports add up these rows by their `paid_at`, so moving the rep or the
unit later never moves past revenue. An order paid at once takes one payment of its whole
amount and wins its opportunity (`stages.close_as_won`). An order with an instalment plan
(`crm_core.commerce.instalments`) takes payments of any amount up to what is owed, each
settling the earliest open parts; it wins its opportunity at the first payment or when paid
in full (the `orders.won_at` setting) and is `paid` when nothing is owed. The order's own
payment fields (reference, time, attribution) hold its first payment. Refunds live in
`crm_core.commerce.refunds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_core.commerce.instalments import settle
from crm_core.commerce.orders import lock_order, notify, order_number
from crm_core.models import Opportunity, OrderPayment, OrgUnit, Product, SalesOrder, User
from crm_core.org.access import opportunity_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import format_money, parse_money
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting
from crm_core.sales.stages import close_as_won

MAX_REF = 80
PAYABLE_APPROVALS = ("none", "approved")


@dataclass(frozen=True)
class PaymentOutcome:
    """What `record_payment` did: `recorded` now, or the same payment was `already` there."""

    order_id: int
    recorded: bool
    amount: Decimal | None = None  # what this payment paid (None when already recorded)
    instalments: bool = False  # the order is paid in instalments

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
    # Every stored reference is a payment's (an order's first one included).
    held = col(SalesOrder.id).in_(
        select(OrderPayment.order_id).where(OrderPayment.payment_ref == ref)
    )
    other = session.exec(
        select(SalesOrder.id)
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .where(held, opportunity_scope(actor))
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


def owed(order: SalesOrder) -> Decimal:
    """What is still to be paid on an order."""
    return order.amount - (order.paid_amount or Decimal(0))


def check_payable(
    order: SalesOrder, *, amount: object = None, paid_at: datetime | None = None
) -> Decimal:
    """Refuse paying `order` (one that does not already hold the reference): it must be
    pending with no approval outstanding; `amount` (when given) equal to its amount, or -
    for an order paid in instalments - above zero and at most what is still owed; `paid_at`
    neither in the future nor before the order was made. Returns the amount to pay (what is
    owed when `amount` is None)."""
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
    due = owed(order)
    pay = due if amount is None else parse_money(amount)
    if not order.instalments and pay != order.amount:
        raise ValidationError(
            N_("The amount {amount} differs from order {order}'s amount {expected}."),
            order=number,
            amount=format_money(pay),
            expected=format_money(order.amount),
        )
    if pay <= 0:
        raise ValidationError(N_("A payment needs an amount above zero."), order=number)
    if pay > due:
        raise ValidationError(
            N_("The amount {amount} is more than the {owed} still owed on order {order}."),
            order=number,
            amount=format_money(pay),
            owed=format_money(due),
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
    return pay


def _attribution(session: Session, owner_id: int | None) -> tuple[User | None, OrgUnit | None]:
    # The attribution as the organisation stands now, read fresh (not from the session's
    # memory of an earlier moment).
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
    return owner, unit


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
    holder = session.exec(
        select(OrderPayment.order_id).where(OrderPayment.payment_ref == ref)
    ).first()
    if holder == order.id:
        return PaymentOutcome(order.id, recorded=False)
    if holder is not None:
        raise ref_used_error(session, actor, ref)
    pay = check_payable(order, amount=amount, paid_at=paid_at)
    at = paid_at or clock.now()
    owner, unit = _attribution(session, opportunity.owner_id or order.created_by_id)
    first = order.paid_amount <= 0
    session.add(
        OrderPayment(
            order_id=order.id,
            payment_ref=ref,
            amount=pay,
            paid_at=at,
            recorded_by_id=actor.user_id,
            attributed_owner_id=owner.id if owner is not None else None,
            attributed_unit_id=unit.id if unit is not None else None,
            attributed_org_path=unit.path if unit is not None else None,
            created_at=clock.now(),
        )
    )
    order.paid_amount = (order.paid_amount or Decimal(0)) + pay
    full = order.paid_amount >= order.amount
    if first:
        # The order's own payment fields hold its first payment: the sale's moment.
        order.payment_ref = ref
        order.paid_at = at
        order.payment_recorded_by_id = actor.user_id
        order.attributed_owner_id = owner.id if owner is not None else None
        order.attributed_unit_id = unit.id if unit is not None else None
        order.attributed_org_path = unit.path if unit is not None else None
        product = session.get(Product, order.product_id) if order.product_id else None
        order.course_ends_at = (
            at + timedelta(days=product.course_days) if product and product.course_days else None
        )
    if full:
        order.status = "paid"
    session.add(order)
    session.flush()  # the reference is claimed here: a racing payment fails on the index
    if order.instalments:
        settle(session, order.id, pay, at)
    if not order.instalments:
        wins_now = True
    elif get_setting(session, "orders.won_at") == "full":
        wins_now = full
    else:
        wins_now = first
    if wins_now:
        close_as_won(session, actor, opportunity, order.amount, at)
    if full and owner is not None and owner.id != actor.user_id:
        params = {
            "order": order_number(order.id),
            "opportunity": opportunity.id,
            "amount": format_money(order.amount),
        }
        notify(session, [owner.id], "order.paid", params, clock.now())
    session.flush()
    return PaymentOutcome(order.id, recorded=True, amount=pay, instalments=order.instalments)


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
        payload = {"payment_ref": clean_ref(payment_ref)}
        if outcome.instalments:
            payload["amount"] = str(outcome.amount)
        audit.record(
            session,
            actor,
            "order.pay",
            "sales_order",
            order_id,
            None,
            payload,
        )
        session.flush()
    return outcome


from crm_core.commerce.refunds import refund_order  # noqa: E402

__all__ = ["PaymentOutcome", "check_payable", "pay_order", "record_payment", "refund_order"]
