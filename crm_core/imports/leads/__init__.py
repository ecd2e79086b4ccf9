"""Bulk import of leads from CSV or XLSX (up to MAX_ROWS rows), through the one intake, as
a spec of the import engine (`LEADS`, `crm_core.imports.leads.spec`).

The flow the page follows: `read_table` -> `guess_columns` (corrected by hand) -> the
engine's preview (`preview_import` here: each option column's distinct values with their
counts and options for value mapping, then a dry run of the intake: every bad row with its
row number, column and reason, every collision with the current owner, every repeat inside
the file, every row imported before) -> the engine's apply (`run_import`: good rows, or all
or nothing) with a progress callback -> the rejected rows as a CSV (`rejected_rows_csv`).
The run writes in one transaction, committed at the end, so a failed or cancelled import
leaves nothing behind; it remembers the value mapping for the next file, and its audit entry
is the run's record (`list_imports`). A row's stage, close and owner go onto its
opportunity (`crm_core.imports.leads.outcomes`); a row imported before adds nothing
(`crm_core.imports.leads.repeats`). Contact values in every report are masked for readers
without `view_full_phone`. The functions here are thin wrappers that put the engine's
preview and run in the words of the lead report; the page and the tests read them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session

from crm_core.imports import engine
from crm_core.imports.engine import PastRun, Preview, last_runs
from crm_core.imports.engine import guess_columns as guess_fields
from crm_core.imports.file_import import MODES
from crm_core.imports.leads.columns import (
    COLUMNS,
    LEAD_FIELDS,
    OPTION_FIELDS,
    FieldSpec,
    ImportOptions,
)
from crm_core.imports.leads.spec import (
    ALREADY_IMPORTED,
    CATEGORIES,
    LEADS,
    MAX_ROWS,
    ImportCollision,
    IntakeFindings,
    problems,
)
from crm_core.imports.leads.updates import LeadUpdate
from crm_core.imports.value_mapping import ResolvedValue
from crm_core.leads.intake import OUTCOME_STATUSES
from crm_core.leads.masking import CONTACT_FIELDS, mask_any_phone, mask_contact, sees_full_contact
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import paused_gc
from crm_core.platform.cells import neutralise_cell
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, translate
from crm_core.platform.permissions import DataScope, Permission

__all__ = [
    "ALREADY_IMPORTED",
    "CATEGORIES",
    "IntakeFindings",
    "COLUMNS",
    "LEADS",
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
    "report_of",
    "run_import",
]


@dataclass(frozen=True)
class ImportIssue:
    """A bad row: its spreadsheet row, the file's column header and the reason (a
    translation key with its parameters, phone numbers masked for the reader)."""

    row: int
    column: str | None
    reason: str
    params: dict[str, Any]


@dataclass
class ImportReport:
    """What a preview found or a run did. `refused`: all or nothing was asked and some row
    is bad, so nothing was stored. `plan` is the engine's preview it was made from."""

    filename: str
    total_rows: int
    counts: dict[str, int]
    issues: list[ImportIssue] = field(default_factory=list)
    collisions: list[ImportCollision] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (row, first row)
    preview: bool = True
    refused: bool = False
    import_id: int | None = None  # the run's audit entry
    already_imported: list[int] = field(default_factory=list)  # rows imported before
    # field -> each distinct value of the column and the option it maps onto
    values: dict[str, list[ResolvedValue]] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)  # won / lost rows among the good
    warnings: list[ImportIssue] = field(default_factory=list)  # good rows kept with a notice
    revenue: int = 0  # won rows among the good that bring revenue (an amount)
    plan: Preview | None = None
    # rows of stored leads and what each changes ("add new and update existing")
    updates: list[LeadUpdate] = field(default_factory=list)

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
    return engine.import_fields(session, actor, LEADS)


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
    found = problems(options.mapping, options.for_engine().defaults)
    if options.mode not in MODES:
        found.append(N_("Choose what to do with bad rows."))
    return found


def value_columns(
    session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions
) -> dict[str, list[ResolvedValue]]:
    """For each mapped option column: its distinct values with their row counts and the
    option each resolves to (the user's choice, a remembered mapping, or the option it
    reads as). What the page lists for the user to map."""
    return engine.value_columns(session, actor, LEADS, frame, options.for_engine())


def _issue(issue) -> ImportIssue:
    return ImportIssue(issue.row, issue.column or None, issue.key, dict(issue.params))


def report_of(plan: Preview, run: engine.ImportRun | None = None) -> ImportReport:
    """The lead report of the engine's preview, and of its run when there was one."""
    seen: IntakeFindings = plan.details.get("intake") or IntakeFindings()
    counts = dict.fromkeys((*OUTCOME_STATUSES, ALREADY_IMPORTED), 0)
    counts.update(plan.counts)
    issues = [_issue(issue) for issue in plan.issues]
    report = ImportReport(plan.source, plan.total_rows, counts, issues, plan=plan)
    report.already_imported = [row.row for row in plan.rows_in(ALREADY_IMPORTED)]
    report.values = dict(plan.values)
    report.warnings = [_issue(issue) for issue in plan.warnings]
    report.updates = sorted((plan.details.get("updates") or {}).values(), key=lambda u: u.row)
    if run is not None:
        report.preview = False
        report.refused = run.refused
        report.import_id = run.audit_id
        report.issues += [_issue(issue) for issue in run.failed]
        if run.stored:
            seen = run.result
            report.counts.update(run.counts)
    report.collisions = list(seen.collisions)
    report.duplicates = list(seen.duplicates)
    report.closed = dict(seen.closed)
    report.revenue = seen.revenue
    return report


def preview_import(
    session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions
) -> ImportReport:
    """What `run_import` would do with this file, without storing anything."""
    with paused_gc():
        plan = engine.preview(session, actor, LEADS, frame, options.for_engine())
        return report_of(plan)


def run_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    options: ImportOptions,
    *,
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """Preview the file and import it as the options say, commit, and record the run (its
    audit entry, also when all or nothing refused it). On an error or a cancel nothing of
    the file is stored."""
    if options.mode not in MODES:
        raise ValidationError(N_("Choose what to do with bad rows."))
    with paused_gc():
        plan = engine.preview(session, actor, LEADS, frame, options.for_engine())
        run = engine.apply(session, actor, LEADS, plan, options.mode, progress)
        return report_of(plan, run)


def rejected_rows_csv(
    actor: Actor, frame: pd.DataFrame, report: ImportReport, options: ImportOptions, language: str
) -> bytes:
    """The bad rows as CSV (UTF-8 with BOM, for Excel): the spreadsheet row, the file's own
    columns, the column at fault and the reason. Contact values (phone, e-mail, WeChat, QQ)
    are masked as in the report; no cell can run as a formula."""
    actor.require(Permission.IMPORT_LEADS)
    contact_of = {options.mapping.get(name): name for name in CONTACT_FIELDS}
    masked = not sees_full_contact(actor)
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
            field = contact_of.get(column)
            if field is not None and value and masked:
                text = str(value)
                value = mask_any_phone(text) if field == "phone" else mask_contact(field, text)
            cells.append(value)
        reason = translate(issue.reason, language, **issue.params)
        writer.writerow(
            [neutralise_cell(v) for v in (issue.row, *cells, issue.column or "", reason)]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def list_imports(session: Session, actor: Actor, *, limit: int = 20) -> list[PastRun]:
    """The latest lead import runs, newest first (also those recorded before the import ran
    on the engine): the actor's own, or everyone's for a company-wide scope."""
    return last_runs(session, actor, LEADS, limit, everyone=actor.scope is DataScope.ALL)
