"""Checking a payment file: which rows pay an order, which were recorded already, which are
bad and why. Reads the orders and the references of the whole file in a few queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.commerce.orders import order_number, parse_order_number
from crm_core.commerce.payments import MAX_REF, check_payable
from crm_core.imports.file_import import (
    FieldIssue,
    FileCells,
    FilePreview,
    RejectedRow,
    checked_mapping,
    missing_fields,
)
from crm_core.imports.tabular import guess_mapping
from crm_core.models import Opportunity, SalesOrder
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.cells import parse_datetime
from crm_core.platform.company_time import file_zone, to_utc
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.platform.permissions import Permission

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
PAYMENT_FIELDS: tuple[str, ...] = tuple(PAYMENT_COLUMNS)
REQUIRED: tuple[str, ...] = ("order_number", "payment_ref")
MAX_ROWS = 20_000
CHUNK = 2000  # values per IN (...) list
# The field at fault when the payment rules refuse a row (else the order number).
_FIELD_OF = {
    N_("The amount {amount} differs from order {order}'s amount {expected}."): "amount",
    N_("The payment time is before order {order} was made."): "paid_at",
}


@dataclass(frozen=True)
class PaymentIssue(FieldIssue):
    """Why a row is bad: translate `key` with `params`."""


@dataclass(frozen=True)
class PaymentRow:
    """A good row: the order it pays, and how (`paid_at` in UTC; None: the import's time)."""

    row: int
    order_id: int
    payment_ref: str
    amount: Decimal | None
    paid_at: datetime | None

    @property
    def number(self) -> str:
        return order_number(self.order_id)


@dataclass(frozen=True)
class PaymentPreview(FilePreview):
    """What importing the file would do: `rows` to pay, `already` recorded, `rejected`."""

    rows: tuple[PaymentRow, ...]
    already: tuple[PaymentRow, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {"pay": len(self.rows), "already": len(self.already), "rejected": len(self.rejected)}


def guess_payment_mapping(columns: Iterable[str]) -> dict[str, str | None]:
    """The file column for each payment field, guessed from English or Chinese headers."""
    return guess_mapping(columns, PAYMENT_COLUMNS)


def missing_payment_columns(mapping: Mapping[str, str | None]) -> list[str]:
    """Required fields the mapping leaves without a column."""
    return missing_fields(mapping, REQUIRED)


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
    """reference -> (order id, whether the actor reaches that order), for stored refs."""
    holders: dict[str, tuple] = {}
    for chunk in _chunks(refs):
        reached = set(
            session.exec(
                select(SalesOrder.id)
                .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
                .where(col(SalesOrder.payment_ref).in_(chunk), opportunity_scope(actor))
            ).all()
        )
        for order_id, ref in session.exec(
            select(SalesOrder.id, SalesOrder.payment_ref).where(
                col(SalesOrder.payment_ref).in_(chunk)
            )
        ).all():
            holders[ref] = (order_id, order_id in reached)
    return holders


def _checked_mapping(frame: pd.DataFrame, mapping: Mapping[str, str | None] | None) -> dict:
    mapping = checked_mapping(frame, mapping, PAYMENT_COLUMNS, missing_payment_columns)
    used = [c for c in mapping.values() if c]
    if len(used) != len(set(used)):
        raise ValidationError(N_("One column of the file is chosen for two fields."))
    if len(frame.index) > MAX_ROWS:
        raise ValidationError(
            N_("The file has {rows} rows; at most {max} are imported at once."),
            rows=len(frame.index),
            max=MAX_ROWS,
        )
    return mapping


def preview_payment_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    mapping: Mapping[str, str | None] | None = None,
    *,
    source: str | None = None,
    time_zone: str | None = None,
) -> PaymentPreview:
    """Check every row of `frame` (from `crm_core.imports.tabular.read_table`); writes nothing.

    `mapping` is field -> file column (guessed when None). Times in the file are the
    file's time zone (`time_zone`, default the company's). A row is bad for: no order number, or one the actor does not
    reach; an order that cannot be paid (not pending, waiting for approval, paid with
    another reference); an amount other than the order's; a date that is no date, in the
    future or before the order; no reference, or one another order holds; a reference or
    an order an earlier row already has. A row whose reference the order already holds is
    `already` recorded, not an error."""
    actor.require(Permission.RECORD_PAYMENTS)
    mapping = _checked_mapping(frame, mapping)
    cells = FileCells(frame)
    numbers = cells.numbers
    zone = file_zone(session, time_zone)
    now = clock.now()

    parsed: list[tuple[dict[str, Any], list[PaymentIssue]]] = []
    for position, number in enumerate(numbers):
        issues: list[PaymentIssue] = []

        def bad(name: str, key: str, _issues=issues, _number=number, **params: Any) -> None:
            _issues.append(PaymentIssue(_number, name, mapping[name] or "", key, params))

        cell = cells.values(position, mapping)
        values: dict[str, Any] = {"order_id": None, "ref": None, "amount": None, "paid_at": None}
        if cell["order_number"] is None:
            bad("order_number", N_("The order number is missing."))
        else:
            values["order_id"] = parse_order_number(cell["order_number"])
            if values["order_id"] is None:
                bad(
                    "order_number",
                    N_("There is no order {order}, or it is outside your data scope."),
                    order=cell["order_number"],
                )
        if cell["payment_ref"] is None:
            bad("payment_ref", N_("A payment needs its payment reference."))
        elif len(cell["payment_ref"]) > MAX_REF:
            bad(
                "payment_ref",
                N_("The payment reference is longer than {maximum} characters."),
                maximum=MAX_REF,
            )
        else:
            values["ref"] = cell["payment_ref"]
        if cell["amount"] is not None:
            try:
                values["amount"] = parse_money(cell["amount"])
            except ValidationError:
                bad("amount", N_("“{value}” is not an amount."), value=cell["amount"])
        if cell["paid_at"] is not None:
            try:
                values["paid_at"] = to_utc(parse_datetime(cell["paid_at"]), zone)
            except ValueError:
                bad("paid_at", N_("“{value}” is not a date and time."), value=cell["paid_at"])
            else:
                if values["paid_at"] > now:
                    bad(
                        "paid_at",
                        N_("The payment time {paid_at} is in the future."),
                        paid_at=cell["paid_at"],
                    )
        parsed.append((values, issues))

    orders = _orders_in_scope(session, actor, (v["order_id"] for v, _ in parsed if v["order_id"]))
    holders = _ref_holders(session, actor, (v["ref"] for v, _ in parsed if v["ref"]))
    first_ref: dict[str, int] = {}
    first_order: dict[int, int] = {}
    good: list[PaymentRow] = []
    already: list[PaymentRow] = []
    rejected: list[RejectedRow] = []
    for position, (values, issues) in enumerate(parsed):
        number = numbers[position]

        def bad(name: str, key: str, _issues=issues, _number=number, **params: Any) -> None:
            _issues.append(PaymentIssue(_number, name, mapping[name] or "", key, params))

        order_id, ref = values["order_id"], values["ref"]
        order = orders.get(order_id) if order_id is not None else None
        if order_id is not None and order is None:
            given = cells.text(mapping["order_number"], position)
            bad(
                "order_number",
                N_("There is no order {order}, or it is outside your data scope."),
                order=given,
            )
        done = (
            order is not None
            and ref is not None
            and order.payment_ref == ref
            and order.status in ("paid", "refunded")
        )
        if ref is not None:
            if ref in first_ref:
                bad(
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
                    bad(
                        "payment_ref",
                        N_("Payment reference {ref} is already used by order {order}."),
                        ref=ref,
                        order=order_number(holder[0]),
                    )
                else:  # an order outside the scope does not exist, not even by its number
                    bad(
                        "payment_ref",
                        N_("Payment reference {ref} is already used by another order."),
                        ref=ref,
                    )
        if order is not None:
            if order.id in first_order:
                bad(
                    "order_number",
                    N_("Order {order} is already paid on row {first_row} of this file."),
                    order=order_number(order.id),
                    first_row=first_order[order.id],
                )
            else:
                first_order[order.id] = number
            if not done:
                paid_at = values["paid_at"]
                try:  # a future date is reported already
                    check_payable(
                        order,
                        amount=values["amount"],
                        paid_at=paid_at if paid_at and paid_at <= now else None,
                    )
                except CrmError as error:
                    bad(_FIELD_OF.get(error.key, "order_number"), error.key, **error.params)
        if issues:
            ordered = sorted(issues, key=lambda i: PAYMENT_FIELDS.index(i.field))
            rejected.append(RejectedRow(number, cells.cells(position), tuple(ordered)))
            continue
        row = PaymentRow(number, order_id, ref, values["amount"], values["paid_at"])
        (already if done else good).append(row)

    return PaymentPreview(
        rows=tuple(good),
        already=tuple(already),
        rejected=tuple(rejected),
        columns=cells.columns,
        mapping=mapping,
        source=source or str(frame.attrs.get("filename") or ""),
        actor_user_id=actor.user_id,
        total_rows=len(numbers),
    )
