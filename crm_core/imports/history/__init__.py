"""The history import: bringing a company's past over from another CRM, so that its
history shows in the dashboards from day one.

The flow the page follows: `read_table` the pipeline file (and optionally a team file:
owner -> team -> parent unit) -> `guess_columns` / `guess_team_columns` (corrected by hand)
-> the stage map (the source's stages to ours) and the business line -> `preview_history`
(every bad row with its row, column and reason, every warning on a kept row; the users and
units that would be created)
-> `run_history_import` (good rows, or all or nothing), idempotent by the source's
opportunity id.
"""

from collections.abc import Iterable

from crm_core.imports.history.columns import (
    COLUMNS,
    DEFAULT_STAGE_MAP,
    MODES,
    TEAM_COLUMNS,
    UNOWNED,
    HistoryOptions,
)
from crm_core.imports.history.people import HistoryIssue
from crm_core.imports.history.preview import (
    MAX_ROWS,
    HistoryReport,
    mapping_problems,
    preview_history,
)
from crm_core.imports.history.run import list_history_imports, run_history_import
from crm_core.imports.tabular import guess_mapping


def guess_columns(columns: Iterable[str]) -> dict[str, str | None]:
    """Field -> the pipeline file's column that seems to hold it. A file with a lead id
    and no opportunity id of its own (a closed-deals export) is keyed by the lead id."""
    mapping = guess_mapping(columns, COLUMNS)
    if not mapping["external_id"] and mapping["lead_id"]:
        mapping["external_id"] = mapping["lead_id"]
    return mapping


def guess_team_columns(columns: Iterable[str]) -> dict[str, str | None]:
    """Field -> the team file's column that seems to hold it."""
    return guess_mapping(columns, TEAM_COLUMNS)


def source_stages(values: Iterable[object]) -> list[str]:
    """The distinct stage words of a column, in order of first appearance."""
    seen: dict[str, None] = {}
    for value in values:
        text = str(value or "").strip()
        if text:
            seen.setdefault(text, None)
    return list(seen)


__all__ = [
    "COLUMNS",
    "DEFAULT_STAGE_MAP",
    "MAX_ROWS",
    "MODES",
    "TEAM_COLUMNS",
    "UNOWNED",
    "HistoryIssue",
    "HistoryOptions",
    "HistoryReport",
    "guess_columns",
    "guess_team_columns",
    "list_history_imports",
    "mapping_problems",
    "preview_history",
    "run_history_import",
    "source_stages",
]
