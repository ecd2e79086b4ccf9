"""HR roster sync (user managers): upload, check the column mapping, preview, apply.

The Apply button only remembers which preview was on screen; the page applies exactly that
preview on the next run, after app.py has checked the session again. The file is never
re-read between the preview and the apply.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from crm_core.errors import CrmError
from crm_core.roster import (
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
from crm_core.tabular import read_table
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t

_PREVIEW = "roster_preview"
_PENDING = "roster_apply_pending"
_RESULT = "roster_result"
_UPLOAD_ROUND = "roster_upload_round"


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


def _request_apply() -> None:
    # Runs before the next script run: remember the preview that was on screen.
    st.session_state[_PENDING] = st.session_state.get(_PREVIEW)


me = actor()
st.title(t("nav.roster"))
st.caption(t("roster.intro"))

pending: RosterPreview | None = st.session_state.pop(_PENDING, None)
if pending is not None:
    try:
        with session() as s:
            st.session_state[_RESULT] = apply_roster(s, me, pending)
    except CrmError as error:
        show_error(error)
    else:
        # A fresh uploader: the applied file is done with.
        st.session_state[_UPLOAD_ROUND] = st.session_state.get(_UPLOAD_ROUND, 0) + 1
# Only a preview drawn on this run can be applied.
st.session_state.pop(_PREVIEW, None)

upload_round = st.session_state.get(_UPLOAD_ROUND, 0)
upload = st.file_uploader(
    t("roster.upload"), type=["csv", "xlsx"], key=f"roster_file_{upload_round}"
)
if upload is None:
    result = st.session_state.get(_RESULT)
    if result is not None:
        _show_result(result)
    st.stop()
st.session_state.pop(_RESULT, None)

try:
    frame = read_table(upload.getvalue(), upload.name)
except CrmError as error:
    show_error(error)
    st.stop()
st.caption(t("roster.file_rows", filename=upload.name, rows=len(frame)))

st.subheader(t("roster.mapping"))
st.caption(t("roster.mapping_help"))
guessed = guess_columns(frame.columns)
options = ["", *frame.columns]
mapping: dict[str, str | None] = {}
grid = st.columns(3)
for position, name in enumerate(COLUMNS):
    with grid[position % 3]:
        choice = st.selectbox(
            t(f"roster.column.{name}") + (" *" if name in REQUIRED else ""),
            options,
            index=options.index(guessed.get(name) or ""),
            format_func=lambda column: column or t("roster.not_mapped"),
            key=f"roster_map_{name}_{upload.file_id}",  # a new file starts from its guess
        )
    mapping[name] = choice or None
missing = missing_columns(mapping)
if missing:
    st.warning(
        t("roster.missing_columns", columns=", ".join(t(f"roster.column.{m}") for m in missing))
    )
    st.stop()

try:
    with session() as s:
        preview = preview_roster(s, me, frame, mapping, source=upload.name)
except CrmError as error:
    show_error(error)
    st.stop()
st.session_state[_PREVIEW] = preview

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
metrics = st.columns(len(CATEGORIES))
for column, category in zip(metrics, CATEGORIES, strict=True):
    column.metric(t(f"roster.category.{category}"), counts[category])

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
st.button(
    t("roster.apply"),
    type="primary",
    disabled=not preview.ok or not to_change,
    on_click=_request_apply,
    key="roster_apply",
)
