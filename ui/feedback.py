"""Messages that survive the rerun after an action."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import ntmd, tmd

_KEY = "crm_flash"


def flash(message: str | tuple[str, str], **params: Any) -> None:
    """Show `message` as a success message on the next run; `params` show literally. A
    message marked `NP_(singular, plural)` takes the form of its count `n` (an int)."""
    st.session_state[_KEY] = (message, params)


def show_flash() -> None:
    """Show and forget the pending message, if any."""
    item = st.session_state.pop(_KEY, None)
    if item:
        message, params = item
        if isinstance(message, tuple):
            n = params.pop("n")
            st.success(ntmd(*message, n, **params))
        else:
            st.success(tmd(message, **params))
