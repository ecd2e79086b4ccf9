"""The payment file as an import spec: its fields, the cells of a row, which rows pay an order,
which were recorded already and which are bad (the orders and references of the whole file
read in a few queries), and the write, each payment through the rules of a single one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case
from sqlmodel import Session, col, select

from crm_core.commerce.orders import order_number, parse_order_number
from crm_core.commerce.payments import MAX_REF, check_payable, owed, pay_order
from crm_core.imports.engine import FieldSpec, Findings, Preview, RowReader, WriteOutcome
from crm_core.imports.file_import import FieldIssue
from crm_core.models import Opportunity, OrderPayment, SalesOrder
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import format_money

# Field -> header names it may have, English and Chinese (compared without case, spaces,
# `_`, `-`, `.`, `:` or brackets), as payment providers and bank statements name them.
PAYMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_number": (
        "order number",
        "order no",
        "order id",
        "order",
        "merchant order no",
        "out trade no",
        "订单号",
        "订单编号",
        "商户订单号",
        "业务订单号",
        "订单",
    ),
    "payment_ref": (
        "payment reference",
        "payment ref",
        "reference",
        "transaction id",
        "transaction no",
        "trade no",
        "payment id",
        "支付流水号",
        "流水号",
        "交易流水号",
        "交易号",
        "交易单号",
        "支付单号",
        "支付流水",
    ),
    "amount": (
        "amount",
        "paid amount",
        "payment amount",
        "total",
        "金额",
        "支付金额",
        "实付金额",
        "付款金额",
        "实收金额",
        "交易金额",
    ),
    "paid_at": (
        "paid at",
        "payment time",
        "paid time",
        "payment date",
        "date",
        "time",
        "支付时间",
        "付款时间",
        "交易时间",
        "到账时间",
        "支付日期",
        "日期",
    ),
}

NO_ORDER = N_("There is no order {order}, or it is outside your data scope.")
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "order_number",
        PAYMENT_COLUMNS["order_number"],
        required=True,
        messages={"missing": N_("The order number is missing.")},
    ),
    FieldSpec(
        "payment_ref",
        PAYMENT_COLUMNS["payment_ref"],
        required=True,
        max_length=MAX_REF,
        messages={
            "missing": N_("A payment needs its payment reference."),
            "too_long": N_("The payment reference is longer than {maximum} characters."),
        },
    ),
    FieldSpec("amount", PAYMENT_COLUMNS["amount"], kind="money"),
    FieldSpec(
        "paid_at",
        PAYMENT_COLUMNS["paid_at"],
        kind="datetime",
        messages={"invalid": N_("“{value}” is not a date and time.")},
    ),
)
PAYMENT_FIELDS: tuple[str, ...] = tuple(PAYMENT_COLUMNS)
CATEGORIES: tuple[str, ...] = ("pay", "already")
MAX_ROWS = 20_000
CHUNK = 2000  # values per IN (...) list
# The field at fault when the payment rules refuse a row (else the order number).
_FIELD_OF = {
    N_("The amount {amount} differs from order {order}'s amount {expected}."): "amount",
    N_("The amount {amount} is more than the {owed} still owed on order {order}."): "amount",
    N_("A payment needs an amount above zero."): "amount",
    N_("The payment time is before order {order} was made."): "paid_at",
}
CONCURRENT = ValidationError(
    N_(
        "Another payment took one of the file's references meanwhile: nothing was recorded. Preview the file again."
    )
)


@dataclass(frozen=True)
class PaymentRow:
    """A row: the order it pays, and how (`paid_at` in UTC; None: the import's time).
    `category` is `pay`, or `already` when the order holds this reference."""

    row: int
    order_id: int | None
    payment_ref: str | None
    amount: Decimal | None
    paid_at: datetime | None
    category: str = "pay"

    @property
    def number(self) -> str:
        return order_number(self.order_id) if self.order_id is not None else ""


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _orders_in_scope(session: Session, actor: Actor, ids: Iterable[int]) -> dict[int, SalesOrder]:
    found: dict[int, SalesOrder] = {}
    for chunk in _chunks(ids):
        for order in session.exec(
            select(SalesOrder)
            .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
            .where(col(SalesOrder.id).in_(chunk), opportunity_scope(actor))
            .execution_options(populate_existing=True)
        ).all():
            found[order.id] = order
    return found


def _ref_holders(session: Session, actor: Actor, refs: Iterable[str]) -> dict[str, tuple]:
    """reference -> (order id, whether the actor reaches that order), for stored refs. Every
    stored reference is a payment's (an order's first one included), so one query a chunk."""
    holders: dict[str, tuple] = {}
    reached = case((opportunity_scope(actor), True), else_=False)
    for chunk in _chunks(refs):
        for ref, order_id, reaches in session.exec(
            select(OrderPayment.payment_ref, OrderPayment.order_id, reached)
            .join(SalesOrder, col(SalesOrder.id) == col(OrderPayment.order_id))
            .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
            .where(col(OrderPayment.payment_ref).in_(chunk))
        ).all():
            holders[ref] = (order_id, bool(reaches))
    return holders


def read_payment(reader: RowReader) -> PaymentRow:
    """The order the row names, its reference, amount and time (a future time is refused).
    Returned even when bad, so the file-wide checks give their reasons too."""
    order_id = None
    if reader["order_number"] is not None:
        order_id = parse_order_number(reader["order_number"])
        if order_id is None:
            reader.bad("order_number", NO_ORDER, order=reader["order_number"])
    paid_at = reader["paid_at"]
    if paid_at is not None and paid_at > clock.now():
        reader.bad(
            "paid_at",
            N_("The payment time {paid_at} is in the future."),
            paid_at=reader.texts["paid_at"],
        )
        paid_at = None
    return PaymentRow(reader.number, order_id, reader["payment_ref"], reader["amount"], paid_at)


def check_payments(
    session: Session, actor: Actor, rows: list[PaymentRow], found: Findings
) -> list[PaymentRow]:
    """Bad for: an order the actor does not reach; an order that cannot be paid (not
    pending, waiting for approval, paid with another reference); an amount other than the
    order's; a time before the order; a reference another order holds; a reference or an
    order an earlier row already has. A row whose reference the order holds is `already`
    recorded, not an error."""
    orders = _orders_in_scope(session, actor, (r.order_id for r in rows if r.order_id))
    holders = _ref_holders(session, actor, (r.payment_ref for r in rows if r.payment_ref))
    first_ref: dict[str, int] = {}
    first_order: dict[int, int] = {}
    in_file: dict[int, Decimal] = {}
    checked = []
    for row in rows:
        number, order_id, ref = row.row, row.order_id, row.payment_ref
        order = orders.get(order_id) if order_id is not None else None
        if order_id is not None and order is None:
            found.reject(number, "order_number", NO_ORDER, order=order_number(order_id))
        held = holders.get(ref) if ref is not None else None
        done = (
            order is not None
            and ref is not None
            and (
                (held is not None and held[0] == order.id)
                or (order.payment_ref == ref and order.status in ("paid", "refunded"))
            )
        )
        if ref is not None:
            if ref in first_ref:
                found.reject(
                    number,
                    "payment_ref",
                    N_("Payment reference {ref} is already on row {first_row} of this file."),
                    ref=ref,
                    first_row=first_ref[ref],
                )
            else:
                first_ref[ref] = number
            holder = holders.get(ref)
            if holder is not None and holder[0] != order_id:
                if holder[1]:
                    found.reject(
                        number,
                        "payment_ref",
                        N_("Payment reference {ref} is already used by order {order}."),
                        ref=ref,
                        order=order_number(holder[0]),
                    )
                else:  # an order outside the scope does not exist, not even by its number
                    found.reject(
                        number,
                        "payment_ref",
                        N_("Payment reference {ref} is already used by another order."),
                        ref=ref,
                    )
        if order is not None and order.instalments:
            # An order paid in instalments may take several rows, together at most what
            # is owed.
            if not done:
                try:
                    pay = check_payable(order, amount=row.amount, paid_at=row.paid_at)
                except CrmError as error:
                    field = _FIELD_OF.get(error.key, "order_number")
                    found.reject(number, field, error.key, **error.params)
                else:
                    so_far = in_file.get(order.id, Decimal(0)) + pay
                    in_file[order.id] = so_far
                    if so_far > owed(order):
                        found.reject(
                            number,
                            "amount",
                            N_(
                                "Rows of this file pay {amount} on order {order}, more than the {owed} still owed."
                            ),
                            amount=format_money(so_far),
                            order=order_number(order.id),
                            owed=format_money(owed(order)),
                        )
        elif order is not None:
            if order.id in first_order:
                found.reject(
                    number,
                    "order_number",
                    N_("Order {order} is already paid on row {first_row} of this file."),
                    order=order_number(order.id),
                    first_row=first_order[order.id],
                )
            else:
                first_order[order.id] = number
            if not done:
                try:
                    check_payable(order, amount=row.amount, paid_at=row.paid_at)
                except CrmError as error:
                    field = _FIELD_OF.get(error.key, "order_number")
                    found.reject(number, field, error.key, **error.params)
        checked.append(
            PaymentRow(
                *(row.row, order_id, ref, row.amount, row.paid_at), "already" if done else "pay"
            )
        )
    return checked


def write_payments(session: Session, actor: Actor, preview: Preview) -> WriteOutcome:
    """Record each payment through the rules of a single one (`pay_order`); a row that
    changed since the preview (paid or cancelled meanwhile) is `failed`. Rows recorded
    already are counted, not written again, so the same file twice records nothing new."""
    now = clock.now()
    column = preview.mapping.get("order_number") or ""
    recorded = already = 0
    failed: list[FieldIssue] = []
    for row in preview.rows_in("pay"):
        try:
            outcome = pay_order(
                session,
                actor,
                row.order_id,
                row.payment_ref,
                amount=row.amount,
                paid_at=row.paid_at or now,
            )
        except CrmError as error:  # refused before writing: the transaction goes on
            failed.append(
                FieldIssue(row.row, "order_number", column, error.key, dict(error.params))
            )
            continue
        if outcome.recorded:
            recorded += 1
        else:
            already += 1
    counts = preview.counts
    written = {
        "recorded": recorded,
        "already": counts["already"] + already,
        "rejected": counts["rejected"],
        "failed": len(failed),
    }
    return WriteOutcome(written, failed=tuple(failed))
