"""Payments (record_payments): the orders waiting for payment, recording one by hand (of
an amount, for an order paid in instalments), the overdue instalments, importing a payment
file, and refunding paid orders in whole or in part.

A payment wins the opportunity and freezes who the revenue belongs to; the rules live in
`crm_core.commerce.payments`. Times on this page are the company's local time.
"""

from __future__ import annotations

import streamlit as st

from crm_core.approvals.entry import request_refund
from crm_core.commerce.instalments import overdue_instalments
from crm_core.commerce.order_listing import OrderFilter, OrderPage, paid_orders, payable_orders
from crm_core.commerce.payments import record_payment
from crm_core.platform.errors import CrmError
from crm_core.platform.metadata import list_business_lines
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.inputs import search_input, text_input
from ui.instalments import show_overdue
from ui.orders import order_frame, yuan
from ui.payment_import import show_payment_import
from ui.sales import DETAIL_PAGE, local_now, to_utc
from ui.tables import open_table

PAGE_SIZE = 50
_NOTICE = "payments_notice"

me = actor()
st.title(t("Payments"))
st.caption(
    t(
        "A payment wins the opportunity and credits the revenue to its owner and their unit as they are now; later moves never change it. Times are local time."
    )
)
notice = st.session_state.pop(_NOTICE, None)
if notice:
    {"info": st.info}.get(notice[0], st.success)(notice[1])
with session() as s:
    # A filter over existing rows: disabled lines too.
    lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}


def done(kind: str, text: str, reset: str) -> None:
    """Show `text` after the page starts over; `reset` names the form to empty."""
    st.session_state[_NOTICE] = (kind, text)
    st.session_state[f"payments_gen_{reset}"] = st.session_state.get(f"payments_gen_{reset}", 0) + 1
    st.rerun()


def filters(prefix: str) -> tuple[OrderFilter, int]:
    """The search, business line and page number of one list."""
    left, middle, right = st.columns([3, 2, 1])
    search = search_input(
        t("Order number, payment reference or name"),
        key=f"payments_{prefix}_search",
        container=left,
    )
    line = middle.selectbox(
        t("Business line"),
        [None, *lines],
        key=f"payments_{prefix}_line",
        format_func=lambda i: t("All business lines") if i is None else lines[i],
    )
    number = right.number_input(t("Page"), min_value=1, step=1, key=f"payments_{prefix}_page")
    return OrderFilter(search=search or None, business_line_id=line), int(number)


def listed(page: OrderPage, *, paid: bool) -> None:
    st.caption(t("{total} orders", total=page.total))
    frame = order_frame(page.rows, payment=paid)
    frame.insert(1, t("Opportunity"), [f"#{r.opportunity_id} {r.lead_name}" for r in page.rows])
    frame[t("Owner now")] = [r.owner_name or "" for r in page.rows]
    if any(r.instalments for r in page.rows):
        frame[t("Paid")] = [yuan(r.paid_amount) for r in page.rows]
        frame[t("Still owed")] = [yuan(r.owed) for r in page.rows]
    if paid:
        frame[t("Refund reason")] = [r.refund_reason or "" for r in page.rows]
    key = "payments_paid_rows" if paid else "payments_due_rows"
    open_table(frame, [r.opportunity_id for r in page.rows], key=key, open_page=DETAIL_PAGE)
    st.caption(t("Click a row to open the opportunity."))


def choose(label: str, page: OrderPage, key: str) -> int:
    by_id = {r.id: r for r in page.rows}
    if st.session_state.get(key) not in by_id:  # e.g. the order was just paid
        st.session_state.pop(key, None)
    return st.selectbox(
        label,
        list(by_id),
        key=key,
        format_func=lambda i: f"{by_id[i].number} · {by_id[i].lead_name} · {yuan(by_id[i].amount)}",
    )


