"""The option lists (元数据) as the pages read them: labels in the reader's language and the
codes to choose from, read once per page run for every list together (one query), whatever
the number of rows or dropdowns on the page.

Choosing offers the active options only (`choices`); showing a stored value and filtering
over history read every option, disabled ones too (`labels`, `every`). Stages keep their
fixed codes; their words are the stage list's labels, so an administrator's renaming shows
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
from sqlmodel import col, select
from streamlit.runtime.scriptrunner import get_script_run_ctx

from crm_core.models import MetadataOption
from crm_core.platform.i18n import label_of
from ui import i18n
from ui.db import session
from ui.i18n import t

_KEY = "crm_option_lists"


@dataclass
class _Lists:
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # category -> code -> label
    active: dict[str, list[str]] = field(default_factory=dict)  # category -> codes, in order
    every: dict[str, list[str]] = field(default_factory=dict)


def forget() -> None:
    """Read the lists afresh on this run (app.py calls it at the start of every run)."""
    st.session_state.pop(_KEY, None)


def _lists() -> _Lists:
    lang = i18n.language()  # looked up on the module, as ui.i18n.t does
    # Outside a page run (a widget's format_func called by a test driver) there is no
    # browser session to keep the lists in: read them afresh.
    in_run = get_script_run_ctx(suppress_warning=True) is not None
    cached = st.session_state.get(_KEY) if in_run else None
    if cached is not None and cached[0] == lang:
        return cached[1]
    lists = _Lists()
    with session() as s:
        options = s.exec(
            select(MetadataOption)
            .where(col(MetadataOption.business_line_id).is_(None))
            .order_by(MetadataOption.category, MetadataOption.sort_order, MetadataOption.code)
        ).all()
    for o in options:
        lists.labels.setdefault(o.category, {})[o.code] = o.label_en if lang == "en" else o.label_zh
        lists.every.setdefault(o.category, []).append(o.code)
        if o.active:
            lists.active.setdefault(o.category, []).append(o.code)
    if in_run:
        st.session_state[_KEY] = (lang, lists)
    return lists


def choices(category: str) -> list[str]:
    """The active codes of a list, in display order: what a form offers."""
    return list(_lists().active.get(category, []))


def every(category: str) -> list[str]:
    """Every code of a list, disabled ones too: what a filter over history offers."""
    return list(_lists().every.get(category, []))


def labels(category: str) -> dict[str, str]:
    """Code -> label in the reader's language, disabled options included."""
    return _lists().labels.get(category, {})


def option_text(category: str, code: str | None) -> str:
    """A stored code in words: its option's label, or the code itself when no option has it
    (a stage with no list entry falls back to the built-in stage words)."""
    if not code:
        return ""
    text = labels(category).get(code)
    if text:
        return text
    if category == "stage":
        return t(label_of("stage", code))
    if category == "intention_level":
        return t(label_of("intention", code))
    return code


def stage_text(code: str | None) -> str:
    """A stage in words (the stage list's label, which an administrator may have renamed)."""
    return option_text("stage", code)
