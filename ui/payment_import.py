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
    return t(f"payment_import.column.{name}")


def _issues_table(issues: list[PaymentIssue]) -> pd.DataFrame:
    headers = (
        t("payment_import.table.row"),
        t("payment_import.table.column"),
        t("payment_import.table.reason"),
    )
    return issues_table(issues, _column, headers)


def _show_result(result: PaymentImportResult) -> None:
    if result.refused:
        st.warning(
            t("payment_import.result.refused", rejected=result.rejected + len(result.failed))
        )
    else:
        st.success(
            t(
                "payment_import.result.done",
                recorded=result.recorded,
                already=result.already,
                rejected=result.rejected,
            )
        )
    if result.failed:
        st.caption(t("payment_import.result.failed"))
        st.dataframe(_issues_table(list(result.failed)), hide_index=True, width="stretch")


def show_payment_import(me: Actor) -> None:
    """The import tab."""
    FLOW.run_pending(lambda s, preview, mode: apply_payment_import(s, me, preview, mode))
    result = st.session_state.pop(FLOW.result, None)  # shown once
    if result is not None:
        _show_result(result)
    st.caption(t("payment_import.help"))
    upload = FLOW.file_uploader(t("payment_import.upload"))
    frame = read_upload(upload)
    if frame is None:
        return
    st.caption(tmd("payment_import.file_rows", filename=upload.name, rows=len(frame)))
    mapping = column_mapping(
        frame.columns,
        PAYMENT_FIELDS,
        REQUIRED,
        guess_payment_mapping(frame.columns),
        label=_column,
        not_mapped=t("payment_import.not_mapped"),
        key="payments_import_map",
        file_id=upload.file_id,
        width=len(PAYMENT_FIELDS),
    )
    file_zone = file_zone_picker("payments_import_zone")
    missing = missing_payment_columns(mapping)
    if missing:
        names = ", ".join(_column(m) for m in missing)
        st.warning(t("payment_import.missing_columns", columns=names))
        return
    preview = FLOW.draw_preview(
        lambda s: preview_payment_import(
            s, me, frame, mapping, source=upload.name, time_zone=file_zone
        )
    )
    if preview is None:
        return
    category_metrics(
        preview.counts, ("pay", "already", "rejected"), lambda c: t(f"payment_import.category.{c}")
    )
    if preview.rejected:
        bad_rows(
            t("payment_import.bad_rows"),
            _issues_table(preview.issues),
            download=t("payment_import.download_rejected"),
            data=rejected_payment_rows_csv(me, preview, language()),
            file_name="rejected_payments.csv",
            key="payments_import_download",
        )
    FLOW.mode_picker(t("payment_import.mode"), lambda m: t(f"payment_import.mode.{m}"))
    FLOW.import_button(t("payment_import.run"), "payments_import_run", disabled=not preview.rows)
