"""Lead import (marketing, managers): upload -> column mapping -> preview -> import.

The preview is a dry run of the intake, redone whenever the file or the mapping changes. The
Import button only remembers which preview was on screen; the next run imports exactly that
file with exactly those options, under a progress bar. Stopping the page mid-run rolls the
whole import back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from crm_core.imports.leads import (
    MODES,
    OPTION_FIELDS,
    ImportOptions,
    ImportReport,
    guess_columns,
    lead_fields,
    list_imports,
    mapping_problems,
    preview_import,
    run_import,
    value_columns,
)
from crm_core.imports.tabular import read_table
from crm_core.leads.masking import mask_any_phone
from crm_core.platform.cells import placeholder_set
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.metadata import list_business_lines, list_options, option_label
from crm_core.platform.permissions import Permission
from ui.company_time import file_zone_picker
from ui.context import actor
from ui.db import session
from ui.file_import import column_mapping, placeholder_input
from ui.i18n import language, nt, show_error, t, tmd
from ui.lead_import_report import show_report
from ui.value_mapping import value_mapping

_FILE = "lead_import_file"  # (file id, frame)
_PREVIEW = "lead_import_preview"  # _Checked on screen
_PENDING = "lead_import_pending"
_RESULT = "lead_import_result"  # (_Checked, report)
_ROUND = "lead_import_round"
_REQUIRED = ("name",)


@dataclass(frozen=True)
class _Checked:
    frame: pd.DataFrame
    options: ImportOptions
    signature: tuple
    report: ImportReport


def _signature(file_id: str, options: ImportOptions) -> tuple:
    return (
        file_id,
        tuple(sorted(options.mapping.items(), key=str)),
        options.placeholders,
        options.default_channel,
        options.default_line_codes,
        options.mode,
        options.time_zone,
        tuple(sorted((f, tuple(sorted(c.items()))) for f, c in options.value_choices.items())),
    )


def _request_import() -> None:
    # Runs before the next script run: remember the preview that was on screen.
    st.session_state[_PENDING] = st.session_state.get(_PREVIEW)


def _sample(frame: pd.DataFrame, phone_column: str | None) -> pd.DataFrame:
    """The file's first rows, phones masked for readers who may not see them."""
    sample = frame.head(5).copy()
    if phone_column and not me.can(Permission.VIEW_FULL_PHONE):
        sample[phone_column] = sample[phone_column].map(mask_any_phone)
    return sample


def _history() -> None:
    with session() as s:
        runs = list_imports(s, me)
    if not runs:
        return
    st.subheader(t("Recent imports"))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Started"): run.started_at,
                    t("File"): run.filename,
                    t("Result"): t(label_of("lead_import.status", run.status)),
                    t("New leads"): run.created,
                    t("New business line"): run.added_line,
                    t("Collisions"): run.collisions,
                    t("Repeated in file"): run.duplicates,
                    t("Bad rows"): run.rejected,
                }
                for run in runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )


me = actor()
st.title(t("Import leads"))
st.caption(
    t(
        "Upload a CSV or Excel file of leads (up to 200,000 rows). Check which column is which, look at the preview, then import. Known people are not duplicated: their owners keep them and see the new inquiry."
    )
)

with session() as s:
    lines = list_business_lines(s)
    channels = list_options(s, "channel")
line_names = {line.code: line.name for line in lines}

pending: _Checked | None = st.session_state.pop(_PENDING, None)
if pending is not None:
    bar = st.progress(0.0, text=t("Importing {rows} rows...", rows=pending.report.total_rows))
    try:
        with session() as s:
            report = run_import(
                s,
                me,
                pending.frame,
                pending.options,
                progress=lambda share: bar.progress(
                    share, text=t("Importing {rows} rows...", rows=pending.report.total_rows)
                ),
            )
    except CrmError as error:
        bar.empty()
        show_error(error)
    else:
        bar.empty()
        st.session_state[_RESULT] = (pending, report)
        st.session_state[_ROUND] = st.session_state.get(_ROUND, 0) + 1
        st.session_state.pop(_FILE, None)
st.session_state.pop(_PREVIEW, None)

upload = st.file_uploader(
    t("Lead file (CSV or XLSX)"),
    type=["csv", "xlsx"],
    key=f"lead_import_upload_{st.session_state.get(_ROUND, 0)}",
    help=t(
        "UTF-8 (with or without BOM), GBK and Excel files all read. The first row holds the column names."
    ),
)
if upload is None:
    done = st.session_state.get(_RESULT)
    if done is not None:
        checked, report = done
        if report.refused:
            st.error(
                nt(
                    "Nothing was imported: {n} row is bad and all or nothing was chosen.",
                    "Nothing was imported: {n} rows are bad and all or nothing was chosen.",
                    report.counts["rejected"],
                )
            )
        else:
            st.success(
                t(
                    "Import finished: {stored} of {total} rows added a new lead or business line.",
                    stored=report.stored,
                    total=report.total_rows,
                )
            )
        show_report(checked.frame, checked.options, report, line_names, "result")
    _history()
    st.stop()
st.session_state.pop(_RESULT, None)

cached = st.session_state.get(_FILE)
if cached is None or cached[0] != upload.file_id:
    try:
        with st.spinner(t("Reading the file...")):
            frame = read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        st.stop()
    st.session_state[_FILE] = (upload.file_id, frame)
frame = st.session_state[_FILE][1]
st.caption(tmd("{filename}: {rows} data rows.", filename=upload.name, rows=len(frame)))

