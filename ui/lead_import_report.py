"""The lead import's report on its page: the counts, what closes and brings revenue, and
the tabs of bad rows, collisions, repeats in the file and warnings (rows kept with a notice).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.leads import (
    ALREADY_IMPORTED,
    ImportOptions,
    ImportReport,
    rejected_rows_csv,
)
from crm_core.platform.i18n import label_of
from ui.context import actor
from ui.i18n import language, nt, t


def _issues_table(issues) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Row"): issue.row,
                t("Column"): issue.column or "",
                t("Reason"): t(issue.reason, **issue.params),
            }
            for issue in issues
        ]
    )


def _collisions_table(report: ImportReport, line_names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Row"): c.row,
                t("Name"): c.name,
                t("Phone"): c.phone,
                t("Business line"): line_names.get(c.business_line, c.business_line),
                t("Current owner"): t("A colleague (outside your scope)")
                if c.hidden
                else c.owner_name or t(label_of("pool", c.pool_state)),
            }
            for c in report.collisions
        ]
    )


def _duplicates_table(report: ImportReport) -> pd.DataFrame:
    return pd.DataFrame(
        [{t("Row"): row, t("Same person as row"): first} for row, first in report.duplicates]
    )


def show_report(
    frame: pd.DataFrame,
    options: ImportOptions,
    report: ImportReport,
    line_names: dict[str, str],
    key: str,
) -> None:
    """The counts, the closes and revenue, and the tabs of bad rows, collisions, repeats
    and warnings of a preview or a finished run."""
    counts = report.counts
    statuses = ("created", "added_line", "collision", "duplicate", ALREADY_IMPORTED, "rejected")
    for column, status in zip(st.columns(len(statuses)), statuses, strict=True):
        column.metric(t(label_of("lead_import.count", status)), f"{counts.get(status, 0):,}")
    if report.closed:
        closes = t(
            "{won} won and {lost} lost rows close their opportunities (no order: a win without an amount brings no revenue).",
            won=report.closed.get("won", 0),
            lost=report.closed.get("lost", 0),
        )
        when = (
            t("They close at the file's close date.")
            if options.mapping.get("closed_at")
            else t("The file has no close date column: they close at their first contact date.")
        )
        paid = (
            nt(
                "{count} won row brings its amount as revenue: a paid order at its close date.",
                "{count} won rows bring their amounts as revenue: a paid order at each close date.",
                report.revenue,
                count=report.revenue,
            )
            if report.revenue
            else ""
        )
        st.info(f"{closes} {when} {paid}".strip())
    if report.already_imported:
        st.caption(
            nt(
                "{n} row was imported before and adds nothing.",
                "{n} rows were imported before and add nothing.",
                len(report.already_imported),
            )
        )
    tabs = st.tabs(
        [
            t("Bad rows ({count})", count=len(report.issues)),
            t("Collisions ({count})", count=len(report.collisions)),
            t("Repeated in file ({count})", count=len(report.duplicates)),
            t("Warnings ({count})", count=len(report.warnings)),
        ]
    )
    with tabs[0]:
        if report.issues:
            st.dataframe(_issues_table(report.issues), hide_index=True, width="stretch")
            st.download_button(
                t("Download the bad rows (CSV)"),
                rejected_rows_csv(actor(), frame, report, options, language()),
                file_name=f"rejected-{report.filename or 'leads'}.csv",
                mime="text/csv",
                key=f"lead_import_rejected_{key}",
            )
        else:
            st.caption(t("Every row is good."))
    with tabs[1]:
        if report.collisions:
            st.caption(
                t(
                    "These people already have an opportunity on that business line. Its owner keeps it and the inquiry is logged on it."
                )
            )
            st.dataframe(_collisions_table(report, line_names), hide_index=True, width="stretch")
        else:
            st.caption(t("Nobody in the file is already being followed up."))
    with tabs[2]:
        if report.duplicates:
            st.dataframe(_duplicates_table(report), hide_index=True, width="stretch")
        else:
            st.caption(t("No person appears twice in the file."))
    with tabs[3]:
        if report.warnings:
            st.caption(t("These rows are imported as the file has them; check them in the source."))
            st.dataframe(_issues_table(report.warnings), hide_index=True, width="stretch")
        else:
            st.caption(t("No row needs a warning."))
