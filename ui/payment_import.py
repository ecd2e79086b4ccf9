"""The payment-file import of the payments page, through the shared import flow
(`ui.import_flow`): what is its own is the outcome, with the rows that changed since the
preview and were not recorded.
"""

from __future__ import annotations

import streamlit as st

from crm_core.imports.engine import ImportRun
from crm_core.imports.payments import PAYMENTS
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import label_of
from ui.file_import import issues_table
from ui.i18n import t
from ui.import_flow import ImportTexts, import_page, run_pending

KEY = "payments"


def _show_result(result: ImportRun) -> None:
    counts = result.counts
    if result.refused:
        st.warning(
            t(
                "Nothing was recorded: {rejected} rows are bad. Correct them, or record the good rows only.",
                rejected=counts.get("rejected", 0) + len(result.failed),
            )
        )
    else:
        st.success(
            t(
                "Import done: {recorded} payments recorded, {already} recorded already, {rejected} bad rows left out.",
                recorded=counts["recorded"],
                already=counts["already"],
                rejected=counts["rejected"],
            )
        )
    if result.failed:
        st.caption(t("These rows changed since the preview and were not recorded:"))
        st.dataframe(
            issues_table(
                result.failed,
                lambda name: t(label_of("payment_import.column", name)),
                (t("Row"), t("Column"), t("Reason")),
            ),
            hide_index=True,
            width="stretch",
        )


def show_payment_import(me: Actor) -> None:
    """The import tab."""
    run_pending(PAYMENTS, me, KEY)
    st.caption(
        t(
            "A CSV or Excel file with the order number and the payment reference on each row, and optionally the amount and the payment time (local time). Rows recorded before are skipped, so a file can be imported again safely."
        )
    )
    import_page(
        PAYMENTS,
        me,
        KEY,
        ImportTexts(
            upload=t("Payment file"),
            upload_help=t("The payment provider's or the bank's export."),
            rejected_file="rejected_payments.csv",
            import_button=t("Record payments"),
        ),
        show_result=_show_result,
    )
