"""What the file import pages share: the uploader that starts fresh once a file is imported,
the column mapping, the placeholders, the preview kept for the Import button, the import run
on the next script run, the bad rows with their download, and the mode picker.

The Import button only remembers which preview was on screen and the chosen mode; the next
run imports exactly that preview, after app.py has checked the session again. The file is
never re-read between the preview and the import. Every text comes from the page, so each
import keeps its own translation keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from sqlmodel import Session

from crm_core.imports.file_import import MODES, split_placeholders
from crm_core.imports.tabular import read_table
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS
from crm_core.platform.errors import CrmError
from ui.db import session
from ui.i18n import show_error, t
from ui.inputs import text_input

Label = Callable[[str], str]  # a field, category or mode -> its name in the user's language


@dataclass(frozen=True)
class ImportFlow:
    """The session keys of one import page: preview -> Import button -> import -> result."""

    preview: str  # the preview drawn on this run, which the Import button takes
    pending: str  # (preview, mode) the Import button asked for
    result: str  # what the last import did
    upload_round: str  # counts imports, so each one gets a fresh uploader
    uploader: str  # the file uploader's key, before the round
    mode: str | None = None  # the mode picker's key; None: the import has no modes
    refused: str | None = None  # a refused import, shown above the file it kept; None: result

    def request_import(self) -> None:
        """The Import button's on_click, which runs before the next script run: remember the
        preview on screen and the chosen mode."""
        preview = st.session_state.get(self.preview)
        if preview is not None:
            mode = st.session_state.get(self.mode) if self.mode else None
            st.session_state[self.pending] = (preview, mode)

    def run_pending(self, apply: Callable[[Session, Any, str], Any]) -> None:
        """Import the preview the button asked for with `apply(session, preview, mode)` (the
        first mode when none was chosen), then forget the preview: only one drawn on this
        run can be imported.

        An outcome whose `refused` is true waits under `refused` with the file kept, to be
        corrected or imported in another mode (under `result` when the page has no place
        for it); any other outcome waits under `result` and the uploader starts fresh."""
        pending = st.session_state.pop(self.pending, None)
        if pending is not None:
            preview, mode = pending
            try:
                with session() as s:
                    outcome = apply(s, preview, mode or MODES[0])
            except CrmError as error:
                show_error(error)
            else:
                self._keep(outcome)
        st.session_state.pop(self.preview, None)

    def _keep(self, outcome: Any) -> None:
        refused = bool(getattr(outcome, "refused", False))
        if refused and self.refused is not None:
            st.session_state[self.refused] = outcome
            return
        st.session_state[self.result] = outcome
        if not refused:  # a fresh uploader: the imported file is done with
            st.session_state[self.upload_round] = st.session_state.get(self.upload_round, 0) + 1

    def file_uploader(self, label: str, help: str | None = None) -> Any:
        """The CSV or XLSX uploader, empty again after each import."""
        key = f"{self.uploader}_{st.session_state.get(self.upload_round, 0)}"
        return st.file_uploader(label, type=["csv", "xlsx"], key=key, help=help)

    def upload(self, label: str, show: Callable[[Any], None], help: str | None = None) -> Any:
        """The uploader, with the last import's outcome: `show(result)` while no file is
        chosen (choosing one forgets it), `show(refused)` above the file it refused."""
        refused = st.session_state.pop(self.refused, None) if self.refused else None
        upload = self.file_uploader(label, help)
        if upload is None:
            result = st.session_state.get(self.result)
            if result is not None:
                show(result)
            return None
        st.session_state.pop(self.result, None)
        if refused is not None:
            show(refused)
        return upload

    def draw_preview(self, preview: Callable[[Session], Any]) -> Any:
        """The preview `preview(session)` draws, kept for the Import button; None, with
        the reason shown, when the core refuses the file."""
        try:
            with session() as s:
                drawn = preview(s)
        except CrmError as error:
            show_error(error)
            return None
        st.session_state[self.preview] = drawn
        return drawn

    def mode_picker(self, label: str, mode_label: Label) -> None:
        """Good rows only, or all or nothing."""
        st.radio(label, MODES, format_func=mode_label, key=self.mode)

    def import_button(self, label: str, key: str, *, disabled: bool) -> None:
        """The button that imports the preview on screen on the next run."""
        st.button(label, type="primary", disabled=disabled, on_click=self.request_import, key=key)


def read_upload(upload: Any) -> pd.DataFrame | None:
    """The uploaded file as a frame (`crm_core.imports.tabular.read_table`); None without a file, or
    with the reason shown when it cannot be read."""
    if upload is None:
        return None
    try:
        return read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        return None


def column_mapping(
    columns: Sequence[str],
    fields: Iterable[str],
    required: Iterable[str],
    guessed: Mapping[str, str | None],
    *,
    label: Label,
    not_mapped: str,
    key: str,
    file_id: str,
    width: int = 3,
) -> dict[str, str | None]:
    """A column picker per field, `width` to a line, starting from the guessed column:
    field -> the chosen column, or None. Each picker's key, `<key>_<field>_<file_id>`,
    names the file, so a new file starts from its own guess."""
    options = ["", *columns]
    grid = st.columns(width)
    mapping: dict[str, str | None] = {}
    for position, name in enumerate(fields):
        with grid[position % width]:
            choice = st.selectbox(
                label(name) + (" *" if name in required else ""),
                options,
                index=options.index(guessed.get(name) or ""),
                format_func=lambda column: column or not_mapped,
                key=f"{key}_{name}_{file_id}",
            )
        mapping[name] = choice or None
    return mapping


def placeholder_input(label: str, help: str, key: str, container: Any = st) -> list[str]:
    """The cell texts that count as blank, the defaults filled in."""
    text = text_input(
        label, value=", ".join(DEFAULT_PLACEHOLDERS), key=key, help=help, container=container
    )
    return split_placeholders(text)


def category_metrics(counts: Mapping[str, int], categories: Sequence[str], label: Label) -> None:
    """One metric per category, side by side."""
    for column, category in zip(st.columns(len(categories)), categories, strict=True):
        column.metric(label(category), counts[category])


def issues_table(
    issues: Iterable[Any], label: Label, headers: tuple[str, str, str]
) -> pd.DataFrame:
    """One line per reason: the row number, the field's name with the file's header
    (nothing for a reason about the whole row), and the reason."""
    row, column, reason = headers
    return pd.DataFrame(
        [
            {
                row: issue.row,
                column: (label(issue.field) + (f" ({issue.column})" if issue.column else ""))
                if issue.field
                else "",
                reason: t(issue.key, **issue.params),
            }
            for issue in issues
        ]
    )


def bad_rows(
    title: str,
    table: pd.DataFrame,
    *,
    download: str,
    data: bytes,
    file_name: str,
    key: str,
    table_key: str | None = None,
) -> None:
    """The rejected rows with their reasons, and the button that downloads them as CSV to
    correct and upload again."""
    st.subheader(title)
    st.dataframe(table, hide_index=True, width="stretch", key=table_key)
    st.download_button(download, data, file_name=file_name, mime="text/csv", key=key)
