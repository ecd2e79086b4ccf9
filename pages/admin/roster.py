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
    return t(f"roster.status.{code}")


def _roles(codes) -> str:
    """Role names: built-in roles translated, custom roles by code."""
    names = []
    for code in codes:
        key = f"role.{code}"
        label = t(key)
        names.append(code if label == key else label)
    return ", ".join(names)


def _issues_table(preview: RosterPreview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("roster.table.row"): issue.row,
                t("roster.table.column"): (
                    t(f"roster.column.{issue.column}")
                    + (f" ({issue.header})" if issue.header else "")
                    if issue.column
                    else ""
                ),
                t("roster.table.reason"): t(issue.key, **issue.params),
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
                t("roster.table.row"): row.row,
                t("roster.table.employee_no"): row.employee_no,
                t("roster.table.name"): row.full_name,
                t("roster.table.unit"): row.unit_label,
                t("roster.table.unit_before"): before.unit_label if before else "",
                t("roster.table.status"): _status(row.status),
                t("roster.table.status_before"): _status(before.status) if before else "",
                t("roster.table.roles"): _roles(roles_now),
                t("roster.table.roles_before"): _roles(before.roles) if before else "",
                t("roster.table.title"): row.title or "",
                t("roster.table.date"): row.effective_date.isoformat()
                if row.effective_date
                else "",
                t("roster.table.changes"): ", ".join(t(f"roster.change.{c}") for c in row.changes),
            }
        )
    return pd.DataFrame(records)


def _show_result(result: RosterResult) -> None:
    st.success(t("roster.applied"))
    summary = ", ".join(f"{t(f'roster.category.{c}')} {n}" for c, n in result.counts.items() if n)
    if summary:
        st.write(t("roster.result.counts", summary=summary))
    st.info(t("roster.result.moved_opportunities", count=result.opportunities_moved))
    if result.departures:
        st.subheader(t("roster.result.departures"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("roster.table.employee_no"): d.employee_no,
                        t("roster.table.name"): d.full_name,
                        t("roster.table.target"): t(f"roster.target.{d.target}"),
                        t("roster.table.moved"): d.moved,
                    }
                    for d in result.departures
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if result.created:
        st.warning(t("roster.result.new_accounts"))
        accounts = pd.DataFrame(
            [
                {
                    t("roster.table.employee_no"): a.employee_no,
                    t("roster.table.name"): a.full_name,
                    t("roster.table.username"): a.username,
                    t("roster.table.password"): a.temporary_password,
                }
                for a in result.created
            ]
        )
        st.dataframe(accounts, hide_index=True, width="stretch")
        buffer = io.StringIO()
        accounts.to_csv(buffer, index=False)
        st.download_button(
            t("roster.result.download"),
            buffer.getvalue().encode("utf-8-sig"),
            file_name="new_accounts.csv",
            mime="text/csv",
            key="roster_download_passwords",
        )


me = actor()
st.title(t("nav.roster"))
st.caption(t("roster.intro"))

FLOW.run_pending(lambda s, preview, _mode: apply_roster(s, me, preview))

upload = FLOW.upload(t("roster.upload"), _show_result)
frame = read_upload(upload)
if frame is None:
    st.stop()
st.caption(tmd("roster.file_rows", filename=upload.name, rows=len(frame)))

st.subheader(t("roster.mapping"))
st.caption(t("roster.mapping_help"))
mapping = column_mapping(
    frame.columns,
    COLUMNS,
    REQUIRED,
    guess_columns(frame.columns),
    label=lambda name: t(f"roster.column.{name}"),
    not_mapped=t("roster.not_mapped"),
    key="roster_map",
    file_id=upload.file_id,
)
missing = missing_columns(mapping)
if missing:
    st.warning(
        t("roster.missing_columns", columns=", ".join(t(f"roster.column.{m}") for m in missing))
    )
    st.stop()

preview = FLOW.draw_preview(lambda s: preview_roster(s, me, frame, mapping, source=upload.name))
if preview is None:
    st.stop()

st.subheader(t("roster.preview"))
counts = preview.counts
st.write(
    t(
        "roster.summary",
        total=preview.total_rows,
        good=len(preview.rows),
        bad=len(preview.bad_rows),
    )
)
category_metrics(counts, CATEGORIES, lambda c: t(f"roster.category.{c}"))

if preview.issues:
    st.error(t("roster.has_bad_rows", count=len(preview.bad_rows)))
    st.subheader(t("roster.bad_rows"))
    st.dataframe(_issues_table(preview), hide_index=True, width="stretch")

shown = [c for c in CATEGORIES if counts[c]]
if shown:
    tabs = st.tabs([f"{t(f'roster.category.{c}')} ({counts[c]})" for c in shown])
    for tab, category in zip(tabs, shown, strict=True):
        with tab:
            st.dataframe(_rows_table(preview, category), hide_index=True, width="stretch")

to_change = sum(n for c, n in counts.items() if c not in ("unchanged", "skipped"))
if preview.ok and not to_change:
    st.info(t("roster.nothing_to_apply"))
FLOW.import_button(t("roster.apply"), "roster_apply", disabled=not preview.ok or not to_change)
