"""Settings (admins): the company (name, time zone, currency), sign-in lockout and session
length, the worker's rhythm."""

from __future__ import annotations

import streamlit as st

from crm_core.platform.company_time import zone_names
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.settings import DEFINITIONS, all_settings, set_setting
from ui.company_time import forget_zone
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t

# The company's own settings are text, with labels of their own; the rest are numbers.
COMPANY_LABELS = {
    "company.name": N_("Company name"),
    "company.currency": N_("Currency (ISO code)"),
}

me = actor()
st.title(t("Settings"))
st.caption(t("Settings apply to everyone at once."))
with session() as s:
    current = all_settings(s, me)

with st.form("settings"):
    values = {}
    zones = list(zone_names())
    zone = current["company.time_zone"]
    if zone not in zones:
        zones.insert(0, zone)
    values["company.time_zone"] = st.selectbox(
        t("Company time zone"), zones, index=zones.index(zone), key="setting_company.time_zone"
    )
    won_at = ("deposit", "full")
    values["orders.won_at"] = st.selectbox(
        t(label_of("settings", "orders.won_at")),
        won_at,
        index=won_at.index(current["orders.won_at"]) if current["orders.won_at"] in won_at else 0,
        format_func=lambda code: t(label_of("orders.won_at", code)),
        key="setting_orders.won_at",
    )
    for key, label in COMPANY_LABELS.items():
        values[key] = st.text_input(t(label), value=current[key], key=f"setting_{key}").strip()
    for key, definition in DEFINITIONS.items():
        if definition.kind is str or key.startswith("sms."):
            continue  # text settings have their own fields; SMS ones sit on the SMS page
        kwargs = {
            "min_value": definition.kind(definition.minimum),
            "max_value": definition.kind(definition.maximum),
        }
        values[key] = st.number_input(
            t(label_of("settings", key)),
            value=definition.kind(current[key]),
            key=f"setting_{key}",
            **kwargs,
        )
    submitted = st.form_submit_button(t("Save settings"))
if submitted:
    try:
        with session() as s:
            for key, value in values.items():
                if value != current[key]:
                    set_setting(s, me, key, value)
    except CrmError as error:
        show_error(error)
    else:
        forget_zone()
        st.success(t("Settings saved."))
