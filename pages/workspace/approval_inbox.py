"""Approvals (审批): requests waiting for my decision, the ones I asked, and every request I
can see, each with its steps and history; approve or reject the step waiting for me with a
note, withdraw my own pending request.

`crm_core.approvals.requests` checks that the approver holds the step's role, reaches the
opportunity and did not ask; the last approval carries out the request.
"""

from __future__ import annotations

import streamlit as st

from crm_core.approvals.flows import role_choices
from crm_core.approvals.listing import VIEWS, list_requests, request_histories
from crm_core.approvals.requests import decide_request, withdraw_request
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from ui.approvals import outcome_text, show_history, steps_text, what_text
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import show_error, t
from ui.inputs import text_input
from ui.sales import line_text, open_link

me = actor()
st.title(t("Approvals"))
show_flash()
st.caption(
    t(
        "Refunds, discounts beyond a role's limit, transfers to another unit and re-activations wait here for the roles of their approval flow, step by step. Nothing happens before the last approval."
    )
)
view = (
    st.segmented_control(
        t("Show"),
        list(VIEWS),
        default="waiting",
        key="approvals_view",
        format_func=lambda v: t(label_of("approval.view", v)),
    )
    or "waiting"
)
try:
    with session() as s:
        rows = list_requests(s, me, view)
        histories = request_histories(s, me, [r.id for r in rows])
        roles = role_choices(s)
except CrmError as error:
    show_error(error)
    st.stop()
if not rows:
    st.info(t("No approval request here."))
    st.stop()


def act(action, success: str, **params) -> None:
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(success, **params)
        st.rerun()


for row in rows:
    with st.container(border=True):
        state = t(label_of("approval.state", row.state))
        kind = t(label_of("approval.kind", row.kind))
        open_link(
            row.opportunity_id,
            line_text(row.opportunity_id, row.lead_name or "", kind, state),
        )
        st.markdown(what_text(row))
        st.caption(
            t(
                "Request #{id}, asked by {who} at {at}. Steps: {steps}",
                id=row.id,
                who=row.requester or "-",
                at=show_time(row.requested_at),
                steps=steps_text(
                    roles, row.steps, row.current_step if row.state == "pending" else None
                ),
            )
        )
        if row.outcome:
            st.warning(outcome_text(row))
        with st.expander(t("History")):
            show_history(histories.get(row.id, []), roles, row.steps)
        if row.state != "pending":
            continue
        if view == "waiting":
            note = text_input(t("Note (optional)"), key=f"approval_note_{row.id}")
            yes, no = st.columns(2)
            if yes.button(t("Approve"), key=f"approval_yes_{row.id}", type="primary"):
                act(
                    lambda s, i=row.id, n=note: decide_request(s, me, i, True, n),
                    N_("Request #{id} approved."),
                    id=row.id,
                )
            if no.button(t("Reject"), key=f"approval_no_{row.id}"):
                act(
                    lambda s, i=row.id, n=note: decide_request(s, me, i, False, n),
                    N_("Request #{id} rejected."),
                    id=row.id,
                )
        elif row.requested_by_id == me.user_id:
            if st.button(t("Withdraw"), key=f"approval_withdraw_{row.id}"):
                act(
                    lambda s, i=row.id: withdraw_request(s, me, i),
                    N_("Request #{id} withdrawn."),
                    id=row.id,
                )
