"""Tables people act on: a check box on each row picks it for the page's bulk actions, and a
click on a row's cell opens the row's record. The picks are this page's rows only: a new
page, filter or sort starts with nothing checked, so a bulk action never reaches rows the
user did not see checked."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from ui.context import actor
from ui.navigation import may_open


def _version(ids: list[Any]) -> str:
    """A short fingerprint of the rows shown: the table's widget changes with them."""
    return format(zlib.crc32(",".join(map(str, ids)).encode()), "x")


def pick_table(
    frame: pd.DataFrame,
    ids: list[int],
    *,
    key: str,
    view: str,
    open_page: str | None = None,
    on_open: Callable[[int], None] | None = None,
    column_config: dict | None = None,
) -> list[int]:
    """Show `frame` (one row per id of `ids`, in order) and return the ids checked on it,
    kept in `st.session_state[key]`. `view` names what the table shows (filters, page):
    while it stays the same, a row checked on the last run that has since left the table
    (someone else took it) stays picked, so the action says what became of it; another view
    starts with nothing checked. With `open_page`, a click on a row's cell opens that page
    with `?id=<the row's id>`; with `on_open`, it calls `on_open(id)` (a record shown on the
    same page) before the page's next run."""
    opening = st.session_state.pop(f"{key}_open", None)
    if opening is not None and open_page is not None:
        st.switch_page(open_page, query_params={"id": str(opening)})
    same_view = st.session_state.get(f"{key}_view") == view
    seen = set(st.session_state.get(f"{key}_shown", [])) if same_view else set()
    st.session_state[f"{key}_view"] = view
    widget = f"{key}_table_{_version(ids)}_{zlib.crc32(view.encode()):x}"
    st.session_state[f"{key}_shown"] = list(ids)

    def changed() -> None:
        selection = st.session_state[widget].selection
        shown = st.session_state.get(f"{key}_shown", [])
        st.session_state[key] = [shown[row] for row in selection.rows if row < len(shown)]
        cells = getattr(selection, "cells", None) or []
        if cells and cells[0][0] < len(shown):
            if on_open is not None:
                on_open(shown[cells[0][0]])
            elif open_page is not None:
                st.session_state[f"{key}_open"] = shown[cells[0][0]]

    opens = open_page is not None or on_open is not None
    modes = ["multi-row", "single-cell"] if opens else ["multi-row"]
    st.dataframe(
        frame,
        key=widget,
        on_select=changed,
        selection_mode=modes,
        hide_index=True,
        width="stretch",
        column_config=column_config,
    )
    # Only rows of this view count; anything picked elsewhere is dropped, never kept.
    allowed = set(ids) | seen
    picked = [i for i in st.session_state.get(key) or [] if i in allowed]
    st.session_state[key] = picked
    return picked


def open_table(
    frame: pd.DataFrame | Any,
    targets: list[Any],
    *,
    key: str,
    open_page: str,
    column_config: dict | None = None,
    params_of: Callable[[Any], dict[str, str]] | None = None,
) -> bool:
    """Show `frame` (a data frame or its styler), a click on a row's cell opening what the
    row names on `open_page`: `targets` holds one entry per row, an id (`?id=`) or, with
    `params_of`, anything that gives the link's query parameters (a dashboard drill-down
    keeps its period). Where the reader may not open `open_page`, the rows are plain.
    Return whether the rows open."""
    if not may_open(actor(), open_page):
        st.dataframe(frame, key=key, hide_index=True, width="stretch", column_config=column_config)
        return False
    link = params_of or (lambda target: {"id": str(target)})
    opening = st.session_state.pop(f"{key}_open", None)
    if opening is not None:
        st.switch_page(open_page, query_params=link(opening))
    widget = f"{key}_table_{_version(targets)}"
    st.session_state[f"{key}_shown"] = list(targets)

    def changed() -> None:
        cells = st.session_state[widget].selection.cells
        shown = st.session_state.get(f"{key}_shown", [])
        if cells and cells[0][0] < len(shown):
            st.session_state[f"{key}_open"] = shown[cells[0][0]]

    st.dataframe(
        frame,
        key=widget,
        on_select=changed,
        selection_mode="single-cell",
        hide_index=True,
        width="stretch",
        column_config=column_config,
    )
    return True
