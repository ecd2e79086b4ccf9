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

st.title(t("Set up your company"))
st.caption(
    t(
        "This console has no accounts yet. Enter the one-time setup token printed where the console was started, then name the company and its first administrator."
    )
)
zones = list(zone_names())
with st.form("crm_setup"):
    token = st.text_input(
        t("Setup token"),
        type="password",
        help=t("Printed in the output of `CRM_DEMO=0 ./run.sh` (or `python -m db.setup --token`)."),
        key="setup_token",
    )
    company = st.text_input(t("Company name"), max_chars=120, key="setup_company")
    zone = st.selectbox(
        t("Company time zone"), zones, index=zones.index(DEFAULT_ZONE), key="setup_zone"
    )
    currency = st.text_input(
        t("Currency (ISO code)"), value="CNY", max_chars=3, key="setup_currency"
    )
    username = st.text_input(t("Administrator's username"), max_chars=80, key="setup_username")
    full_name = st.text_input(t("Administrator's full name"), max_chars=120, key="setup_full_name")
    password = st.text_input(t("Password"), type="password", key="setup_password")
    again = st.text_input(t("Password again"), type="password", key="setup_again")
    submitted = st.form_submit_button(t("Create the company"))

if submitted:
    # The try is counted (and committed) on its own, so a refused form still counts it.
    with session() as s:
        check = check_setup_token(s, token)
    if not check.ok:
        st.error(tmd(check.key, minutes=check.minutes))
    elif password != again:
        st.error(t("The two passwords differ."))
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
