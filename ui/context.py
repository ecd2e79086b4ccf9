"""What a page needs to know about the request: the acting user."""

from __future__ import annotations

import streamlit as st

from crm_core.platform.actor import Actor


def actor() -> Actor:
    """The signed-in user's actor, set by app.py before the page runs."""
    return st.session_state["crm_actor"]
