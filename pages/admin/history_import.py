"""History import (switching from another CRM): upload the pipeline file and optionally a
team file -> map columns (custom fields of opportunities and leads among them), owners'
teams, business line -> map the values of the option columns (the source's stages onto
ours, channels, lost reasons ...: remembered for the next file) -> preview every bad row ->
import (good rows or all or nothing). Re-importing a file adds nothing."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from crm_core.analytics.scope import unit_choices
from crm_core.custom_fields.definitions import field_label
from crm_core.imports.history import (
    COLUMNS,
    MODES,
    TEAM_COLUMNS,
    UNOWNED,
    HistoryOptions,
    custom_columns,
    guess_columns,
    guess_team_columns,
    list_history_imports,
    mapping_problems,
    preview_history,
    run_history_import,
    value_columns,
)
from crm_core.imports.tabular import read_table
from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.metadata import list_business_lines
from crm_core.platform.permissions import Permission
from ui.company_time import file_zone_picker
from ui.context import actor
from ui.db import session
from ui.i18n import language, nt, show_error, t
from ui.inputs import text_input
from ui.options import stage_text
from ui.text import md
from ui.value_mapping import value_mapping

_GO = "history_import_go"


def _read(upload) -> pd.DataFrame | None:
    if upload is None:
        return None
    try:
        return read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        st.stop()


def _field_label(name: str) -> str:
    if name in custom:
        return field_label(custom[name].field, language())
    return t(label_of("history_import.field", name))


def _mapping(frame: pd.DataFrame, fields, guessed: dict, prefix: str) -> dict:
    choices = ["", *frame.columns]
    grid = st.columns(4)
    chosen = {}
    for position, name in enumerate(fields):
        chosen[name] = (
            grid[position % 4].selectbox(
                _field_label(name),
                choices,
                index=choices.index(guessed.get(name) or ""),
                format_func=lambda c: c or t("(not in the file)"),
                key=f"{prefix}_{name}",
            )
            or None
        )
    return chosen


def _issues(issues) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("File"): t(label_of("history_import.file", i.file)),
                t("Row"): i.row,
                t("Column"): i.column or "",
                t("Reason"): t(i.reason, **i.params),
            }
            for i in issues
        ]
    )


def _request() -> None:
    st.session_state[_GO] = True


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
    lines = {line.id: line.name for line in list_business_lines(s)}
    units = unit_choices(s, me) if me.can(Permission.VIEW_DASHBOARDS) else {}
    custom = custom_columns(s, me)

left, right = st.columns(2)
upload = left.file_uploader(
    t("Opportunities (CSV or XLSX)"), type=["csv", "xlsx"], key="history_import_file"
)
pipeline = _read(upload)
teams = _read(
    right.file_uploader(
        t("Teams (optional: owner, team, parent unit)"),
        type=["csv", "xlsx"],
        key="history_import_teams",
    )
)
if pipeline is None:
    with session() as s:
        runs = list_history_imports(s, me)
    if runs:
        st.subheader(t("Earlier imports"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("When"): r.started_at,
                        t("File"): r.filename,
                        t("Status"): t(label_of("history_import.status", r.status)),
                        t("Imported"): r.imported,
                        t("Imported before"): r.already_imported,
                        t("Bad rows"): r.rejected,
                    }
                    for r in runs
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    st.stop()

st.subheader(t("Columns"))
if custom:
    st.caption(t("The custom fields of opportunities and leads are columns too."))
mapping = _mapping(
    pipeline, [*COLUMNS, *custom], guess_columns(pipeline.columns, custom), "history_map"
)
team_mapping = {}
if teams is not None:
    st.caption(t("Columns of the team file"))
    team_mapping = _mapping(teams, TEAM_COLUMNS, guess_team_columns(teams.columns), "history_team")

default_stage = None
if not mapping.get("stage"):
    # A closed-deals export has no stage column: every row is a win (or a loss).
    default_stage = st.selectbox(
        t("Stage of every row"),
        ["won", "lost", *OPEN_STAGES],
        format_func=stage_text,
        key="history_default_stage",
    )

cols = st.columns(4)
line = cols[0].selectbox(t("Business line"), list(lines), format_func=lines.get)
parent = cols[1].selectbox(
    t("Teams under"),
    ["", *units],
    format_func=lambda u: units.get(u, t("(anywhere in my scope)")),
)
source = text_input(t("Source name"), value="history", max_chars=20, container=cols[2])
mode = cols[3].radio(
    t("Bad rows"),
    MODES,
    horizontal=True,
    format_func=lambda m: t(label_of("history_import.mode", m)),
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
)
file_zone = file_zone_picker("history_import_zone")
if line is None:
    st.warning(t("Create a business line first."))
    st.stop()
options = HistoryOptions(
    mapping=mapping,
    business_line_id=line,
    team_mapping=team_mapping,
    parent_unit_id=parent or None,
    create_missing=create,
    mode=mode,
    source=source.strip(),
    time_zone=file_zone,
    default_stage=default_stage,
    unowned=unowned,
)
problems = mapping_problems(options)
if problems:
    for problem in problems:
        st.warning(t(problem))
    st.stop()

try:
    with session() as s:
        found = value_columns(s, me, pipeline, options)
except CrmError as error:
    show_error(error)
    st.stop()
if found:
    st.subheader(t("Values"))
    st.caption(
        t(
            "Each value of a column that must be an option (the source's stages, channels, lost reasons ...) is matched to the company's lists by code or label (any case). Choose an option for the others; your choices are remembered for the next file."
        )
    )
    chosen_values = {
        name: value_mapping(
            me,
            name,
            column.category,
            column.values,
            title=f"{_field_label(name)} ({mapping[name]})",
            key=f"history_values_{name}_{upload.file_id}",
        )
        for name, column in found.items()
    }
    options = replace(options, value_choices=chosen_values)

if st.session_state.pop(_GO, False):
    bar = st.progress(0.0, text=t("Importing {rows} rows ...", rows=len(pipeline)))
    try:
        with session() as s:
            done = run_history_import(
                s, me, pipeline, teams, options, progress=lambda share: bar.progress(share)
            )
    except CrmError as error:
        bar.empty()
        show_error(error)
        st.stop()
    bar.empty()
    if done.refused:
        st.error(
            nt(
                "Nothing imported: {count} bad row and all or nothing was asked.",
                "Nothing imported: {count} bad rows and all or nothing was asked.",
                done.rejected,
                count=done.rejected,
            )
        )
    else:
        st.success(
            t(
                "Imported {imported}; {already} were imported before; {rejected} bad rows.",
                imported=done.imported,
                already=done.already_imported,
                rejected=done.rejected,
            )
        )
    st.stop()

try:
    with session() as s:
        report = preview_history(s, me, pipeline, teams, options)
except CrmError as error:
    show_error(error)
    st.stop()
st.subheader(t("Preview"))
metrics = st.columns(4)
metrics[0].metric(t("To import"), f"{report.to_import:,}")
metrics[1].metric(t("Imported before"), f"{report.already_imported:,}")
metrics[2].metric(t("Bad rows"), f"{report.rejected:,}")
metrics[3].metric(t("Won value"), f"{report.won_value:,.2f}")
if report.known_people or report.unowned:
    st.caption(
        t(
            "{known} rows are people already in the lead library ({taken} close their imported opportunity); {unowned} open rows have no owner and go to the pool or to dispatch.",
            known=report.known_people,
            taken=report.taken_over,
            unowned=report.unowned,
        )
    )
if report.new_units or report.new_users:
    st.info(
        t(
            "Will create {units} units and {users} users.",
            units=len(report.new_units),
            users=len(report.new_users),
        )
    )
    st.caption(md(", ".join(f"{name} ({parent})" for name, parent in report.new_units)))
if report.issues:
    st.warning(
        nt(
            "{count} problem; see it below.",
            "{count} problems; see each below.",
            len(report.issues),
            count=len(report.issues),
        )
    )
    st.dataframe(_issues(report.issues), hide_index=True, width="stretch", key="history_issues")
if report.warnings:
    st.info(
        nt(
            "{count} row is kept with a notice; see it below.",
            "{count} rows are kept with a notice; see each below.",
            len(report.warnings),
            count=len(report.warnings),
        )
    )
    st.dataframe(_issues(report.warnings), hide_index=True, width="stretch", key="history_warnings")
st.button(
    nt("Import {n} opportunity", "Import {n} opportunities", report.to_import),
    type="primary",
    on_click=_request,
    disabled=not report.to_import or report.refused,
    key="history_import_button",
)
