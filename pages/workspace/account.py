"""My account: profile, language and password."""

from __future__ import annotations

import streamlit as st

from crm_core.org.auth import change_password
from crm_core.platform.errors import CrmError
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
