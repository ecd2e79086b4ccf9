"""Settings (admins): sign-in lockout and session length."""

from __future__ import annotations

import streamlit as st

from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.settings import DEFINITIONS, all_settings, set_setting
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t

me = actor()
st.title(t("Settings"))
st.caption(t("Settings apply to everyone at once."))
with session() as s:
    current = all_settings(s, me)

with st.form("settings"):
    values = {}
    for key, definition in DEFINITIONS.items():
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
        st.success(t("Settings saved."))
