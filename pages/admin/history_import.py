"""History import (switching from another CRM): the import engine's page flow
(`ui.import_flow`) with the history import's spec - upload the pipeline file -> map columns
(custom fields of opportunities and leads among them) -> the business line and the stage
for rows whose file gives none -> the history import's own options (a team file, where the
teams are, the source's name, where unowned rows go, creating missing users and units) ->
value mapping (the source's stages onto ours, channels, lost reasons ...: remembered for the
next file) -> preview every bad row -> import (good rows or all or nothing). Re-importing a
file adds nothing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.analytics.scope import unit_choices
from crm_core.imports.engine import Preview
from crm_core.imports.history import (
    HISTORY,
    TEAM_COLUMNS,
    UNOWNED,
    HistorySettings,
    guess_team_columns,
    list_history_imports,
)
from crm_core.imports.history.spec import settings_problems
from crm_core.imports.tabular import read_table
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.permissions import Permission
from ui.context import actor
from ui.db import session
from ui.i18n import nt, show_error, t
from ui.import_flow import ImportTexts, import_page, run_pending
from ui.inputs import text_input
from ui.text import md

KEY = "history_import"

me = actor()
st.title(t("History import"))
st.caption(
    t(
        "Bring opportunities over from another CRM: owners map to users, teams to org units, the source's stages to ours. Won rows become paid orders credited to the owner's team. Rows imported before are skipped."
    )
)
if not me.can(Permission.RECORD_PAYMENTS):
    st.info(
        t(
            "Won opportunities become revenue, so you can import only open and lost ones: ask someone who may record payments (finance) to import the wins."
        )
    )
with session() as s:
    units = unit_choices(s, me) if me.can(Permission.VIEW_DASHBOARDS) else {}


def _teams_file() -> pd.DataFrame | None:
    upload = st.file_uploader(
        t("Teams (optional: owner, team, parent unit)"),
        type=["csv", "xlsx"],
        key="history_import_teams",
    )
    if upload is None:
        return None
    try:
        return read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        return None


def _settings() -> HistorySettings | None:
    """The history import's own options; None while they cannot work."""
    st.subheader(t("Teams and owners"))
    teams = _teams_file()
    team_mapping: dict[str, str | None] = {}
    if teams is not None:
        st.caption(t("Columns of the team file"))
        guessed = guess_team_columns(teams.columns)
        choices = ["", *teams.columns]
        grid = st.columns(len(TEAM_COLUMNS))
        for column, name in zip(grid, TEAM_COLUMNS, strict=True):
            team_mapping[name] = (
                column.selectbox(
                    t(label_of("history.column", name)),
                    choices,
                    index=choices.index(guessed.get(name) or ""),
                    format_func=lambda c: c or t("(not in the file)"),
                    key=f"history_team_{name}",
                )
                or None
            )
    cols = st.columns(2)
    parent = cols[0].selectbox(
        t("Teams under"),
        ["", *units],
        format_func=lambda u: units.get(u, t("(anywhere in my scope)")),
        key="history_parent",
    )
    source = text_input(
        t("Source name"), value="history", max_chars=20, container=cols[1], key="history_source"
    )
    unowned = st.radio(
        t("Open rows without a known owner go to"),
        UNOWNED,
        horizontal=True,
        format_func=lambda code: t(label_of("history_import.unowned", code)),
        key="history_unowned",
    )
    create = st.checkbox(
        t("Create missing users and units"),
        help=t(
            "Owners of closed rows nobody matches become resigned accounts that cannot sign in, so their wins still count for them; teams become units under the chosen parent."
        ),
        key="history_create",
    )
    chosen = HistorySettings(
        teams=teams,
        team_mapping=team_mapping,
        parent_unit_id=parent or None,
        create_missing=create,
        source=source.strip(),
        unowned=unowned,
    )
    problems = settings_problems(chosen)
    for problem in problems:
        st.warning(t(problem))
    return None if problems else chosen


def _extra(plan: Preview) -> None:
    """What the history preview holds beyond the counts: the won value, the people already
    known, the rows without an owner, and the users and units to be created."""
    rows = plan.rows_in("imported")
    won = sum((r.amount or 0 for r in rows if r.stage == "won"), 0)
    st.metric(t("Won value"), f"{won:,.2f}")
    known = sum(1 for r in rows if r.lead_id is not None)
    unowned = sum(1 for r in rows if r.pool_state in ("public", "unassigned"))
    if known or unowned:
        st.caption(
            t(
                "{known} rows are people already in the lead library ({taken} close their imported opportunity); {unowned} open rows have no owner and go to the pool or to dispatch.",
                known=known,
                taken=sum(1 for r in rows if r.takeover is not None),
                unowned=unowned,
            )
        )
    new_units, new_users = plan.details.get("new_units", []), plan.details.get("new_users", [])
    if new_units or new_users:
        st.info(
            t(
                "Will create {units} units and {users} users.",
                units=len(new_units),
                users=len(new_users),
            )
        )
        st.caption(md(", ".join(f"{name} ({parent})" for name, parent in new_units)))


def _button(plan: Preview) -> str:
    count = len(plan.rows_in("imported"))
    return nt("Import {n} opportunity", "Import {n} opportunities", count)


def _ready(plan: Preview) -> bool:
    mode = st.session_state.get(f"{KEY}_mode")
    return bool(plan.rows_in("imported")) and not (mode == "all_or_nothing" and plan.rejected)


run_pending(HISTORY, me, KEY)
import_page(
    HISTORY,
    me,
    KEY,
    ImportTexts(
        upload=t("Opportunities (CSV or XLSX)"),
        upload_help=t(
            "UTF-8 (with or without BOM), GBK and Excel files all read. The first row holds the column names."
        ),
        rejected_file="rejected-history.csv",
    ),
    extra=_extra,
    ready=_ready,
    runs=lambda s: list_history_imports(s, me),
    button=_button,
    settings=_settings,
)
