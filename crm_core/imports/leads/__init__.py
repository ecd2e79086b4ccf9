"""Bulk import of leads from CSV or XLSX (up to MAX_ROWS rows), through the one intake.

The flow the page follows: `read_table` -> `guess_columns` (corrected by hand) ->
`value_columns` (each option column's distinct values, their counts and options: value
mapping, see `crm_core.imports.value_mapping`) -> `preview_import` (a dry run of the intake:
every bad row with its row number, column and reason, every collision with the current
owner, every repeat inside the file, every row imported before) ->
`run_import` (good rows, or all or nothing), with a progress callback -> the rejected rows
as a CSV (`rejected_rows_csv`). The run writes in one transaction, committed at the end, so
a failed or cancelled import leaves nothing behind; it remembers the value mapping for the
next file. A row's stage, close and owner go onto its opportunity
(`crm_core.imports.leads.outcomes`); a row imported before adds nothing
(`crm_core.imports.leads.repeats`). Phone numbers in every report are masked
for readers without `view_full_phone`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.imports.engine import guess_columns as guess_fields
from crm_core.imports.file_import import MODES
from crm_core.imports.leads.columns import (
    COLUMNS,
    CONTACT_FIELDS,
    IMPORT_KIND,
    LEAD_FIELDS,
    OPTION_FIELDS,
    SHARED_COLUMNS,
    FieldSpec,
    ImportOptions,
)
from crm_core.imports.leads.custom import (
    check_visible,
    custom_specs,
    refuse_missing_required,
    write_custom,
)
from crm_core.imports.leads.outcomes import openings_for, record_wins
from crm_core.imports.leads.repeats import already_imported
from crm_core.imports.leads.rows import CLOSED_STAGES, field_of, read_rows, value_columns
from crm_core.imports.value_mapping import ResolvedValue, remember_values
from crm_core.leads.intake import (
    ADDED_LINE,
    CREATED,
    DUPLICATE,
    OUTCOME_STATUSES,
    REJECTED,
    IntakeResult,
    intake_leads,
)
from crm_core.leads.masking import display_phone, mask_any_phone
from crm_core.models import LeadImport
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import paused_gc
from crm_core.platform.cells import neutralise_cell
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, translate
from crm_core.platform.permissions import DataScope, Permission

__all__ = [
    "ALREADY_IMPORTED",
    "COLUMNS",
    "LEAD_FIELDS",
    "OPTION_FIELDS",
    "FieldSpec",
    "lead_fields",
    "value_columns",
    "MAX_ROWS",
    "MODES",
    "ImportCollision",
    "ImportIssue",
    "ImportOptions",
    "ImportReport",
    "guess_columns",
    "list_imports",
    "mapping_problems",
    "preview_import",
    "rejected_rows_csv",
    "run_import",
]

MAX_ROWS = 200_000
ALREADY_IMPORTED = "already_imported"  # a report count: rows a run of this file stored before


@dataclass(frozen=True)
class ImportIssue:
    """A bad row: its spreadsheet row, the file's column header and the reason (a
    translation key with its parameters, phone numbers masked for the reader)."""

    row: int
    column: str | None
    reason: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ImportCollision:
    """A row for a person someone already has on that business line."""

    row: int
    name: str
    phone: str  # as the reader may see it
    business_line: str
    owner_name: str | None
    pool_state: str | None
    hidden: bool = False  # a colleague outside the reader's scope has it: no name, no state


@dataclass
class ImportReport:
    """What a preview found or a run did. `refused`: all or nothing was asked and some row
    is bad, so nothing was stored."""

    filename: str
    total_rows: int
    counts: dict[str, int]
    issues: list[ImportIssue] = field(default_factory=list)
    collisions: list[ImportCollision] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (row, first row)
    preview: bool = True
    refused: bool = False
    import_id: int | None = None
    already_imported: list[int] = field(default_factory=list)  # rows imported before
    # field -> each distinct value of the column and the option it maps onto
    values: dict[str, list[ResolvedValue]] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)  # won / lost rows among the good
    warnings: list[ImportIssue] = field(default_factory=list)  # good rows kept with a notice
    revenue: int = 0  # won rows among the good that bring revenue (an amount)

    @property
    def stored(self) -> int:
        """Rows that added something: a new lead or a new business line."""
        return (
            0
            if self.preview or self.refused
            else self.counts["created"] + self.counts["added_line"]
        )


def lead_fields(session: Session, actor: Actor) -> list[FieldSpec]:
    """The fields a lead file can map, in the page's order: the built-in ones, then the
    custom fields of leads and of opportunities that `actor` sees (`lead.<code>`,
    `opportunity.<code>`; their code and both labels are the headers they go by)."""
    return [*LEAD_FIELDS, *custom_specs(session, actor)]


def guess_columns(
    columns: Iterable[str], fields: Iterable[FieldSpec] | None = None
) -> dict[str, str | None]:
    """Field -> the file's column that seems to hold it (English or Chinese headers). A
    file without a name column is named by its lead id (`Lead Number` serves as both)."""
    mapping = guess_fields(LEAD_FIELDS if fields is None else fields, columns)
    if not mapping.get("name") and mapping.get("external_id"):
        mapping["name"] = mapping["external_id"]
    return mapping


def mapping_problems(options: ImportOptions) -> list[str]:
    """Why the mapping cannot work (translation keys), or nothing."""
    mapping = options.mapping
    problems = []
    if not mapping.get("name"):
        problems.append(N_("Choose the column that holds the name."))
    if not any(mapping.get(name) for name in CONTACT_FIELDS):
        problems.append(
            N_(
                "Choose the phone column, or for records without phones the external id, e-mail or WeChat column."
            )
        )
    if not mapping.get("channel") and not options.default_channel:
        problems.append(N_("Choose the channel column, or a channel for the whole file."))
    if not mapping.get("business_line") and not options.default_line_codes:
        problems.append(
            N_("Choose the business line column, or business lines for the whole file.")
        )
    fields_of: dict[str, list[str]] = {}
    for name, column in mapping.items():
        if column:
            fields_of.setdefault(column, []).append(name)
    if any(
        len(names) > 1 and not (len(names) == 2 and tuple(sorted(names)) in _SHARED)
        for names in fields_of.values()
    ):
        problems.append(N_("One column is chosen for two fields."))
    if options.mode not in MODES:
        problems.append(N_("Choose what to do with bad rows."))
    return problems


_SHARED = {tuple(sorted(pair)) for pair in SHARED_COLUMNS}


def _check(session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions) -> None:
    actor.require(Permission.IMPORT_LEADS)
    problems = mapping_problems(options)
    if problems:
        raise ValidationError(problems[0])
    check_visible(session, actor, options.mapping)
    unknown = [c for c in options.mapping.values() if c and c not in frame.columns]
    if unknown:
        raise ValidationError(N_("The file has no column {column}."), column=unknown[0])
    if len(frame.index) > MAX_ROWS:
        raise ValidationError(
            N_("The file has {rows} rows; at most {max} can be imported at once. Split it."),
            rows=len(frame.index),
            max=MAX_ROWS,
        )


def _masked_params(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    if "phone" in params and not actor.can(Permission.VIEW_FULL_PHONE):
        return dict(params, phone=mask_any_phone(str(params["phone"])))
    return params


def _report(
    actor: Actor,
    filename: str,
    frame: pd.DataFrame,
    options: ImportOptions,
    rows,
    result: IntakeResult,
    positions: list[int],
    repeats: set[int],
) -> ImportReport:
    """Put the file's refusals and the intake's outcomes together, in row order."""
    outcomes = {positions[o.index]: o for o in result.outcomes}
    outcomes.update(rows.refused)
    counts = dict.fromkeys((*OUTCOME_STATUSES, ALREADY_IMPORTED), 0)
    report = ImportReport(filename, len(rows.inputs), counts, preview=result.dry_run)
    report.values = rows.values
    report.already_imported = [rows.row_numbers[i] for i in sorted(repeats)]
    counts[ALREADY_IMPORTED] = len(repeats)
    names = frame[options.mapping["name"]].tolist()
    for position in sorted(outcomes):
        outcome = outcomes[position]
        row = rows.row_numbers[position]
        counts[outcome.status] += 1
        said = rows.outcomes[position] if rows.outcomes else None
        if outcome.status in (CREATED, ADDED_LINE) and said is not None and said.stage:
            if said.stage in CLOSED_STAGES:
                report.closed[said.stage] = report.closed.get(said.stage, 0) + 1
            report.revenue += said.amount is not None
            if position in rows.warnings:
                name, reason, params = rows.warnings[position]
                report.warnings.append(ImportIssue(row, options.mapping.get(name), reason, params))
        if outcome.status == REJECTED:
            column = options.mapping.get(field_of(outcome.field) or "")
            report.issues.append(
                ImportIssue(row, column, outcome.reason, _masked_params(actor, outcome.params))
            )
        elif outcome.status == DUPLICATE and outcome.duplicate_of is not None:
            report.duplicates.append((row, rows.row_numbers[positions[outcome.duplicate_of]]))
        for collision in outcome.collisions:
            report.collisions.append(
                ImportCollision(
                    row,
                    str(names[position]),
                    display_phone(actor, outcome.phone),
                    collision.business_line_code,
                    collision.owner_name,
                    collision.pool_state,
                    collision.hidden,
                )
            )
    report.refused = result.refused or (options.mode == "all_or_nothing" and bool(rows.refused))
    return report


def _intake(session, actor, frame, options, *, dry_run, progress):
    rows = read_rows(session, actor, frame, options)
    refuse_missing_required(session, actor, rows.inputs, rows.custom, rows.refused)
    good = [i for i in range(len(rows.inputs)) if i not in rows.refused]
    repeats = already_imported(session, rows.inputs, good, rows.outcomes)
    positions = [i for i in good if i not in repeats]
    refuse_all = options.mode == "all_or_nothing"
    dry = dry_run or (refuse_all and bool(rows.refused))
    result = intake_leads(
        session,
        actor,
        [rows.inputs[i] for i in positions],
        source="import",
        dry_run=dry,
        all_or_nothing=refuse_all,
        progress=progress,
        openings=openings_for(rows, positions),
    )
    if not dry and not result.refused:
        write_custom(session, rows.custom, positions, result)
        record_wins(session, actor, rows, positions, result)
        for name, values in rows.values.items():
            remember_values(session, actor, IMPORT_KIND, rows.categories[name], values)
    return rows, positions, result, repeats


def preview_import(
    session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions
) -> ImportReport:
    """What `run_import` would do with this file, without storing anything."""
    _check(session, actor, frame, options)
    with paused_gc():
        rows, positions, result, repeats = _intake(
            session, actor, frame, options, dry_run=True, progress=None
        )
        filename = str(frame.attrs.get("filename", ""))
        return _report(actor, filename, frame, options, rows, result, positions, repeats)


def run_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    options: ImportOptions,
    *,
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """Import the file as the options say, commit, and record the run (`lead_import` and
    the audit log). On an error or a cancel nothing of the file is stored."""
    _check(session, actor, frame, options)
    started = clock.now()
    with paused_gc():
        rows, positions, result, repeats = _intake(
            session, actor, frame, options, dry_run=False, progress=progress
        )
        filename = str(frame.attrs.get("filename", ""))
        report = _report(actor, filename, frame, options, rows, result, positions, repeats)
    report.preview = False
    if report.refused:
        session.rollback()
    run = LeadImport(
        filename=filename[:200],
        actor_id=actor.user_id,
        mode=options.mode,
        status="refused" if report.refused else "done",
        total_rows=report.total_rows,
        created=report.counts["created"],
        added_line=report.counts["added_line"],
        collisions=report.counts["collision"],
        duplicates=report.counts["duplicate"] + report.counts[ALREADY_IMPORTED],
        rejected=report.counts["rejected"],
        started_at=started,
        finished_at=clock.now(),
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor,
        "lead.import",
        "lead_import",
        run.id,
        None,
        {"filename": run.filename, "status": run.status, **report.counts},
    )
    session.commit()
    report.import_id = run.id
    return report


def rejected_rows_csv(
    actor: Actor, frame: pd.DataFrame, report: ImportReport, options: ImportOptions, language: str
) -> bytes:
    """The bad rows as CSV (UTF-8 with BOM, for Excel): the spreadsheet row, the file's own
    columns, the column at fault and the reason. Phones are masked as in the report; no cell
    can run as a formula."""
    phone_column = options.mapping.get("phone")
    out = io.StringIO()
    writer = csv.writer(out)
    header = [str(c) for c in frame.columns]
    writer.writerow(
        [
            translate("Row", language),
            *header,
            translate("Column at fault", language),
            translate("Reason", language),
        ]
    )
    for issue in report.issues:
        values = frame.loc[issue.row].tolist()
        cells = []
        for column, value in zip(header, values, strict=True):
            if column == phone_column and value and not actor.can(Permission.VIEW_FULL_PHONE):
                value = mask_any_phone(str(value))
            cells.append(value)
        reason = translate(issue.reason, language, **issue.params)
        writer.writerow(
            [neutralise_cell(v) for v in (issue.row, *cells, issue.column or "", reason)]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def list_imports(session: Session, actor: Actor, *, limit: int = 20) -> list[LeadImport]:
    """The latest import runs: the actor's own, or everyone's for a company-wide scope."""
    actor.require(Permission.IMPORT_LEADS)
    query = select(LeadImport).order_by(col(LeadImport.id).desc()).limit(limit)
    if actor.scope is not DataScope.ALL:
        query = query.where(LeadImport.actor_id == actor.user_id)
    return list(session.exec(query).all())
