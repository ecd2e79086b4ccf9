"""The setup page of an empty console (issue 18, item 1): while the database holds no
account, the only page. Whoever holds the one-time token printed by `CRM_DEMO=0 ./run.sh`
names the company, its time zone and currency and its first administrator; the core
(`crm_core.org.setup`) does the same as `python -m db.setup`."""

from __future__ import annotations

import streamlit as st

from crm_core.org.setup import check_setup_token, create_company_with_token
from crm_core.platform.company_time import DEFAULT_ZONE, zone_names
from crm_core.platform.errors import CrmError
from ui.company_time import forget_zone
from ui.db import session
from ui.i18n import show_error, t, tmd

SETUP_DONE = "crm_setup_done"

st.title(t("setup.title"))
st.caption(t("setup.intro"))
zones = list(zone_names())
with st.form("crm_setup"):
    token = st.text_input(
        t("setup.token"), type="password", help=t("setup.token_help"), key="setup_token"
    )
    company = st.text_input(t("setup.company_name"), max_chars=120, key="setup_company")
    zone = st.selectbox(
        t("setup.time_zone"), zones, index=zones.index(DEFAULT_ZONE), key="setup_zone"
    )
    currency = st.text_input(t("setup.currency"), value="CNY", max_chars=3, key="setup_currency")
    username = st.text_input(t("setup.admin_username"), max_chars=80, key="setup_username")
    full_name = st.text_input(t("setup.admin_full_name"), max_chars=120, key="setup_full_name")
    password = st.text_input(t("setup.password"), type="password", key="setup_password")
    again = st.text_input(t("setup.password_again"), type="password", key="setup_again")
    submitted = st.form_submit_button(t("setup.submit"))

if submitted:
    # The try is counted (and committed) on its own, so a refused form still counts it.
    with session() as s:
        check = check_setup_token(s, token)
    if not check.ok:
        if check.key == "setup.error.locked":
            st.error(tmd("setup.error.locked", minutes=check.minutes))
        else:
            st.error(t("setup.error.token"))
    elif password != again:
        st.error(t("setup.error.passwords_differ"))
    else:
        try:
            with session() as s:
                create_company_with_token(
                    s,
                    token,
                    company_name=company,
                    time_zone=zone,
                    currency=currency,
                    admin_username=username,
                    admin_password=password,
                    admin_full_name=full_name,
                )
        except CrmError as error:
            show_error(error)
        else:
            forget_zone()
            st.session_state[SETUP_DONE] = (company.strip(), username.strip().lower())
            st.rerun()