st.subheader(t("Columns"))
st.caption(
    t(
        "Each field is matched to a column of your file by its header (English or Chinese). Correct any wrong guess."
    )
)
with session() as s:
    fields = lead_fields(s, me)
specs = {spec.name: spec for spec in fields}


def _field_label(name: str) -> str:
    """A built-in field's label, or a custom field's own in the reader's language."""
    spec = specs.get(name)
    if spec is not None and spec.labels:
        return spec.labels.get(language()) or spec.labels.get("en") or name
    return t(label_of("lead_import.field", name))


mapping = column_mapping(
    frame.columns,
    [spec.name for spec in fields],
    _REQUIRED,
    guess_columns(frame.columns, fields),
    label=_field_label,
    not_mapped=t("- not in the file -"),
    key="lead_import_map",
    file_id=upload.file_id,
    width=4,
)

left, middle, right = st.columns(3)
channel_codes = ["", *(o.code for o in channels)]
channel_labels = {o.code: option_label(o, language()) for o in channels}
default_channel = left.selectbox(
    t("Channel where the file has none"),
    channel_codes,
    format_func=lambda code: channel_labels.get(code, t("- none -")),
    help=t(
        "Used for rows whose channel cell is empty, or for the whole file when it has no channel column."
    ),
    key=f"lead_import_default_channel_{upload.file_id}",
)
default_lines = middle.multiselect(
    t("Business lines where the file has none"),
    [line.code for line in lines],
    format_func=lambda code: line_names.get(code, code),
    help=t("Each lead gets one opportunity per business line."),
    key=f"lead_import_default_lines_{upload.file_id}",
)
placeholders = placeholder_input(
    t("Values that mean blank"),
    t("Comma separated. Cells holding one of these (any case) count as empty."),
    f"lead_import_placeholders_{upload.file_id}",
    right,
)
mode = st.radio(
    t("Bad rows"),
    MODES,
    format_func=lambda m: t(label_of("lead_import.mode", m)),
    horizontal=True,
    key=f"lead_import_mode_{upload.file_id}",
)
file_zone = file_zone_picker(f"lead_import_zone_{upload.file_id}")
options = ImportOptions(
    mapping=mapping,
    time_zone=file_zone,
    placeholders=placeholder_set(placeholders),
    default_channel=default_channel or None,
    default_line_codes=tuple(default_lines),
    mode=mode,
)
problems = mapping_problems(options)
if not problems:
    st.subheader(t("Values"))
    st.caption(
        t(
            "Each value of a column that must be an option is matched to the company's lists by code or label (any case). Choose an option for the others; your choices are remembered for the next file."
        )
    )
    with session() as s:
        found = value_columns(s, frame, options)
    choices_by_field: dict[str, dict[str, str]] = {}
    for name, values in found.items():
        choices_by_field[name] = value_mapping(
            me,
            name,
            specs[name].category or OPTION_FIELDS[name],
            values,
            title=f"{_field_label(name)} ({mapping[name]})",
            key=f"lead_import_values_{name}_{upload.file_id}",
            on_created=lambda: st.session_state.pop("lead_import_last", None),
        )
    options = replace(options, value_choices=choices_by_field)
with st.expander(t("First rows of the file")):
    st.dataframe(_sample(frame, mapping.get("phone")), hide_index=True, width="stretch")

if problems:
    for problem in problems:
        st.warning(t(problem))
    st.stop()

signature = _signature(upload.file_id, options)
previous: _Checked | None = st.session_state.get("lead_import_last")
if previous is not None and previous.signature == signature:
    checked = previous
else:
    try:
        with st.spinner(t("Checking {rows} rows...", rows=len(frame))), session() as s:
            checked = _Checked(frame, options, signature, preview_import(s, me, frame, options))
    except CrmError as error:
        show_error(error)
        st.stop()
    st.session_state["lead_import_last"] = checked
st.session_state[_PREVIEW] = checked

st.subheader(t("Preview"))
report = checked.report
bad = len(report.issues)
if bad and bad == report.total_rows:
    st.error(
        nt(
            "The file's {count} row is bad; see the reason below. Nothing can be imported.",
            "All {count} rows are bad; see the reasons below. Nothing can be imported.",
            bad,
            count=bad,
        )
    )
elif bad and mode == "all_or_nothing":
    st.error(
        nt(
            "{count} row is bad, so with all or nothing this file would not be imported. Fix the row or choose to import the good ones.",
            "{count} rows are bad, so with all or nothing this file would not be imported. Fix the rows or choose to import the good ones.",
            bad,
            count=bad,
        )
    )
elif bad:
    st.warning(
        nt(
            "{count} row cannot be imported; see the reason below. The other {good} can be imported.",
            "{count} rows cannot be imported; see the reasons below. The other {good} can be imported.",
            bad,
            count=bad,
            good=report.total_rows - bad,
        )
    )
elif report.total_rows:
    st.success(
        nt(
            "The file's {count} row is good.",
            "All {count} rows are good.",
            report.total_rows,
            count=report.total_rows,
        )
    )
show_report(checked.frame, checked.options, report, line_names, "preview")
# Collisions alone are worth a run too: each logs the new inquiry on the owner's opportunity.
to_store = report.counts["created"] + report.counts["added_line"] + report.counts["collision"]
st.button(
    nt("Import ({n} row)", "Import ({n} rows)", to_store),
    type="primary",
    disabled=not to_store or (mode == "all_or_nothing" and bool(report.issues)),
    on_click=_request_import,
    key="lead_import_go",
)
