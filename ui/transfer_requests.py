"""The transfer requests waiting for a manager, on the manager desk: what the rep asked and
why, and the decision - to a rep, to the public pool, or no."""

from __future__ import annotations

import streamlit as st

from crm_core.approvals.entry import decide_transfer_routed
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_
from crm_core.sales.transfers import list_transfer_requests
from ui.circulation import number
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t, tmd
from ui.inputs import text_input
from ui.sales import line_text, local, open_link


def _decide(
    me: Actor, request_id: int, *, approve: bool, to_user_id: int | None, note: str, success: str
) -> None:
    try:
        with session() as s:
            routed = decide_transfer_routed(
                s, me, request_id, approve=approve, to_user_id=to_user_id, note=note
            )
    except CrmError as error:
        show_error(error)
    else:
        if routed.sent:
            flash(N_("The move to another unit is sent for approval (see Approvals)."))
        else:
            flash(success)
        st.rerun()


def show_transfer_requests(me: Actor, names: dict[int, str]) -> None:
    """The pending requests in the manager's reach, each with its decision."""
    with session() as s:
        requests = list_transfer_requests(s, me)
    label = t("Transfer requests ({count})", count=number(len(requests)))
    with st.expander(label, expanded=bool(requests), icon=":material/move_up:"):
        if not requests:
            st.caption(t("No rep is waiting for a transfer."))
            return
        for request in requests:
            with st.container(border=True):
                open_link(
                    request.opportunity_id,
                    line_text(
                        request.opportunity_id,
                        request.lead_name,
                        request.requested_by,
                        local(request.created_at),
                    ),
                )
                st.markdown(tmd("Why: {reason}", reason=request.reason))
                choices = [u for u in names if u not in (request.requested_by_id, me.user_id)]
                default = (
                    choices.index(request.suggested_owner_id)
                    if request.suggested_owner_id in choices
                    else None
                )
                left, right = st.columns([2, 3])
                rep = left.selectbox(
                    t("Give it to"),
                    choices,
                    index=default,
                    key=f"transfer_to_{request.id}",
                    format_func=names.get,
                    placeholder=t(NC_("transfers", "Choose a rep")),
                )
                note = text_input(
                    t("Note to the rep (optional)"),
                    key=f"transfer_note_{request.id}",
                    container=right,
                )
                give, pool, refuse = st.columns(3)
                if give.button(
                    t("Give to this rep"),
                    key=f"transfer_give_{request.id}",
                    disabled=rep is None,
                    type="primary",
                ):
                    _decide(
                        me,
                        request.id,
                        approve=True,
                        to_user_id=rep,
                        note=note,
                        success=N_("Transferred; the rep has been told."),
                    )
                if pool.button(t("Return to the pool"), key=f"transfer_pool_{request.id}"):
                    _decide(
                        me,
                        request.id,
                        approve=True,
                        to_user_id=None,
                        note=note,
                        success=N_("Returned to the pool; the rep has been told."),
                    )
                if refuse.button(t("Reject"), key=f"transfer_reject_{request.id}"):
                    _decide(
                        me,
                        request.id,
                        approve=False,
                        to_user_id=None,
                        note=note,
                        success=N_("Rejected; the rep has been told."),
                    )
