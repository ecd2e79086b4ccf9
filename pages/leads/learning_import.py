"""Study activity import (manage_customers): a file from the learning system - phone or
customer id, course, progress %, last study date - checked row by row, then stored as the
talking points reps see on the opportunity.

The Import button only remembers which preview was on screen and the chosen mode; the page
imports exactly that preview on the next run, after app.py has checked the session again.
The file is never re-read between the preview and the import.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.cells import DEFAULT_PLACEHOLDERS
from crm_core.errors import CrmError
from crm_core.learning_import import (
    CATEGORIES,
    LEARNING_FIELDS,
    MODES,
    REQUIRED,
    LearningImportResult,
    LearningPreview,
    apply_learning_import,
    guess_learning_mapping,
    missing_learning_columns,
    preview_learning_import,
    rejected_learning_rows_csv,
)
from crm_core.tabular import read_table
from ui.context import actor
from ui.db import session
from ui.i18n import language, show_error, t

SHOWN_ROWS = 50
_PREVIEW = "learning_preview"
_PENDING = "learning_import_pending"
_RESULT = "learning_result"
_REFUSED = "learning_refused"
_UPLOAD_ROUND = "learning_upload_round"


def _request_import() -> None:
    # Runs before the next script run: remember the preview on screen and the chosen mode.
    preview = st.session_state.get(_PREVIEW)
    if preview is not None:
        st.session_state[_PENDING] = (preview, st.session_state.get("learning_mode"))


def _result_message(result: LearningImportResult) -> str:
    if result.refused:
        return t("learning.result.refused", rejected=result.rejected)
    return t("learning.result.done", created=result.created, updated=result.updated,
             unchanged=result.unchanged, older=result.older, rejected=result.rejected)  # fmt: skip


def _column(issue) -> str:
    """The field's name and the file's header; nothing for a reason about the whole row."""
    if not issue.field:
        return ""
    name = t(f"learning.column.{issue.field}")
    return f"{name} ({issue.column})" if issue.column else name


def _issues_table(preview: LearningPreview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("learning.table.row"): issue.row,
                t("learning.table.column"): _column(issue),
                t("learning.table.reason"): t(issue.key, **issue.params),
            }
            for issue in preview.issues
        ]
    )


def _rows_table(preview: LearningPreview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("learning.table.row"): row.row,
                t("learning.table.lead"): row.lead_name,
                t("learning.table.phone"): row.phone,
                t("learning.table.course"): row.course,
                t("learning.table.progress"): row.progress_pct,
                t("learning.table.last_studied"): row.last_studied_on.isoformat()
                if row.last_studied_on
                else "",
                t("learning.table.category"): t(f"learning.category.{row.category}"),
            }
            for row in preview.rows[:SHOWN_ROWS]
        ]
    )


def _placeholders(text: str) -> list[str]:
    # A Chinese keyboard types the full-width comma.
    return [part.strip() for part in text.replace("\uff0c", ",").split(",") if part.strip()]


def _mapping(frame: pd.DataFrame, file_id: str) -> dict[str, str | None]:
    st.subheader(t("learning.mapping"))
    st.caption(t("learning.mapping_help"))
    guessed = guess_learning_mapping(frame.columns)
    options = ["", *frame.columns]
    mapping: dict[str, str | None] = {}
    grid = st.columns(3)
    for position, name in enumerate(LEARNING_FIELDS):
        with grid[position % 3]:
            choice = st.selectbox(
                t(f"learning.column.{name}") + (" *" if name in REQUIRED else ""),
                options,
                index=options.index(guessed.get(name) or ""),
                format_func=lambda column: column or t("learning.not_mapped"),
                key=f"learning_map_{name}_{file_id}",  # a new file starts from its guess
            )
        mapping[name] = choice or None
    return mapping


def _import_section() -> None:
    refused = st.session_state.pop(_REFUSED, None)
    upload = st.file_uploader(
        t("learning.upload"), type=["csv", "xlsx"],
        key=f"learning_file_{st.session_state.get(_UPLOAD_ROUND, 0)}",
        help=t("learning.upload_help"),
    )  # fmt: skip
    if upload is None:
        result = st.session_state.get(_RESULT)
        if result is not None:
            st.success(_result_message(result))
        return
    st.session_state.pop(_RESULT, None)
    if refused is not None:
        st.warning(_result_message(refused))
    try:
        frame = read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        return
    st.caption(t("learning.file_rows", filename=upload.name, rows=len(frame)))
    mapping = _mapping(frame, upload.file_id)
    placeholder_text = st.text_input(
        t("learning.placeholders"), value=", ".join(DEFAULT_PLACEHOLDERS),
        key="learning_placeholders", help=t("learning.placeholders_help"),
    )  # fmt: skip
    missing = missing_learning_columns(mapping)
    if missing:
        names = ", ".join(t(f"learning.column.{m}") for m in missing)
        st.warning(t("learning.missing_columns", columns=names))
        return
    try:
        with session() as s:
            preview = preview_learning_import(
                s, me, frame, mapping, _placeholders(placeholder_text), source=upload.name
            )
    except CrmError as error:
        show_error(error)
        return
    st.session_state[_PREVIEW] = preview

    st.subheader(t("learning.preview"))
    counts = preview.counts
    st.write(t("learning.summary", total=preview.total_rows, good=len(preview.rows),
               bad=counts["rejected"]))  # fmt: skip
    for column, category in zip(st.columns(len(CATEGORIES)), CATEGORIES, strict=True):
        column.metric(t(f"learning.category.{category}"), counts[category])
    if preview.rejected:
        st.subheader(t("learning.bad_rows"))
        st.dataframe(_issues_table(preview), hide_index=True, width="stretch",
                     key="learning_issues")  # fmt: skip
        st.download_button(
            t("learning.download_rejected"),
            rejected_learning_rows_csv(me, preview, language()),
            file_name="rejected_study_activity.csv", mime="text/csv",
            key="learning_download_rejected",
        )  # fmt: skip
    if preview.rows:
        st.subheader(t("learning.good_rows", count=min(SHOWN_ROWS, len(preview.rows))))
        st.dataframe(_rows_table(preview), hide_index=True, width="stretch", key="learning_rows")
    else:
        st.info(t("learning.nothing_to_import"))
    st.radio(t("learning.mode"), MODES, format_func=lambda mode: t(f"learning.mode.{mode}"),
             key="learning_mode")  # fmt: skip
    st.button(t("learning.import"), type="primary", disabled=not preview.rows,
              on_click=_request_import, key="learning_import")  # fmt: skip


me = actor()
st.title(t("nav.learning_import"))
st.caption(t("learning.intro"))

pending = st.session_state.pop(_PENDING, None)
if pending is not None:
    pending_preview, pending_mode = pending
    try:
        with session() as s:
            outcome = apply_learning_import(s, me, pending_preview, pending_mode or MODES[0])
    except CrmError as error:
        show_error(error)
    else:
        if outcome.refused:
            st.session_state[_REFUSED] = outcome  # keep the file: correct it or change mode
        else:
            st.session_state[_RESULT] = outcome
            # A fresh uploader: the imported file is done with.
            st.session_state[_UPLOAD_ROUND] = st.session_state.get(_UPLOAD_ROUND, 0) + 1
# Only a preview drawn on this run can be imported.
st.session_state.pop(_PREVIEW, None)

_import_section()
