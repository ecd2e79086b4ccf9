"""The history import: bringing a company's past over from another CRM, so that its
history shows in the dashboards from day one - a spec of the import engine (`HISTORY`,
`crm_core.imports.history.spec`), shown by the engine's page flow.

The flow: `read_table` the pipeline file (and optionally a team file: owner -> team ->
parent unit) -> `guess_columns` / `guess_team_columns` (corrected by hand; custom fields of
opportunities and leads among the fields) -> `value_columns` (each option column's distinct
values with their counts and options: value mapping, remembered per import kind) ->
`preview_history` (every bad row with its row, column and reason, every notice on a kept
row, the users and units that would be created) -> `run_history_import` (good rows, or all
or nothing), idempotent by the source's opportunity id. These functions are the history
import's words over `engine.preview` / `engine.apply`.
"""

from collections.abc import Iterable

import pandas as pd
from sqlmodel import Session

from crm_core.imports import engine
from crm_core.imports.history.columns import (
    COLUMNS,
    DEFAULT_STAGE_MAP,
    FIELDS,
    IMPORT_KIND,
    MODES,
    OPTION_FIELDS,
    TEAM_COLUMNS,
    UNOWNED,
    HistoryOptions,
    HistorySettings,
)
from crm_core.imports.history.custom import CustomColumn, custom_columns
from crm_core.imports.history.people import HistoryIssue
from crm_core.imports.history.report import (
    HistoryReport,
    ValueColumn,
    import_options,
    list_history_imports,
    preview_history,
    run_history_import,
)
from crm_core.imports.history.spec import HISTORY, MAX_ROWS, mapping_problems
from crm_core.imports.tabular import guess_mapping
from crm_core.platform.actor import Actor


def guess_columns(
    columns: Iterable[str], custom: dict[str, CustomColumn] | None = None
) -> dict[str, str | None]:
    """Field -> the pipeline file's column that seems to hold it (the custom fields
    `custom_columns` offers among the fields). A file with a lead id and no opportunity id
    of its own (a closed-deals export) is keyed by the lead id."""
    fields = dict(COLUMNS)
    fields.update({name: c.synonyms for name, c in (custom or {}).items()})
    mapping = guess_mapping(columns, fields)
    for name, other in HISTORY.shared_guess:
        if not mapping[name] and mapping[other]:
            mapping[name] = mapping[other]
    return mapping


def guess_team_columns(columns: Iterable[str]) -> dict[str, str | None]:
    """Field -> the team file's column that seems to hold it."""
    return guess_mapping(columns, TEAM_COLUMNS)


def value_columns(
    session: Session, actor: Actor, frame: pd.DataFrame, options: HistoryOptions
) -> dict[str, ValueColumn]:
    """For each mapped column whose values must be options (stage, stage before closing,
    channel, lost reason, business line, intention level, a choice custom field): its
    distinct values with their row counts and the option each resolves to - what the page
    lists for the user to map. Needs import_history."""
    given = import_options(session, options, None, "")
    found = engine.value_columns(session, actor, HISTORY, frame, given)
    categories = {f.name: f.category for f in engine.import_fields(session, actor, HISTORY)}
    return {name: ValueColumn(categories[name] or "", values) for name, values in found.items()}


__all__ = [
    "COLUMNS",
    "DEFAULT_STAGE_MAP",
    "FIELDS",
    "HISTORY",
    "IMPORT_KIND",
    "MAX_ROWS",
    "MODES",
    "OPTION_FIELDS",
    "TEAM_COLUMNS",
    "UNOWNED",
    "CustomColumn",
    "HistoryIssue",
    "HistoryOptions",
    "HistoryReport",
    "HistorySettings",
    "ValueColumn",
    "custom_columns",
    "guess_columns",
    "guess_team_columns",
    "list_history_imports",
    "mapping_problems",
    "preview_history",
    "run_history_import",
    "value_columns",
]
