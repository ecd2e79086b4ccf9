"""The history import: bringing a company's past over from another CRM, so that its
history shows in the dashboards from day one.

The flow the page follows: `read_table` the pipeline file (and optionally a team file:
owner -> team -> parent unit) -> `guess_columns` / `guess_team_columns` (corrected by hand)
(custom fields of opportunities and leads among them, `custom_columns`) -> `value_columns`
(each option column's distinct values with their counts and options: value mapping, the
user's choices in `HistoryOptions.value_choices`) and the business line -> `preview_history`
(every bad row with its row, column and reason, every warning on a kept row; the users and
units that would be created)
-> `run_history_import` (good rows, or all or nothing), idempotent by the source's
opportunity id; the run remembers the value mapping for the next history file.
"""

from collections.abc import Iterable

import pandas as pd
from sqlmodel import Session

from crm_core.imports.history.columns import (
    COLUMNS,
    DEFAULT_STAGE_MAP,
    IMPORT_KIND,
    MODES,
    OPTION_FIELDS,
    TEAM_COLUMNS,
    UNOWNED,
    HistoryOptions,
)
from crm_core.imports.history.custom import CustomColumn, custom_columns
from crm_core.imports.history.people import HistoryIssue, cells_of
from crm_core.imports.history.preview import (
    MAX_ROWS,
    HistoryReport,
    mapping_problems,
    preview_history,
)
from crm_core.imports.history.run import list_history_imports, run_history_import
from crm_core.imports.history.values import ValueColumn
from crm_core.imports.history.values import value_columns as _value_columns
from crm_core.imports.tabular import guess_mapping
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission


def guess_columns(
    columns: Iterable[str], custom: dict[str, CustomColumn] | None = None
) -> dict[str, str | None]:
    """Field -> the pipeline file's column that seems to hold it (the custom fields
    `custom_columns` offers among the fields). A file with a lead id and no opportunity id
    of its own (a closed-deals export) is keyed by the lead id."""
    fields = dict(COLUMNS)
    fields.update({name: c.synonyms for name, c in (custom or {}).items()})
    mapping = guess_mapping(columns, fields)
    if not mapping["external_id"] and mapping["lead_id"]:
        mapping["external_id"] = mapping["lead_id"]
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
    actor.require(Permission.IMPORT_HISTORY)
    custom = custom_columns(session, actor)
    cells = {
        name: cells_of(frame, header, options)
        for name, header in options.mapping.items()
        if header and header in frame.columns
    }
    return _value_columns(session, cells, options, custom)


__all__ = [
    "COLUMNS",
    "DEFAULT_STAGE_MAP",
    "IMPORT_KIND",
    "MAX_ROWS",
    "MODES",
    "OPTION_FIELDS",
    "TEAM_COLUMNS",
    "UNOWNED",
    "HistoryIssue",
    "HistoryOptions",
    "HistoryReport",
    "CustomColumn",
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
