"""Click-to-call on the opportunity: the button rings the rep's seat, then the customer; the
call's state follows on the page without a reload until it ends."""

from __future__ import annotations

import streamlit as st

from crm_core.calls.dialing import call_status, click_to_call_ready, place_call, start_call
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t

_CALL = "opp_call"


def call_button(opportunity_id: int) -> None:
    """The "call from my seat" button of an open opportunity, and the call's state."""
    me = actor()
    try:
        with session() as s:
            ready = click_to_call_ready(s, me)
    except CrmError as error:
        show_error(error)
        return
    if not ready:
        return
    if st.button(t("Call from my seat"), icon=":material/phone_in_talk:", key="opp_call_button"):
        try:
            with session() as s:
                call_id = start_call(s, me, opportunity_id)
            with session() as s:  # the vendor is asked outside the write of the attempt
                place_call(s, me, call_id)
        except CrmError as error:
            show_error(error)
            return
        st.session_state[_CALL] = (opportunity_id, call_id)
    current = st.session_state.get(_CALL)
    if current and current[0] == opportunity_id:
        _status(current[1])


@st.fragment(run_every=3)
def _status(call_id: int) -> None:
    try:
        with session() as s:
            status = call_status(s, actor(), call_id)
    except CrmError as error:
        show_error(error)
        return
    text = t(label_of("call.state", status.state))
    if status.state == "ended":
        text += " · " + t(label_of("call.result", status.result or "answered"))
        if status.duration_s is not None:
            text += " · " + t("{seconds} s", seconds=status.duration_s)
    if status.state == "failed" and status.error:
        st.warning(t("The call could not be placed: {reason}", reason=status.error))
    else:
        st.caption(text)
