"""Checking a history file before anything is written: the report the page shows, and the
plan the run writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.imports.history.columns import MODES, REQUIRED, UNOWNED, HistoryOptions
from crm_core.imports.history.custom import CustomColumn
from crm_core.imports.history.people import HistoryIssue, Mapping
from crm_core.imports.history.rows import HistoryRow, read_history
from crm_core.imports.history.values import ValueColumn
from crm_core.models import DEFAULT_STAGES, BusinessLine, OrgUnit
from crm_core.org.units import get_unit
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MAX_ROWS = 200_000


@dataclass
class HistoryReport:
    """What a preview found or a run did. `refused`: all or nothing was asked and some row
    is bad, so nothing was stored."""

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
    import_id: int | None = None
    # field -> the column's distinct values and the option each maps onto (value mapping)
    values: dict[str, ValueColumn] = field(default_factory=dict)
    custom_values: int = 0  # custom field values a run stored

    @property
    def rejected(self) -> int:
        """Rows of the history file that cannot be imported."""
        return len({i.row for i in self.issues if i.file == "pipeline"})

    @property
    def imported(self) -> int:
        return 0 if self.preview or self.refused else self.to_import


@dataclass
class HistoryPlan:
    rows: list[HistoryRow]
    mapping: Mapping
    report: HistoryReport
    custom: dict[str, CustomColumn] = field(default_factory=dict)


_MAP_MISSING = {
    "external_id": N_("Choose the column of the opportunity id."),
}


def mapping_problems(options: HistoryOptions) -> list[str]:
    """Why the mapping cannot work (messages), or nothing."""
    problems = [_MAP_MISSING[name] for name in REQUIRED if not options.mapping.get(name)]
    if not options.mapping.get("stage") and not options.default_stage:
        problems.append(N_("Choose the column of the stage, or a stage for the whole file."))
    # One column may be both the opportunity's id and the person's (a closed-deals export
    # keyed by the lead's id); no other column serves two fields.
    used = [c for name, c in options.mapping.items() if c and name != "lead_id"]
    lead_column = options.mapping.get("lead_id")
    if lead_column and lead_column != options.mapping.get("external_id"):
        used.append(lead_column)
    if len(used) != len(set(used)):
        problems.append(N_("One column is chosen for two fields."))
    if options.team_mapping and not (
        options.team_mapping.get("owner") and options.team_mapping.get("team")
    ):
        problems.append(N_("Choose the owner and team columns of the team file."))
    if options.mode not in MODES:
        problems.append(N_("Unknown way of handling bad rows."))
    if not options.source.strip() or len(options.source) > 20:
        problems.append(N_("The source name must be 1 to 20 characters."))
    if options.unowned not in UNOWNED:
        problems.append(N_("Choose where rows without an owner go."))
    if options.default_stage is not None and options.default_stage not in DEFAULT_STAGES:
        problems.append(N_("A source stage maps to an unknown stage."))
    return problems


def check_request(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams: pd.DataFrame | None,
    options: HistoryOptions,
) -> None:
    """Refuse what cannot be imported at all (as a whole, not row by row)."""
    actor.require(Permission.IMPORT_HISTORY)
    problems = mapping_problems(options)
    if problems:
        raise ValidationError(problems[0])
    for table, mapping in ((frame, options.mapping), (teams, options.team_mapping)):
        if table is None:
            continue
        unknown = [c for c in mapping.values() if c and c not in table.columns]
        if unknown:
            raise ValidationError(N_("The file has no column {column}."), column=unknown[0])
    if len(frame.index) > MAX_ROWS:
        raise ValidationError(
            N_("{rows} rows: at most {max} in one import."), rows=len(frame.index), max=MAX_ROWS
        )
    if session.get(BusinessLine, options.business_line_id) is None:
        raise NotFound(entity="business_line", id=options.business_line_id)
    if options.create_missing:
        actor.require(Permission.MANAGE_USERS)
        actor.require(Permission.MANAGE_ORG)


def plan_history(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams: pd.DataFrame | None,
    options: HistoryOptions,
    now: datetime,
) -> HistoryPlan:
    """Read and map the file; nothing is written."""
    check_request(session, actor, frame, teams, options)
    if options.parent_unit_id is not None:
        get_unit(session, actor, options.parent_unit_id)
    reading = read_history(session, actor, frame, teams, options, now)
    rows, issues, mapping = reading.rows, reading.issues, reading.mapping
    names = {u.id: u.name for u in session.exec(_units_named(mapping)).all()}
    planned = {u.key: u.name for u in mapping.new_units}
    by_stage = dict.fromkeys(DEFAULT_STAGES, 0)
    for row in rows:
        by_stage[row.stage] += 1
    report = HistoryReport(
        filename=str(frame.attrs.get("filename", "")),
        total_rows=len(frame.index),
        to_import=len(rows),
        already_imported=reading.skipped,
        issues=sorted(issues, key=lambda i: (i.file != "pipeline", i.row)),
        warnings=reading.warnings,
        new_users=[
            (u.name, planned.get(u.unit) or names.get(u.unit, "")) for u in mapping.new_users
        ],  # type: ignore[arg-type]
        new_units=[
            (u.name, planned.get(u.parent) or names.get(u.parent, "")) for u in mapping.new_units
        ],  # type: ignore[arg-type]
        by_stage={k: v for k, v in by_stage.items() if v},
        won_value=sum((r.amount or Decimal(0) for r in rows if r.stage == "won"), Decimal(0)),
        unowned=sum(1 for r in rows if r.pool_state in ("public", "unassigned")),
        taken_over=sum(1 for r in rows if r.takeover is not None),
        known_people=sum(1 for r in rows if r.lead_id is not None),
        values=reading.values,
    )
    report.refused = options.mode == "all_or_nothing" and bool(report.issues)
    return HistoryPlan(rows, mapping, report, reading.custom)


def _units_named(mapping: Mapping):
    ids = {u.unit for u in mapping.new_users if isinstance(u.unit, int)}
    ids |= {u.parent for u in mapping.new_units if isinstance(u.parent, int)}
    return select(OrgUnit).where(col(OrgUnit.id).in_(ids))


def preview_history(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams: pd.DataFrame | None,
    options: HistoryOptions,
) -> HistoryReport:
    """What `run_history_import` would do with these files, without storing anything."""
    return plan_history(session, actor, frame, teams, options, clock.now()).report
