"""The payment-file import of the payments page: upload, column mapping, preview with every
bad row, the mode, the run, and the bad rows as CSV.

The Import button only remembers which preview was on screen and the chosen mode; the next
run records exactly that preview, after app.py has checked the session again. The file is
never re-read between the preview and the import.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.access import Actor
from crm_core.errors import CrmError
from crm_core.payment_import import (
    MODES,
    PAYMENT_FIELDS,
    REQUIRED,
    PaymentImportResult,
    PaymentIssue,
    apply_payment_import,
    guess_payment_mapping,
    missing_payment_columns,
    preview_payment_import,
    rejected_payment_rows_csv,
)
from crm_core.tabular import read_table
from ui.db import session
from ui.i18n import language, show_error, t

_PREVIEW = "payments_import_preview"
_PENDING = "payments_import_pending"
_RESULT = "payments_import_result"
_ROUND = "payments_import_round"


def _request_import() -> None:
    # Runs before the next script run: remember the preview on screen and the chosen mode.
    preview = st.session_state.get(_PREVIEW)
    if preview is not None:
        st.session_state[_PENDING] = (preview, st.session_state.get("payments_import_mode"))


def _issues_table(issues: list[PaymentIssue]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("payment_import.table.row"): issue.row,
                t("payment_import.table.column"): t(f"payment_import.column.{issue.field}")
                + (f" ({issue.column})" if issue.column else ""),
                t("payment_import.table.reason"): t(issue.key, **issue.params),
            }
            for issue in issues
        ]
    )


def _show_result(result: PaymentImportResult) -> None:
    if result.refused:
        st.warning(
            t("payment_import.result.refused", rejected=result.rejected + len(result.failed))
        )
    else:
        st.success(t("payment_import.result.done", recorded=result.recorded,
                     already=result.already, rejected=result.rejected))  # fmt: skip
    if result.failed:
        st.caption(t("payment_import.result.failed"))
        st.dataframe(_issues_table(list(result.failed)), hide_index=True, width="stretch")


def _run_pending(me: Actor) -> None:
    pending = st.session_state.pop(_PENDING, None)
    if pending is None:
        return
    preview, mode = pending
    try:
        with session() as s:
            result = apply_payment_import(s, me, preview, mode or MODES[0])
    except CrmError as error:
        show_error(error)
        return
    st.session_state[_RESULT] = result
    if result.stored:  # a fresh uploader: the imported file is done with
        st.session_state[_ROUND] = st.session_state.get(_ROUND, 0) + 1


def show_payment_import(me: Actor) -> None:
    """The import tab."""
    _run_pending(me)
    st.session_state.pop(_PREVIEW, None)  # only a preview drawn on this run can be imported
    result = st.session_state.pop(_RESULT, None)
    if result is not None:
        _show_result(result)
    st.caption(t("payment_import.help"))
    upload = st.file_uploader(t("payment_import.upload"), type=["csv", "xlsx"],
                              key=f"payments_import_file_{st.session_state.get(_ROUND, 0)}")  # fmt: skip
    if upload is None:
        return
    try:
        frame = read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        return
    st.caption(t("payment_import.file_rows", filename=upload.name, rows=len(frame)))
    guessed = guess_payment_mapping(frame.columns)
    options = ["", *frame.columns]
    mapping: dict[str, str | None] = {}
    for column, name in zip(st.columns(len(PAYMENT_FIELDS)), PAYMENT_FIELDS, strict=True):
        with column:
            choice = st.selectbox(
                t(f"payment_import.column.{name}") + (" *" if name in REQUIRED else ""),
                options,
                index=options.index(guessed.get(name) or ""),
                format_func=lambda c: c or t("payment_import.not_mapped"),
                key=f"payments_import_map_{name}_{upload.file_id}",
            )
        mapping[name] = choice or None
    missing = missing_payment_columns(mapping)
    if missing:
        names = ", ".join(t(f"payment_import.column.{m}") for m in missing)
        st.warning(t("payment_import.missing_columns", columns=names))
        return
    try:
        with session() as s:
            preview = preview_payment_import(s, me, frame, mapping, source=upload.name)
    except CrmError as error:
        show_error(error)
        return
    st.session_state[_PREVIEW] = preview
    counts = preview.counts
    for column, category in zip(st.columns(3), ("pay", "already", "rejected"), strict=True):
        column.metric(t(f"payment_import.category.{category}"), counts[category])
    if preview.rejected:
        st.subheader(t("payment_import.bad_rows"))
        st.dataframe(_issues_table(preview.issues), hide_index=True, width="stretch")
        st.download_button(
            t("payment_import.download_rejected"),
            rejected_payment_rows_csv(me, preview, language()),
            file_name="rejected_payments.csv",
            mime="text/csv",
            key="payments_import_download",
        )
    st.radio(t("payment_import.mode"), MODES, key="payments_import_mode",
             format_func=lambda m: t(f"payment_import.mode.{m}"))  # fmt: skip
    st.button(t("payment_import.run"), type="primary", disabled=not preview.rows,
              on_click=_request_import, key="payments_import_run")  # fmt: skip
