"""The history import in its own words over the engine: `preview_history` and
`run_history_import` take the pipeline file, the optional team file and `HistoryOptions`,
run `engine.preview` / `engine.apply` with `HISTORY`, and say what was found or done as a
`HistoryReport` (the tests, the benchmark and scripts read it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlmodel import Session

from crm_core.imports import engine
from crm_core.imports.engine import ImportOptions, PastRun, Preview, last_runs
from crm_core.imports.history.columns import HistoryOptions
from crm_core.imports.history.people import HistoryIssue
from crm_core.imports.history.rows import ALREADY_IMPORTED, IMPORTED
from crm_core.imports.history.spec import HISTORY
from crm_core.imports.value_mapping import ResolvedValue
from crm_core.models import DEFAULT_STAGES, BusinessLine
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import paused_gc
from crm_core.platform.errors import NotFound
from crm_core.platform.permissions import DataScope, Permission


@dataclass(frozen=True)
class ValueColumn:
    """A mapped column of the file whose values must be options: the list it maps onto
    (`category`, for a choice custom field `field:<id>`) and its distinct values."""

    category: str
    values: list[ResolvedValue]


@dataclass
class HistoryReport:
    """What a preview found or a run did. `refused`: all or nothing was asked and some row
    is bad, so nothing was stored. `plan` is the engine's preview it was made from."""

    filename: str
    total_rows: int
    to_import: int
    already_imported: int
    issues: list[HistoryIssue] = field(default_factory=list)
    # Notices on kept rows (a close date taken from the row's other dates, a win without an
    # amount, closed before created, an owner who is no user): shown apart from bad rows.
    warnings: list[HistoryIssue] = field(default_factory=list)
    new_users: list[tuple[str, str]] = field(default_factory=list)  # (name, unit name)
    new_units: list[tuple[str, str]] = field(default_factory=list)  # (name, parent name)
    by_stage: dict[str, int] = field(default_factory=dict)
    won_value: Decimal = Decimal(0)
    unowned: int = 0  # open rows going to the pool or to dispatch
    taken_over: int = 0  # rows written onto an imported lead's untouched opportunity
    known_people: int = 0  # rows whose person is in the lead library already
    preview: bool = True
    refused: bool = False
    import_id: int | None = None  # the run's audit entry (the batch id)
    # field -> the column's distinct values and the option each maps onto (value mapping)
    values: dict[str, ValueColumn] = field(default_factory=dict)
    custom_values: int = 0  # custom field values a run stored
    plan: Preview | None = None

    @property
    def rejected(self) -> int:
        """Rows of the history file that cannot be imported."""
        return len({i.row for i in self.issues})

    @property
    def imported(self) -> int:
        return 0 if self.preview or self.refused else self.to_import


def summary(plan: Preview) -> dict[str, Any]:
    """What the good rows of a history preview hold: rows per stage, the won value, open
    rows without an owner, rows closing an imported opportunity, people already known."""
    rows = plan.rows_in(IMPORTED)
    by_stage = dict.fromkeys(DEFAULT_STAGES, 0)
    for row in rows:
        by_stage[row.stage] += 1
    return {
        "to_import": len(rows),
        "by_stage": {k: v for k, v in by_stage.items() if v},
        "won_value": sum((r.amount or Decimal(0) for r in rows if r.stage == "won"), Decimal(0)),
        "unowned": sum(1 for r in rows if r.pool_state in ("public", "unassigned")),
        "taken_over": sum(1 for r in rows if r.takeover is not None),
        "known_people": sum(1 for r in rows if r.lead_id is not None),
        "new_users": list(plan.details.get("new_users", [])),
        "new_units": list(plan.details.get("new_units", [])),
    }


def report_of(plan: Preview, mode: str) -> HistoryReport:
    """The engine's preview of a history file as a `HistoryReport`."""
    categories = {f.name: f.category for f in plan.fields if f.category}

    def issue(i) -> HistoryIssue:
        return HistoryIssue(i.row, i.column or None, i.key, dict(i.params))

    report = HistoryReport(
        filename=plan.source,
        total_rows=plan.total_rows,
        already_imported=len(plan.rows_in(ALREADY_IMPORTED)),
        issues=[issue(i) for i in plan.issues],
        warnings=[issue(w) for w in plan.warnings],
        values={n: ValueColumn(categories[n], list(v)) for n, v in plan.values.items()},
        plan=plan,
        **summary(plan),
    )
    report.refused = mode == "all_or_nothing" and bool(plan.rejected)
    return report


def import_options(
    session: Session, options: HistoryOptions, teams: pd.DataFrame | None, filename: str
) -> ImportOptions:
    """`HistoryOptions` as the engine's options: the line and the stage for rows whose
    file gives none are values for the whole file, the rest the history import's own."""
    line = session.get(BusinessLine, options.business_line_id)
    if line is None:
        raise NotFound(entity="business_line", id=options.business_line_id)
    defaults: dict[str, Any] = {"business_line": line.code}
    if options.default_stage:
        defaults["stage"] = options.default_stage
    return ImportOptions(
        mapping=options.mapping,
        placeholders=options.placeholders,
        time_zone=options.time_zone,
        value_choices=options.value_choices,
        source=filename,
        defaults=defaults,
        settings=options.settings(teams),
    )


def preview_history(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams: pd.DataFrame | None,
    options: HistoryOptions,
) -> HistoryReport:
    """What `run_history_import` would do with these files, without storing anything."""
    actor.require(Permission.IMPORT_HISTORY)
    filename = str(frame.attrs.get("filename", ""))
    with paused_gc():
        given = import_options(session, options, teams, filename)
        plan = engine.preview(session, actor, HISTORY, frame, given)
    return report_of(plan, options.mode)


def run_history_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams: pd.DataFrame | None,
    options: HistoryOptions,
    *,
    progress: Callable[[float], None] | None = None,
) -> HistoryReport:
    """Preview the files and import them as the options say, in one transaction
    committed at the end (the engine's apply): rows imported before are skipped, so a
    second run adds nothing; all or nothing with a bad row stores nothing but the refused
    run's audit entry. On an error nothing of the file is stored."""
    report = preview_history(session, actor, frame, teams, options)
    assert report.plan is not None
    with paused_gc():
        run = engine.apply(session, actor, HISTORY, report.plan, options.mode, progress)
    report.preview = False
    report.refused = run.refused
    report.import_id = run.audit_id
    report.custom_values = run.custom_values
    return report


def list_history_imports(session: Session, actor: Actor, *, limit: int = 20) -> list[PastRun]:
    """The latest history imports, from their audit entries: the actor's own, or
    everyone's for a company-wide scope."""
    everyone = actor.scope is DataScope.ALL
    return last_runs(session, actor, HISTORY, limit, everyone=everyone)


__all__ = [
    "HistoryReport",
    "ValueColumn",
    "import_options",
    "list_history_imports",
    "preview_history",
    "report_of",
    "run_history_import",
    "summary",
]
