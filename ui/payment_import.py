"""The payment-file import of the payments page: upload, column mapping, preview with every
bad row, the mode, the run, and the bad rows as CSV. The Import button records exactly the
preview on screen, on the next run (see `ui.file_import`); the outcome shows once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.payments import (
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
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import label_of
from ui.company_time import file_zone_picker
from ui.file_import import (
    ImportFlow,
    bad_rows,
    category_metrics,
    column_mapping,
    issues_table,
    read_upload,
)
from ui.i18n import language, t, tmd

FLOW = ImportFlow(
    preview="payments_import_preview",
    pending="payments_import_pending",
    result="payments_import_result",
    upload_round="payments_import_round",
    uploader="payments_import_file",
    mode="payments_import_mode",
)


def _column(name: str) -> str:
    return t(label_of("payment_import.column", name))


def _issues_table(issues: list[PaymentIssue]) -> pd.DataFrame:
    headers = (
        t("Row"),
        t("Column"),
        t("Reason"),
    )
    return issues_table(issues, _column, headers)


def _show_result(result: PaymentImportResult) -> None:
    if result.refused:
        st.warning(
            t(
                "Nothing was recorded: {rejected} rows are bad. Correct them, or record the good rows only.",
                rejected=result.rejected + len(result.failed),
            )
        )
    else:
        st.success(
            t(
                "Import done: {recorded} payments recorded, {already} recorded already, {rejected} bad rows left out.",
                recorded=result.recorded,
                already=result.already,
                rejected=result.rejected,
            )
        )
    if result.failed:
        st.caption(t("These rows changed since the preview and were not recorded:"))
        st.dataframe(_issues_table(list(result.failed)), hide_index=True, width="stretch")


def show_payment_import(me: Actor) -> None:
    """The import tab."""
    FLOW.run_pending(lambda s, preview, mode: apply_payment_import(s, me, preview, mode))
    result = st.session_state.pop(FLOW.result, None)  # shown once
    if result is not None:
        _show_result(result)
    st.caption(
        t(
            "A CSV or Excel file with the order number and the payment reference on each row, and optionally the amount and the payment time (local time). Rows recorded before are skipped, so a file can be imported again safely."
        )
    )
    upload = FLOW.file_uploader(t("Payment file"))
    frame = read_upload(upload)
    if frame is None:
        return
    st.caption(tmd("{filename}: {rows} rows.", filename=upload.name, rows=len(frame)))
    mapping = column_mapping(
        frame.columns,
        PAYMENT_FIELDS,
        REQUIRED,
        guess_payment_mapping(frame.columns),
        label=_column,
        not_mapped=t("(not in the file)"),
        key="payments_import_map",
        file_id=upload.file_id,
        width=len(PAYMENT_FIELDS),
    )
    file_zone = file_zone_picker("payments_import_zone")
    missing = missing_payment_columns(mapping)
    if missing:
        names = ", ".join(_column(m) for m in missing)
        st.warning(t("Choose the file's column for: {columns}.", columns=names))
        return
    preview = FLOW.draw_preview(
        lambda s: preview_payment_import(
            s, me, frame, mapping, source=upload.name, time_zone=file_zone
        )
    )
    if preview is None:
        return
    category_metrics(
        preview.counts,
        ("pay", "already", "rejected"),
        lambda c: t(label_of("payment_import.category", c)),
    )
    if preview.rejected:
        bad_rows(
            t("Bad rows"),
            _issues_table(preview.issues),
            download=t("Download the bad rows (CSV)"),
            data=rejected_payment_rows_csv(me, preview, language()),
            file_name="rejected_payments.csv",
            key="payments_import_download",
        )
    FLOW.mode_picker(t("What to do with bad rows"), lambda m: t(label_of("payment_import.mode", m)))
    FLOW.import_button(t("Record payments"), "payments_import_run", disabled=not preview.rows)
