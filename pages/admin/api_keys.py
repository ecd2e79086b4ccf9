"""API keys (manage_settings): one key per source that sends leads through the intake API
(a website form, a chat widget, an ad platform) - create, rotate, revoke; each key's scope
and last use. A new or rotated key is shown once; only its hash is kept."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.leads.api_keys import (
    DEFAULT_REQUESTS_PER_MINUTE,
    MAX_REQUESTS_PER_MINUTE,
    list_api_keys,
)
from crm_core.platform.metadata import list_business_lines, list_options, option_label
from ui.api_keys import ERROR, NOTICE, SHOWN, create_key, revoke_key, rotate_key
from ui.company_time import show_time, zone_caption
from ui.context import actor
from ui.db import session
from ui.i18n import language, t, tmd

me = actor()
st.title(t("API keys"))
st.caption(
    t(
        "Websites, chat widgets and ad platforms send leads through the intake API with a key of their own. A key sends only leads of its channels and business lines."
    )
)
notice = st.session_state.pop(NOTICE, None)
if notice:
    st.success(notice)
error = st.session_state.pop(ERROR, None)
if error:
    st.error(error)
shown = st.session_state.pop(SHOWN, None)
if shown:
    st.warning(tmd("Copy the key of {name} now: it is not shown again.", name=shown[0]))
    st.code(shown[1], language=None)

with session() as s:
    keys = list_api_keys(s, me)
    channels = {o.code: option_label(o, language()) for o in list_options(s, "channel")}
    lines = {line.id: line.name for line in list_business_lines(s)}

with st.form("api_key_new", clear_on_submit=True):
    st.subheader(t("New key"))
    st.text_input(t("Source"), key="api_key_name", max_chars=120)
    st.multiselect(t("Channels"), list(channels), format_func=channels.get, key="api_key_channels")
    st.multiselect(t("Business lines"), list(lines), format_func=lines.get, key="api_key_lines")
    st.number_input(
        t("Requests per minute"),
        min_value=1,
        max_value=MAX_REQUESTS_PER_MINUTE,
        value=DEFAULT_REQUESTS_PER_MINUTE,
        key="api_key_rate",
    )
    st.form_submit_button(t("Create key"), on_click=create_key)

if not keys:
    st.info(t("There is no API key yet."))
    st.stop()

st.subheader(t("Keys"))
zone_caption()
table = pd.DataFrame(
    [
        {
            t("Source"): key.name,
            t("Key starts with"): f"crm_{key.prefix}_",
            t("Channels"): ", ".join(channels.get(c, c) for c in key.channels),
            t("Business lines"): ", ".join(key.business_lines),
            t("Requests per minute"): key.requests_per_minute,
            t("Created"): show_time(key.created_at),
            t("Last used"): show_time(key.last_used_at) if key.last_used_at else t("Never"),
            t("Status"): t("Active") if key.active else t("Revoked"),
        }
        for key in keys
    ]
)
st.dataframe(table, hide_index=True, width="stretch")

active = {key.id: key.name for key in keys if key.active}
if active:
    chosen = st.selectbox(t("Key"), list(active), format_func=active.get, key="api_key_chosen")
    left, right = st.columns(2)
    left.button(
        t("Rotate"),
        key="api_key_rotate",
        on_click=rotate_key,
        args=(chosen, active[chosen]),
        help=t("A new key replaces this one at once; the source must use the new key."),
    )
    right.button(
        t("Revoke"), key="api_key_revoke", on_click=revoke_key, args=(chosen, active[chosen])
    )
