"""Products (manage_products): the catalogue of each business line - add, edit, deactivate.

Every change goes through `crm_core.commerce.products`, which checks and audits it; a success starts
the page over so the table shows the new state. Orders keep the price they were made at.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from crm_core.commerce.products import (
    create_product,
    list_products,
    set_product_active,
    update_product,
)
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.metadata import list_business_lines
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t, tmd
from ui.inputs import text_input
from ui.orders import yuan

_NOTICE = "products_notice"

me = actor()
st.title(t("Products"))
st.caption(
    t(
        "What each business line sells. Orders keep the price they were made at; a deactivated product is no longer offered."
    )
)
text = st.session_state.pop(_NOTICE, None)
if text:
    st.success(text)

with session() as s:
    lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}
if not lines:
    st.info(t("There is no business line yet."))
    st.stop()
line_id = st.selectbox(t("Business line"), list(lines), format_func=lines.get, key="products_line")
show_inactive = st.checkbox(t("Show deactivated products"), key="products_show_inactive")
with session() as s:
    products = list_products(s, me, line_id, active_only=not show_inactive)
by_id = {p.id: p for p in products}


def attempt(action, success: str) -> None:
    """Run `action(session)`; a refusal shows here, a success (Markdown, built with `tmd`)
    after the page starts over."""
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
        return
    st.session_state[_NOTICE] = success
    gen = st.session_state.get("products_gen", 0)
    st.session_state["products_gen"] = gen + 1  # fresh, empty forms
    st.rerun()


def price(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def days(value: int) -> int | None:
    return int(value) or None  # 0: no fixed course length


if products:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Code"): p.code,
                    t(NC_("products", "Name")): p.name,
                    t("List price (¥)"): yuan(p.list_price),
                    t("Course days"): p.course_days or "",
                    t("Offered"): t("Yes") if p.active else t("No"),
                }
                for p in products
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption(t("This business line has no products yet."))

gen = st.session_state.get("products_gen", 0)
st.subheader(t("Add a product"))
with st.form(f"products_new_{gen}"):
    code = text_input(t("Code"), key=f"products_new_code_{gen}")
    name = text_input(t(NC_("products", "Name")), key=f"products_new_name_{gen}")
    list_price = st.number_input(
        t("List price (¥)"),
        min_value=0.0,
        step=100.0,
        format="%.2f",
        key=f"products_new_price_{gen}",
    )
    course_days = st.number_input(
        t("Course days"),
        min_value=0,
        step=1,
        help=t("How long the course runs after payment; 0 for no fixed length."),
        key=f"products_new_days_{gen}",
    )
    add = st.form_submit_button(t("Add product"))
if add:
    fields = {
        "business_line_id": line_id,
        "code": code,
        "name": name,
        "list_price": price(list_price),
        "course_days": days(course_days),
    }
    attempt(
        lambda s: create_product(s, me, **fields), tmd("Product {code} added.", code=code.strip())
    )

if by_id:
    st.subheader(t("Edit a product"))
    if st.session_state.get("products_edit_choice") not in by_id:  # another line, or hidden
        st.session_state.pop("products_edit_choice", None)
    chosen_id = st.selectbox(
        t("Product"),
        list(by_id),
        key="products_edit_choice",
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].name}",
    )
    chosen = by_id[chosen_id]
    with st.form(f"products_edit_{chosen_id}_{gen}"):
        edit_code = text_input(t("Code"), value=chosen.code)
        edit_name = text_input(t(NC_("products", "Name")), value=chosen.name)
        edit_price = st.number_input(
            t("List price (¥)"),
            min_value=0.0,
            step=100.0,
            format="%.2f",
            value=float(chosen.list_price),
        )
        edit_days = st.number_input(
            t("Course days"), min_value=0, step=1, value=chosen.course_days or 0
        )
        save = st.form_submit_button(t("Save product"))
    if save:
        fields = {
            "code": edit_code,
            "name": edit_name,
            "list_price": price(edit_price),
            "course_days": days(edit_days),
        }
        attempt(
            lambda s: update_product(s, me, chosen_id, **fields),
            tmd("Product {code} saved.", code=edit_code.strip()),
        )
    toggle = N_("Deactivate") if chosen.active else N_("Offer again")
    if st.button(t(toggle), key=f"products_toggle_{chosen_id}"):
        attempt(
            lambda s: set_product_active(s, me, chosen_id, not chosen.active),
            tmd(f"{toggle}d", code=chosen.code),
        )
