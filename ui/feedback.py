"""Messages that survive the rerun after an action."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import tmd

_KEY = "crm_flash"


def flash(key: str, **params: Any) -> None:
    """Show `key` as a success message on the next run; `params` show literally."""
    st.session_state[_KEY] = (key, params)


def show_flash() -> None:
    """Show and forget the pending message, if any."""
    item = st.session_state.pop(_KEY, None)
    if item:
        st.success(tmd(item[0], **item[1]))