def payable_tab() -> None:
    chosen_filters, number = filters("payable")
    try:
        with session() as s:
            page = payable_orders(
                s, me, chosen_filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
            )
    except CrmError as error:
        show_error(error)
        return
    if not page.rows:
        st.info(t("No order is waiting for payment."))
        return
    listed(page, paid=False)
    st.subheader(t("Record a payment"))
    gen = st.session_state.get("payments_gen_record", 0)
    order_id = choose(t("Order"), page, "payments_record_order")
    ref = text_input(t("Payment reference (transaction number)"), key=f"payments_ref_{gen}")
    now = local_now()
    day_col, time_col = st.columns(2)
    day = day_col.date_input(t("Paid on"), value=now.date(), key=f"payments_day_{gen}")
    at = time_col.time_input(
        t("At"),
        value=now.time().replace(second=0, microsecond=0),
        key=f"payments_time_{gen}",
    )
    chosen = next(r for r in page.rows if r.id == order_id)
    amount = None
    if chosen.instalments:
        amount = st.number_input(
            t("Amount paid (¥)"),
            min_value=0.01,
            max_value=float(chosen.owed),
            value=float(chosen.owed),
            step=100.0,
            format="%.2f",
            key=f"payments_amount_{gen}_{order_id}",
        )
        st.caption(
            t(
                "Paid in instalments: {owed} still owed. A payment settles the earliest open instalments.",
                owed=yuan(chosen.owed),
            )
        )
    if st.button(t("Record payment"), key="payments_record", type="primary"):
        number_text = chosen.number
        paid = None if amount is None else f"{amount:.2f}"
        try:
            with session() as s:
                outcome = record_payment(s, me, order_id, ref, amount=paid, paid_at=to_utc(day, at))
        except CrmError as error:
            show_error(error)
            return
        if outcome.recorded and chosen.instalments:
            done(
                "success",
                t(
                    "Payment of {amount} on order {number} recorded.",
                    amount=yuan(outcome.amount),
                    number=number_text,
                ),
                "record",
            )
        elif outcome.recorded:
            done(
                "success",
                t(
                    "Payment of order {number} recorded: the opportunity is won.",
                    number=number_text,
                ),
                "record",
            )
        else:
            done(
                "info",
                t(
                    "This payment of order {number} was recorded already: nothing changed.",
                    number=number_text,
                ),
                "record",
            )


def paid_tab() -> None:
    chosen_filters, number = filters("paid")
    refunded = st.checkbox(t("Include refunded orders"), key="payments_include_refunded")
    try:
        with session() as s:
            page = paid_orders(
                s,
                me,
                chosen_filters,
                include_refunded=refunded,
                limit=PAGE_SIZE,
                offset=(number - 1) * PAGE_SIZE,
            )
    except CrmError as error:
        show_error(error)
        return
    if not page.rows:
        st.info(t("No paid orders found."))
        return
    listed(page, paid=True)
    refundable = OrderPage(
        [r for r in page.rows if r.status in ("paid", "pending") and r.refundable > 0],
        page.total,
    )
    if not refundable.rows:
        return
    st.subheader(t("Refund"))
    gen = st.session_state.get("payments_gen_refund", 0)
    order_id = choose(t("Order"), refundable, "payments_refund_order")
    chosen = next(r for r in refundable.rows if r.id == order_id)
    amount = st.number_input(
        t("Amount to refund (¥)"),
        min_value=0.01,
        max_value=float(chosen.refundable),
        value=float(chosen.refundable),
        step=100.0,
        format="%.2f",
        key=f"payments_refund_amount_{gen}_{order_id}",
    )
    reason = text_input(t("Reason for the refund"), key=f"payments_reason_{gen}")
    if st.button(t("Refund order"), key="payments_refund"):
        number_text = chosen.number
        part = None if f"{amount:.2f}" == f"{chosen.refundable:.2f}" else f"{amount:.2f}"
        try:
            with session() as s:
                routed = request_refund(s, me, order_id, reason, amount=part)
        except CrmError as error:
            show_error(error)
            return
        if routed.sent:
            message = t(
                "The refund of order {number} is sent for approval (see Approvals).",
                number=number_text,
            )
            done("success", message, "refund")
        else:
            done("success", t("Order {number} refunded.", number=number_text), "refund")


def overdue_tab() -> None:
    search = search_input(t("Name"), key="payments_overdue_search")
    try:
        with session() as s:
            found = overdue_instalments(s, me, search=search or None)
    except CrmError as error:
        show_error(error)
        return
    show_overdue(found, "payments_overdue_rows")


payable, overdue, import_tab, paid = st.tabs(
    [
        t("Awaiting payment"),
        t("Overdue instalments"),
        t("Import a payment file"),
        t("Paid and refunds"),
    ]
)
with payable:
    payable_tab()
with overdue:
    overdue_tab()
with import_tab:
    show_payment_import(me)
with paid:
    paid_tab()
