"""Discount approvals (approve_discounts): orders whose discount is above their creator's
limit, on opportunities the approver reaches; approve or reject each with a note.

`crm_core.commerce.orders.decide_discount` checks the approver's scope and limit and refuses their own
orders; rejecting cancels the order. Both tell the order's creator.
"""

from __future__ import annotations

import streamlit as st

from crm_core.commerce.order_listing import OrderFilter, discount_requests
from crm_core.commerce.orders import decide_discount, discount_within
from crm_core.org.users import discount_limit
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import list_business_lines
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.inputs import search_input, text_input
from ui.orders import order_frame, yuan
from ui.sales import DETAIL_PAGE, local
from ui.tables import open_table

PAGE_SIZE = 50
_NOTICE = "approvals_notice"

me = actor()
st.title(t("Discount approvals"))
st.caption(
    t(
        "Orders whose discount is above their creator's limit. Rejecting a discount cancels the order."
    )
)
text = st.session_state.pop(_NOTICE, None)
if text:
    st.success(text)

with session() as s:
    # A filter over existing rows: disabled lines too.
    lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}
    limit = discount_limit(s, me)
st.caption(t("You may approve discounts of up to {limit}%.", limit=limit))
left, middle, right = st.columns([3, 2, 1])
search = search_input(
    t("Order number, payment reference or name"), key="approvals_search", container=left
)
line = middle.selectbox(
    t("Business line"),
    [None, *lines],
    key="approvals_line",
    format_func=lambda i: t("All business lines") if i is None else lines[i],
)
page_number = right.number_input(t("Page"), min_value=1, step=1, key="approvals_page")
filters = OrderFilter(search=search or None, business_line_id=line)
try:
    with session() as s:
        page = discount_requests(
            s, me, filters, limit=PAGE_SIZE, offset=(int(page_number) - 1) * PAGE_SIZE
        )
except CrmError as error:
    show_error(error)
    st.stop()
st.caption(t("{total} orders", total=page.total))
if not page.rows:
    st.info(t("No discount waits for your approval."))
    st.stop()

frame = order_frame(page.rows, payment=False)
frame[t("Opportunity")] = [f"#{r.opportunity_id} {r.lead_name}" for r in page.rows]
frame[t("Note")] = [r.note or "" for r in page.rows]
frame[t("Made at")] = [local(r.created_at) for r in page.rows]
frame[t("Within your limit")] = [
    t("Yes") if discount_within(r.list_price, r.amount, limit) else t("No") for r in page.rows
]
open_table(
    frame, [r.opportunity_id for r in page.rows], key="approvals_rows", open_page=DETAIL_PAGE
)
st.caption(t("Click a row to open the opportunity."))

st.subheader(t("Decide"))
by_id = {r.id: r for r in page.rows}
if st.session_state.get("approvals_choice") not in by_id:  # e.g. it was just decided
    st.session_state.pop("approvals_choice", None)
chosen = st.selectbox(
    t("Order"),
    list(by_id),
    key="approvals_choice",
    format_func=lambda i: (
        f"{by_id[i].number} · {by_id[i].lead_name} · {yuan(by_id[i].amount)}"
        f" (-{by_id[i].discount_pct}%)"
    ),
)
generation = st.session_state.setdefault("approvals_gen", 0)
note = text_input(t("Note to the creator (optional)"), key=f"approvals_note_{generation}")
approve_col, reject_col = st.columns(2)
approve = approve_col.button(t("Approve"), key="approvals_approve", type="primary")
reject = reject_col.button(t("Reject"), key="approvals_reject")
if approve or reject:
    try:
        with session() as s:
            decide_discount(s, me, chosen, approve, note)
    except CrmError as error:
        show_error(error)
    else:
        key = (
            N_("The discount of order {number} is approved: it can be paid.")
            if approve
            else N_("The discount of order {number} is rejected: the order is cancelled.")
        )
        st.session_state[_NOTICE] = t(key, number=by_id[chosen].number)
        st.session_state["approvals_gen"] = generation + 1
        st.rerun()
