"""Click-to-call, shared by the opportunity page and the workbench: the button rings the rep's
seat, then the customer; the call's state follows on the page without a reload until it
ends. Both go through the same core calls (`crm_core.calls.dialing`): the same permission,
scope and record of the attempt."""

from __future__ import annotations

import streamlit as st

from crm_core.calls.dialing import call_readiness, call_status, place_call, start_call
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t

_CALL = "opp_call"  # (opportunity id, call id) of the call this browser placed last


def _readiness() -> str | None:
    """`call_readiness` for the signed-in user; None (the error shown) when it fails."""
    try:
        with session() as s:
            return call_readiness(s, actor())
    except CrmError as error:
        show_error(error)
        return None


def call_button(opportunity_id: int, *, key: str = "opp", checked: bool = False) -> None:
    """The "call from my seat" button of an open opportunity, and the call's state. Shown
    only when the user can call (`checked`: the caller has made sure of that already);
    `key` tells the pages' buttons apart."""
    if not checked and _readiness() != "ready":
        return
    if st.button(t("Call from my seat"), icon=":material/phone_in_talk:", key=f"{key}_call_button"):
        me = actor()
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


def call_picker(choices: dict[int, str], *, key: str = "bench") -> None:
    """Click-to-call among `choices` (opportunity id -> its line's text), for a page that
    lists many opportunities: pick one, call it. Nothing when calling is off; a short reason
    when the company calls but the user has no seat."""
    readiness = _readiness()
    if readiness == "no_seat":
        st.caption(
            t("Click-to-call needs a seat on an active line: ask the call-centre administrator.")
        )
    if readiness != "ready" or not choices:
        return
    ids = list(choices)
    picked = st.selectbox(
        t("Opportunity to call"), ids, format_func=choices.get, key=f"{key}_call_pick"
    )
    if picked is not None:
        call_button(picked, key=key, checked=True)


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
