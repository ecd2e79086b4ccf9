"""HR roster sync (user managers): upload, check the column mapping, preview, apply.

The Apply button only remembers which preview was on screen; the page applies exactly that
preview on the next run (see `ui.file_import`). The file is never re-read between the
preview and the apply.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from crm_core.imports.roster import (
    CATEGORIES,
    COLUMNS,
    REQUIRED,
    RosterPreview,
    RosterResult,
    apply_roster,
    guess_columns,
    missing_columns,
    preview_roster,
)
from crm_core.platform.i18n import NC_, label_of
from ui.context import actor
from ui.file_import import ImportFlow, category_metrics, column_mapping, read_upload
from ui.i18n import t, tmd

FLOW = ImportFlow(
    preview="roster_preview",
    pending="roster_apply_pending",
    result="roster_result",
    upload_round="roster_upload_round",
    uploader="roster_file",
)


def _status(code: str) -> str:
    return t(label_of("roster.status", code))


def _roles(codes) -> str:
    """Role names: built-in roles translated, custom roles by code."""
    names = []
    for code in codes:
        key = label_of("role", code)
        label = t(key)
        names.append(code if label == key else label)
    return ", ".join(names)


def _issues_table(preview: RosterPreview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Row"): issue.row,
                t("Column"): (
                    t(label_of("roster.column", issue.column))
                    + (f" ({issue.header})" if issue.header else "")
                    if issue.column
                    else ""
                ),
                t("Reason"): t(issue.key, **issue.params),
            }
            for issue in preview.issues
        ]
    )


def _rows_table(preview: RosterPreview, category: str) -> pd.DataFrame:
    records = []
    for row in preview.rows_in(category):
        before = row.before
        roles_now = row.roles_after if row.roles_after is not None else None
        if roles_now is None:
            roles_now = before.roles if before else (row.role_code or "rep",)
        records.append(
            {
                t("Row"): row.row,
                t("Employee number"): row.employee_no,
                t("Name"): row.full_name,
                t("Unit"): row.unit_label,
                t("Unit before"): before.unit_label if before else "",
                t("Status"): _status(row.status),
                t("Status before"): _status(before.status) if before else "",
                t("Roles"): _roles(roles_now),
                t("Roles before"): _roles(before.roles) if before else "",
                t("Title"): row.title or "",
                t("Date"): row.effective_date.isoformat() if row.effective_date else "",
                t("Changes"): ", ".join(t(label_of("roster.change", c)) for c in row.changes),
            }
        )
    return pd.DataFrame(records)


def _show_result(result: RosterResult) -> None:
    st.success(t("The roster was applied."))
    summary = ", ".join(
        f"{t(label_of('roster.category', c))} {n}" for c, n in result.counts.items() if n
    )
    if summary:
        st.write(t("Applied: {summary}.", summary=summary))
    st.info(t("{count} open opportunities moved on departure.", count=result.opportunities_moved))
    if result.departures:
        st.subheader(t("Departures"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Employee number"): d.employee_no,
                        t("Name"): d.full_name,
                        t("Opportunities went to"): t(label_of("roster.target", d.target)),
                        t("Opportunities moved"): d.moved,
                    }
                    for d in result.departures
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if result.created:
        st.warning(
            t(
                "New accounts: hand out these temporary passwords now; they are not shown again. Each user must choose a new password at first sign-in."
            )
        )
        accounts = pd.DataFrame(
            [
                {
                    t("Employee number"): a.employee_no,
                    t("Name"): a.full_name,
                    t("Username"): a.username,
                    t("Temporary password"): a.temporary_password,
                }
                for a in result.created
            ]
        )
        st.dataframe(accounts, hide_index=True, width="stretch")
        buffer = io.StringIO()
        accounts.to_csv(buffer, index=False)
        st.download_button(
            t("Download the temporary passwords"),
            buffer.getvalue().encode("utf-8-sig"),
            file_name="new_accounts.csv",
            mime="text/csv",
            key="roster_download_passwords",
        )


me = actor()
st.title(t("HR roster sync"))
st.caption(
    t(
        "Upload the roster from HR (CSV or XLSX). You see what would change before anything is applied; applying is all or nothing."
    )
)

FLOW.run_pending(lambda s, preview, _mode: apply_roster(s, me, preview))

upload = FLOW.upload(t("Roster file"), _show_result)
frame = read_upload(upload)
if frame is None:
    st.stop()
st.caption(tmd("{filename}: {rows} data rows.", filename=upload.name, rows=len(frame)))

st.subheader(t("Columns"))
st.caption(t("Which column of the file holds each field. Fields marked * are required."))
mapping = column_mapping(
    frame.columns,
    COLUMNS,
    REQUIRED,
    guess_columns(frame.columns),
    label=lambda name: t(label_of("roster.column", name)),
    not_mapped=t("(not in the file)"),
    key="roster_map",
    file_id=upload.file_id,
)
missing = missing_columns(mapping)
if missing:
    st.warning(
        t(
            "Choose a column for: {columns}.",
            columns=", ".join(t(label_of("roster.column", m)) for m in missing),
        )
    )
    st.stop()

preview = FLOW.draw_preview(lambda s: preview_roster(s, me, frame, mapping, source=upload.name))
if preview is None:
    st.stop()

st.subheader(t("What would change"))
counts = preview.counts
st.write(
    t(
        "{total} rows: {good} good, {bad} bad.",
        total=preview.total_rows,
        good=len(preview.rows),
        bad=len(preview.bad_rows),
    )
)
category_metrics(counts, CATEGORIES, lambda c: t(label_of("roster.category", c)))

if preview.issues:
    st.error(
        t(
            "{count} rows are bad. Correct the file and upload it again: nothing is applied while a row is bad.",
            count=len(preview.bad_rows),
        )
    )
    st.subheader(t(NC_("roster", "Bad rows")))
    st.dataframe(_issues_table(preview), hide_index=True, width="stretch")

shown = [c for c in CATEGORIES if counts[c]]
if shown:
    tabs = st.tabs([f"{t(label_of('roster.category', c))} ({counts[c]})" for c in shown])
    for tab, category in zip(tabs, shown, strict=True):
        with tab:
            st.dataframe(_rows_table(preview, category), hide_index=True, width="stretch")

to_change = sum(n for c, n in counts.items() if c not in ("unchanged", "skipped"))
if preview.ok and not to_change:
    st.info(t("Nothing would change."))
FLOW.import_button(t("Apply the roster"), "roster_apply", disabled=not preview.ok or not to_change)
