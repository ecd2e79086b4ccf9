"""`t()` for pages: translate in the current user's language."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, error_text, translate


def language() -> str:
    lang = st.session_state.get("crm_language", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **params: Any) -> str:
    return translate(key, language(), **params)


def show_error(error: Exception) -> None:
    """A core error in the user's language."""
    st.error(error_text(error, language()))
