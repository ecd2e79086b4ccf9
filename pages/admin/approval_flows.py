"""Approval flows (审批流, `manage_approval_flows`): for each kind - refunds, discounts
beyond a role's limit, transfers to another unit, re-activations - the approver roles in
order, from an amount up. Without a flow for a kind and amount the action happens at once.
Requests already waiting keep the steps they were asked with."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.approvals.flows import delete_flow, list_flows, role_choices, save_flow
from crm_core.models import APPROVAL_KINDS
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from ui.approvals import role_text, steps_text
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import show_error, t
from ui.sales import money

me = actor()
st.title(t("Approval flows"))
show_flash()
st.caption(
    t(
        "Each flow names the roles that approve, in order, from an amount up (refunds and discounts weigh the order's amount; transfers and re-activations the opportunity's expected amount). Of a kind's flows, the one with the highest threshold not above the amount applies; without one nothing waits for approval."
    )
)


def act(action, success: str) -> None:
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(success)
        st.rerun()


try:
    with session() as s:
        flows = list_flows(s, me)
        roles = role_choices(s)
except CrmError as error:
    show_error(error)
    st.stop()

if flows:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Kind"): t(label_of("approval.kind", f.kind)),
                    t("From amount"): money(f.min_amount or 0),
                    t("Steps"): steps_text(roles, f.steps, None),
                    t("On"): f.enabled,
                    t("Changed"): show_time(f.updated_at),
                }
                for f in flows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.info(t("No approval flow yet: everything happens at once, as before."))

by_id = {f.id: f for f in flows}
st.subheader(t("Add or change a flow"))
chosen = st.selectbox(
    t("Flow"),
    [None, *by_id],
    key="flows_choice",
    format_func=lambda i: (
        t("A new flow")
        if i is None
        else f"{t(label_of('approval.kind', by_id[i].kind))} ≥ {money(by_id[i].min_amount or 0)}"
    ),
)
flow = by_id.get(chosen)
suffix = str(chosen or "new")
kind = st.selectbox(
    t("Kind"),
    list(APPROVAL_KINDS),
    index=APPROVAL_KINDS.index(flow.kind) if flow else 0,
    key=f"flows_kind_{suffix}",
    format_func=lambda k: t(label_of("approval.kind", k)),
    disabled=flow is not None,
)
floor = st.text_input(
    t("From amount (blank: any amount)"),
    value="" if flow is None or flow.min_amount is None else str(flow.min_amount),
    key=f"flows_floor_{suffix}",
)
steps = st.multiselect(
    t("Approver roles, in order"),
    list(roles),
    default=list(flow.steps) if flow else [],
    key=f"flows_steps_{suffix}",
    format_func=lambda r: role_text(roles, r),
)
enabled = st.checkbox(t("On"), value=flow.enabled if flow else True, key=f"flows_on_{suffix}")
save, remove = st.columns(2)
if save.button(t("Save flow"), key="flows_save", type="primary"):
    act(
        lambda s: save_flow(s, me, kind, floor, steps, enabled=enabled, flow_id=chosen),
        N_("Approval flow saved."),
    )
if flow is not None and remove.button(t("Remove flow"), key="flows_remove"):
    act(lambda s: delete_flow(s, me, flow.id), N_("Approval flow removed."))
