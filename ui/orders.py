"""The orders section of an opportunity: its orders with their payment and frozen
attribution, a form to make an order while the opportunity is open, and cancelling a
pending one. Embedded by the opportunity page; every rule is in `crm_core.commerce.orders`.

Also what the order pages share: how an amount and an order's coded values read.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from crm_core.commerce.instalments import plans_of_opportunity
from crm_core.commerce.order_listing import OrderRow, orders_of_opportunity
from crm_core.commerce.orders import cancel_order, create_order, discount_within, order_number
from crm_core.commerce.products import list_products
from crm_core.org.users import discount_limit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.money import format_money
from crm_core.platform.permissions import Permission
from ui.db import session
from ui.i18n import show_error, t
from ui.inputs import text_input
from ui.instalments import plan_editor, show_plans
from ui.sales import local

_NOTICE = "orders_notice"


def yuan(amount: Decimal | None) -> str:
    """`¥9,800.00`; nothing for None."""
    return "" if amount is None else f"¥{format_money(amount)}"


def status_text(row: OrderRow) -> str:
    return t(label_of("orders.status", row.status))


def approval_text(row: OrderRow) -> str:
    return t(label_of("orders.approval", row.approval))


def order_frame(rows: list[OrderRow], *, payment: bool = True) -> pd.DataFrame:
    """The orders as a table: product, prices, discount, state, and - with `payment` - when
    they were paid and whom the revenue is credited to."""
    records = []
    for r in rows:
        record = {
            t(NC_("orders.table", "Order")): r.number,
            t("Product"): f"{r.product_code or ''} {r.product_name or ''}".strip(),
            t("List price"): yuan(r.list_price),
            t(NC_("orders.table", "Amount")): yuan(r.amount),
            t("Discount"): f"{r.discount_pct}%",
            t("Status"): status_text(r),
            t("Discount approval"): approval_text(r),
            t("Made by"): r.created_by_name or "",
        }
        if payment:
            record[t("Paid at")] = local(r.paid_at)
            record[t("Payment reference")] = r.payment_ref or ""
            record[t("Credited to")] = r.attributed_owner_name or ""
            record[t("Credited unit")] = r.attributed_unit_name or ""
        records.append(record)
    return pd.DataFrame(records)


def _flash(text: str) -> None:
    st.session_state[_NOTICE] = text


def _order_form(me: Actor, opportunity_id: int, products, limit: int) -> None:
    by_id = {p.id: p for p in products}
    product_id = st.selectbox(
        t("Product"),
        list(by_id),
        key=f"orders_product_{opportunity_id}",
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].name} · {yuan(by_id[i].list_price)}",
    )
    product = by_id[product_id]
    amount = st.number_input(
        t("Price (¥)"),
        min_value=0.01,
        max_value=float(product.list_price),
        value=float(product.list_price),
        step=100.0,
        format="%.2f",
        key=f"orders_amount_{opportunity_id}_{product_id}",  # a new product starts at its price
    )
    price = Decimal(f"{amount:.2f}")
    lowest = (product.list_price * (100 - limit) / 100).quantize(Decimal("0.01"))
    st.caption(
        t(
            "You may give up to {limit}% off without approval (lowest price {lowest}).",
            limit=limit,
            lowest=yuan(lowest),
        )
    )
    if not discount_within(product.list_price, price, limit):
        st.warning(
            t(
                "This is more than {limit}% off: a manager must approve the discount before the order can be paid.",
                limit=limit,
            )
        )
    generation = st.session_state.setdefault(f"orders_gen_{opportunity_id}", 0)
    plan = plan_editor(f"orders_plan_{opportunity_id}_{generation}", price)
    note = text_input(t("Note (optional)"), key=f"orders_note_{opportunity_id}_{generation}")
    if st.button(t("Create order"), key=f"orders_create_{opportunity_id}", type="primary"):
        try:
            with session() as s:
                order = create_order(s, me, opportunity_id, product_id, price, note, plan=plan)
                number, waiting = order_number(order.id), order.approval == "requested"
        except CrmError as error:
            show_error(error)
            return
        _flash(
            t(
                N_("Order {number} created: the discount waits for a manager's approval.")
                if waiting
                else N_("Order {number} created: it can be paid now."),
                number=number,
            )
        )
        st.session_state[f"orders_gen_{opportunity_id}"] = generation + 1  # an empty note
        st.rerun()


def _cancel(me: Actor, opportunity_id: int, pending: list[OrderRow]) -> None:
    by_id = {r.id: r for r in pending}
    if st.session_state.get(f"orders_cancel_choice_{opportunity_id}") not in by_id:
        st.session_state.pop(f"orders_cancel_choice_{opportunity_id}", None)
    chosen = st.selectbox(
        t("Pending order"),
        list(by_id),
        key=f"orders_cancel_choice_{opportunity_id}",
        format_func=lambda i: f"{by_id[i].number} · {yuan(by_id[i].amount)}",
    )
    if st.button(t("Cancel order"), key=f"orders_cancel_{opportunity_id}"):
        try:
            with session() as s:
                cancel_order(s, me, chosen)
        except CrmError as error:
            show_error(error)
            return
        _flash(t("Order {number} cancelled.", number=by_id[chosen].number))
        st.rerun()


def show_orders(me: Actor, opportunity_id: int, business_line_id: int, is_open: bool) -> None:
    """The orders section of one opportunity (which the page has already found in scope)."""
    st.subheader(t("Orders"))
    text = st.session_state.pop(_NOTICE, None)
    if text:
        st.success(text)
    may_order = is_open and me.can(Permission.CREATE_ORDERS)
    try:
        with session() as s:
            rows = orders_of_opportunity(s, me, opportunity_id)
            plans = plans_of_opportunity(s, me, opportunity_id) if rows else {}
            products = list_products(s, me, business_line_id) if may_order else []
            limit = discount_limit(s, me) if may_order else 0
    except CrmError as error:
        show_error(error)
        return
    if rows:
        st.dataframe(order_frame(rows), hide_index=True, width="stretch")
    else:
        st.caption(t("No orders yet."))
    show_plans(plans)
    pending = [r for r in rows if r.status == "pending"]
    for row in pending:
        if row.approval == "requested":
            st.info(
                t(
                    "Order {number} gives {pct}% off: it waits for a manager's approval before it can be paid.",
                    number=row.number,
                    pct=row.discount_pct,
                )
            )
    if pending and (me.can(Permission.CREATE_ORDERS) or me.can(Permission.ASSIGN_OPPORTUNITIES)):
        _cancel(me, opportunity_id, pending)
    if not may_order:
        return
    st.markdown(f"**{t('New order')}**")
    if pending:
        st.caption(t("An order is waiting for payment: cancel it to offer something else."))
    elif not products:
        st.caption(t("This business line offers no products yet."))
    else:
        _order_form(me, opportunity_id, products, limit)
