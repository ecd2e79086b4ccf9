"""`t()` for pages: a message in the current user's language; `tmd()` for the Markdown
elements, whose parameters are people's text (see `ui.text`); `nt()` for a count."""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from crm_core.platform.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    error_count,
    ntranslate,
    translate,
)
from ui.text import md

_last_run_language = DEFAULT_LANGUAGE


def language() -> str:
    """The reader's language. Outside a script run (a widget's `format_func` called by the
    test harness after the run) there is no session to ask: the language of the last run
    answers, not whatever session the thread saw before."""
    global _last_run_language
    if get_script_run_ctx(suppress_warning=True) is None:
        return _last_run_language
    lang = st.session_state.get("crm_language", DEFAULT_LANGUAGE)
    _last_run_language = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return _last_run_language


def t(message: str, **params: Any) -> str:
    """`message` in the user's language, as plain text: for dataframes, selectbox options,
    input values."""
    return translate(message, language(), **params)


def tmd(message: str, **params: Any) -> str:
    """`message` for anything Streamlit renders as Markdown (titles, captions, alerts,
    labels, ...): the translation's own Markdown stays, every parameter is shown
    literally."""
    return translate(message, language(), **{name: md(value) for name, value in params.items()})


def nt(singular: str, plural: str, n: int, **params: Any) -> str:
    """The form of a message that fits the count `n` (`{n}` in the message)."""
    return ntranslate(singular, plural, n, language(), **params)


def ntmd(singular: str, plural: str, n: int, **params: Any) -> str:
    """`nt` for Markdown: every parameter is shown literally (see `tmd`)."""
    escaped = {name: md(value) for name, value in params.items()}
    return ntranslate(singular, plural, n, language(), **escaped)


def error_markdown(error: Exception) -> str:
    """A core error in the user's language, for a Markdown element: its parameters (a
    value from a form or a file, say) are shown literally."""
    key = getattr(error, "key", None)
    if key is None:
        return md(str(error))
    params = getattr(error, "params", {})
    plural = getattr(error, "plural", None)
    if plural is not None:
        return ntmd(key, plural, error_count(params), **params)
    return tmd(key, **params)


def show_error(error: Exception) -> None:
    """A core error in the user's language."""
    st.error(error_markdown(error))
