"""HR roster sync (user managers): upload, check the column mapping, preview, apply, through
the shared import flow (`ui.import_flow`); what is its own is the changes per category and
the outcome (new accounts' temporary passwords, departures). Applying is all or nothing.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from crm_core.imports.engine import ImportRun, Preview
from crm_core.imports.roster import CATEGORIES, ROSTER, RosterResult
from crm_core.platform.i18n import label_of
from ui.context import actor
from ui.i18n import nt, t
from ui.import_flow import ImportTexts, import_page, run_pending


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


def _rows_table(preview: Preview, category: str) -> pd.DataFrame:
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


def _show_result(run: ImportRun) -> None:
    result: RosterResult = run.result
    st.success(t("The roster was applied."))
    summary = ", ".join(
        f"{t(label_of('roster.category', c))} {n}" for c, n in result.counts.items() if n
    )
    if summary:
        st.write(t("Applied: {summary}.", summary=summary))
    moved = result.opportunities_moved
    st.info(
        nt(
            "{n} open opportunity moved on departure.",
            "{n} open opportunities moved on departure.",
            moved,
        )
    )
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


def _to_change(preview: Preview) -> int:
    return sum(
        n for c, n in preview.counts.items() if c not in ("unchanged", "skipped", "rejected")
    )


def _changes(preview: Preview) -> None:
    """The rows of each category, and whether anything would change."""
    counts = preview.counts
    shown = [c for c in CATEGORIES if counts[c]]
    if shown:
        tabs = st.tabs([f"{t(label_of('roster.category', c))} ({counts[c]})" for c in shown])
        for tab, category in zip(tabs, shown, strict=True):
            with tab:
                st.dataframe(_rows_table(preview, category), hide_index=True, width="stretch")
    if preview.ok and not _to_change(preview):
        st.info(t("Nothing would change."))


me = actor()
st.title(t("HR roster sync"))
st.caption(
    t(
        "Upload the roster from HR (CSV or XLSX). You see what would change before anything is applied; applying is all or nothing."
    )
)

run_pending(ROSTER, me, "roster")
import_page(
    ROSTER,
    me,
    "roster",
    ImportTexts(
        upload=t("Roster file"),
        upload_help=t("The roster from HR: employee number, name, unit, title, status, date."),
        rejected_file="rejected_roster_rows.csv",
        import_button=t("Apply the roster"),
    ),
    show_result=_show_result,
    extra=_changes,
    ready=lambda plan: plan.ok and _to_change(plan) > 0,
)
