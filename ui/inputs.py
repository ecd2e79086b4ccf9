"""Every text a person types, as the pages receive it: without NUL characters and no longer
than the box allows.

PostgreSQL cannot store or compare a NUL character, and a pasted page of text in a search
box made SQLite refuse the query: both ended in a traceback. So pages draw text boxes with
these functions instead of `st.text_input` / `st.text_area`. `max_chars` is kept by
Streamlit on the server too (a crafted request cannot exceed it), and NUL characters are
dropped from what the page gets back. (Password boxes are the sign-in code's own.)
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.platform.search_keys import SEARCH_MAX_CHARS

# A name, a code, a campaign, a short note: the longest such column holds 200 characters.
TEXT_MAX_CHARS = 200
# A follow-up's content or another long note.
NOTE_MAX_CHARS = 4000


def clean_text(value: str | None) -> str:
    """What a person typed, without NUL characters; "" for nothing."""
    return (value or "").replace("\x00", "")


def text_input(
    label: str, *, container: Any = None, max_chars: int = TEXT_MAX_CHARS, **kwargs: Any
) -> str:
    """`st.text_input` in `container` (default: the page), at most `max_chars` long, its
    value without NUL characters. `label` is Markdown: pass static text or `tmd` output."""
    widget = (container or st).text_input(label, max_chars=max_chars, **kwargs)
    return clean_text(widget)


def search_input(label: str, *, container: Any = None, **kwargs: Any) -> str:
    """A search box: a text input as long as the core's searches take."""
    return text_input(label, container=container, max_chars=SEARCH_MAX_CHARS, **kwargs)


def text_area(
    label: str, *, container: Any = None, max_chars: int = NOTE_MAX_CHARS, **kwargs: Any
) -> str:
    """`st.text_area`, at most `max_chars` long, its value without NUL characters."""
    widget = (container or st).text_area(label, max_chars=max_chars, **kwargs)
    return clean_text(widget)
