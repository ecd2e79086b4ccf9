"""The console's entry point: sign-in, then the pages of the user's roles.

Everything runs inside `ui.guard.run_guarded`: an unexpected error shows as a message with
an error number (its traceback goes to the server log), never as a traceback."""

from __future__ import annotations

import streamlit as st

from crm_core.org.setup import needs_setup
from crm_core.org.users import set_language
from crm_core.platform.i18n import LANGUAGES
from ui import auth, options
from ui.company_time import zone_caption
from ui.db import session
from ui.guard import run_guarded
from ui.i18n import language, t, tmd
from ui.navigation import build_navigation

st.set_page_config(page_title="CRM", page_icon=":material/handshake:", layout="wide")


def _needs_setup() -> bool:
    # Once the company has accounts it keeps them: this browser session asks no more.
    if st.session_state.get("crm_has_accounts"):
        return False
    with session() as s:
        empty = needs_setup(s)
    st.session_state["crm_has_accounts"] = not empty
    return empty


def main() -> None:
    options.forget()  # the option lists are read once per run, on first use
    if _needs_setup():
        # An empty database: the only page is the setup page (crm_core.org.setup).
        setup = st.Page("pages/setup/company.py", title=t("Set up your company"), url_path="setup")
        st.navigation([setup], position="hidden").run()
        st.stop()
    actor = auth.current_actor()
    if actor is None:
        # Navigation comes before any widget, so the form's widgets keep their identity.
        login = st.Page(auth.login_page, title=t("Sign in"), url_path="login")
        navigation = st.navigation([login], position="hidden")
        done = st.session_state.pop("crm_setup_done", None)
        if done:
            st.success(
                tmd(
                    "The company {company} is ready. Sign in as {username}; you will be asked to choose a new password.",
                    company=done[0],
                    username=done[1],
                )
            )
        navigation.run()
        if st.session_state.get("authentication_status"):
            st.rerun()  # signed in: start over with the user's pages
        st.stop()

    st.session_state["crm_actor"] = actor
    navigation = build_navigation(actor, st.session_state.get("crm_must_change_password", False))

    with st.sidebar:
        st.caption(tmd("Signed in as {name}", name=actor.full_name))
        # Every time on every page is company time (ui.company_time): said once per page.
        zone_caption()
        codes = list(LANGUAGES)
        chosen = st.selectbox(
            t("Language"),
            codes,
            index=codes.index(language()),
            format_func=LANGUAGES.get,
            key="crm_language_picker",
        )
        if chosen != language():
            with session() as s:
                set_language(s, actor, chosen)
            st.session_state["crm_language"] = chosen
            st.rerun()
        if st.button(t("Log out"), key="crm_logout", icon=":material/logout:"):
            auth.log_out(actor)
            st.rerun()

    navigation.run()


run_guarded(main)
