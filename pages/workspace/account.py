"""My account: profile, which notices are pushed to work chat, and password."""

from __future__ import annotations

import streamlit as st

from crm_core.org.auth import change_password
from crm_core.platform.errors import CrmError
from crm_core.work_chat.kinds import PUSH_KINDS
from crm_core.work_chat.opt_in import my_push_kinds, set_my_push_kinds
from ui import auth
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.text import md

me = actor()
st.title(t("My account"))
if st.session_state.get("crm_must_change_password"):
    st.warning(t("Please choose a new password before you continue."))

st.subheader(t("Profile"))
st.markdown(f"**{t('Username')}**: {md(me.username)}")

st.subheader(t("Work-chat notices"))
st.caption(
    t(
        "Chosen notices are also pushed to your unit's WeCom or DingTalk group, naming you. They always stay here in the app. Nothing is pushed until you choose."
    )
)
with session() as s:
    pushed = my_push_kinds(s, me)
with st.form("work_chat_opt_in"):
    wanted = {
        kind: st.checkbox(t(label), value=kind in pushed, key=f"push_{kind}")
        for kind, label in PUSH_KINDS.items()
    }
    if st.form_submit_button(t("Save my choices")):
        try:
            with session() as s:
                set_my_push_kinds(s, me, {kind for kind, on in wanted.items() if on})
        except CrmError as error:
            show_error(error)
        else:
            st.success(t("Your choices are saved."))

st.subheader(t("Change password"))
with st.form("change_password", clear_on_submit=True):
    old = st.text_input(t("Current password"), type="password")
    new = st.text_input(t("New password"), type="password")
    repeat = st.text_input(t("Repeat the new password"), type="password")
    submitted = st.form_submit_button(t("Change password"))
if submitted:
    if new != repeat:
        st.error(t("The two new passwords differ."))
    else:
        try:
            with session() as s:
                change_password(s, me, old, new)
        except CrmError as error:
            show_error(error)
        else:
            auth.password_changed()
            st.session_state["crm_must_change_password"] = False
            st.success(t("Password changed. Your other sessions have been signed out."))
