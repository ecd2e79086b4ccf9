"""The API keys page's actions, as `on_click` callbacks: each runs one core call in its own
transaction and leaves what to show next (the new key, once; a notice; an error) in the
session state."""

from __future__ import annotations

import streamlit as st

from crm_core.leads.api_keys import create_api_key, revoke_api_key, rotate_api_key
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_
from ui.context import actor
from ui.db import session
from ui.i18n import error_markdown, t

SHOWN = "api_keys_shown"  # (key name, whole key): shown once, then gone
NOTICE = "api_keys_notice"
ERROR = "api_keys_error"


def create_key() -> None:
    """Create a key from the form's fields (`api_key_name`, `api_key_channels`, ...)."""
    state = st.session_state
    try:
        with session() as s:
            key, token = create_api_key(
                s,
                actor(),
                state.get("api_key_name", ""),
                state.get("api_key_channels", []),
                state.get("api_key_lines", []),
                requests_per_minute=int(state.get("api_key_rate", 600)),
            )
    except CrmError as error:
        state[ERROR] = error_markdown(error)
        return
    state[SHOWN] = (key.name, token)
    state[NOTICE] = t(N_("API key {name} created."), name=key.name)


def rotate_key(key_id: int, name: str) -> None:
    try:
        with session() as s:
            token = rotate_api_key(s, actor(), key_id)
    except CrmError as error:
        st.session_state[ERROR] = error_markdown(error)
        return
    st.session_state[SHOWN] = (name, token)
    st.session_state[NOTICE] = t(
        N_("API key {name} rotated: the old key no longer works."), name=name
    )


def revoke_key(key_id: int, name: str) -> None:
    try:
        with session() as s:
            revoke_api_key(s, actor(), key_id)
    except CrmError as error:
        st.session_state[ERROR] = error_markdown(error)
        return
    st.session_state[NOTICE] = t(N_("API key {name} revoked."), name=name)
