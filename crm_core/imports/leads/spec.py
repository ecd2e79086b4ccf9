"""The lead import as a spec of the import engine: the file is read column by column
(`rows.read_leads`), the check is a dry run of the lead intake over all good rows at once and
the write is the real intake (`crm_core.leads.intake`, set-based), with the rows imported
before left out (`repeats`), each row's stage, close and owner on the opportunities it opens
(`outcomes`), the paid orders of won rows, and the custom values of leads and opportunities
(written by the engine onto the ids the intake stored)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session

from crm_core.imports.engine import Findings, ImportOptions, ImportSpec, Preview, WriteOutcome
from crm_core.imports.file_import import FieldIssue
from crm_core.imports.leads.columns import CONTACT_FIELDS, IMPORT_KIND, LEAD_FIELDS, SHARED_COLUMNS
from crm_core.imports.leads.custom import ENTITIES, check_visible, refuse_missing_required
from crm_core.imports.leads.landing import (
    chosen_pool,
    land_in_pool,
    reject_other_lines,
    settings_of,
)
from crm_core.imports.leads.outcomes import openings_for, record_wins
from crm_core.imports.leads.repeats import already_imported
from crm_core.imports.leads.rows import CLOSED_STAGES, LeadRow, field_of, read_leads
from crm_core.imports.leads.updates import UNCHANGED, UPDATED, match_existing, write_updates
from crm_core.leads.intake import (
    ADDED_LINE,
    COLLISION,
    CREATED,
    DUPLICATE,
    REJECTED,
    IntakeResult,
    intake_leads,
)
from crm_core.leads.masking import display_phone, mask_any_phone
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MAX_ROWS = 200_000
ALREADY_IMPORTED = "already_imported"  # a category: rows a run of this file stored before
CATEGORIES = (CREATED, ADDED_LINE, COLLISION, DUPLICATE, ALREADY_IMPORTED, UPDATED, UNCHANGED)
STORED = (CREATED, ADDED_LINE, COLLISION, DUPLICATE)  # what the intake is handed on a run
_SHARED = {tuple(sorted(pair)) for pair in SHARED_COLUMNS}


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
class IntakeFindings:
    """What the intake made of the rows it was handed: a category per row number, the
    collisions, the repeats in the file (row, first row), the won / lost rows and the wins
    that bring revenue among the stored ones, and the rows it rejected."""

    categories: dict[int, str] = field(default_factory=dict)
    collisions: list[ImportCollision] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    closed: dict[str, int] = field(default_factory=dict)
    revenue: int = 0


def problems(mapping: Mapping[str, str | None], defaults: Mapping[str, Any]) -> list[str]:
    """Why a mapping (with the values for the whole file) cannot work: messages, or nothing."""
    found = []
    if not mapping.get("name"):
        found.append(N_("Choose the column that holds the name."))
    if not any(mapping.get(name) for name in CONTACT_FIELDS):
        found.append(
            N_(
                "Choose the phone column, or for records without phones the external id, e-mail or WeChat column."
            )
        )
    if not mapping.get("channel") and not defaults.get("channel"):
        found.append(N_("Choose the channel column, or a channel for the whole file."))
    if not mapping.get("business_line") and not defaults.get("business_line"):
        found.append(N_("Choose the business line column, or business lines for the whole file."))
    fields_of: dict[str, list[str]] = {}
    for name, column in mapping.items():
        if column:
            fields_of.setdefault(column, []).append(name)
    if any(
        len(names) > 1 and not (len(names) == 2 and tuple(sorted(names)) in _SHARED)
        for names in fields_of.values()
    ):
        found.append(N_("One column is chosen for two fields."))
    return found


def check_file(session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions) -> None:
    """Refuse a mapping that cannot work, a custom field the importer does not see, a column
    the file lacks, and a file too large, in the lead import's words."""
    mapping = dict(options.mapping or {})
    found = problems(mapping, dict(options.defaults))
    if found:
        raise ValidationError(found[0])
    check_visible(session, actor, mapping)
    chosen_pool(session, actor, settings_of(options))
    unknown = [c for c in mapping.values() if c and c not in frame.columns]
    if unknown:
        raise ValidationError(N_("The file has no column {column}."), column=unknown[0])
    # Read from the package, so a test may lower the limit there.
    from crm_core.imports import leads

    if len(frame.index) > leads.MAX_ROWS:
        raise ValidationError(
            N_("The file has {rows} rows; at most {max} can be imported at once. Split it."),
            rows=len(frame.index),
            max=leads.MAX_ROWS,
        )


def masked(actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """A reason's parameters as the reader may see them (phones masked)."""
    if "phone" in params and not actor.can(Permission.VIEW_FULL_PHONE):
        return dict(params, phone=mask_any_phone(str(params["phone"])))
    return params


def sort_intake(
    actor: Actor, rows: Sequence[LeadRow], result: IntakeResult, found: Findings
) -> IntakeFindings:
    """The intake's outcome of each row: its category, or its rejection (`found.reject`);
    the notices of stored rows (`found.warn`)."""
    seen = IntakeFindings()
    for outcome in result.outcomes:
        row = rows[outcome.index]
        if outcome.status == REJECTED:
            params = masked(actor, outcome.params)
            found.reject(row.row, field_of(outcome.field) or "", outcome.reason, **params)
            continue
        seen.categories[row.row] = outcome.status
        said = row.outcome
        if outcome.status in (CREATED, ADDED_LINE) and said is not None and said.stage:
            if said.stage in CLOSED_STAGES:
                seen.closed[said.stage] = seen.closed.get(said.stage, 0) + 1
            seen.revenue += said.amount is not None
            if row.warning is not None:
                name, reason, params = row.warning
                found.warn(row.row, name, reason, **params)
        if outcome.status == DUPLICATE and outcome.duplicate_of is not None:
            seen.duplicates.append((row.row, rows[outcome.duplicate_of].row))
        for collision in outcome.collisions:
            seen.collisions.append(
                ImportCollision(
                    row.row,
                    str(row.input.name),
                    display_phone(actor, outcome.phone),
                    collision.business_line_code,
                    collision.owner_name,
                    collision.pool_state,
                    collision.hidden,
                )
            )
    return seen


def check_leads(
    session: Session, actor: Actor, rows: list[LeadRow], found: Findings
) -> list[LeadRow]:
    """A dry run of the intake over the good rows at once: each row's category (or its
    rejection), rows imported before, and the intake's findings (`found.details["intake"]`)."""
    refuse_missing_required(session, actor, rows, found)
    reject_other_lines(session, chosen_pool(session, actor, settings_of(found)), rows, found)
    rows = [row for row in rows if not found.is_bad(row.row)]
    matched: list[LeadRow] = []
    if settings_of(found).update_existing:
        rest = match_existing(session, actor, rows, found)
        matched = [row for row in rows if row.category in (UPDATED, UNCHANGED)]
        rows = rest
    repeats = already_imported(
        session, [r.input for r in rows], range(len(rows)), [r.outcome for r in rows]
    )
    for position in repeats:
        rows[position].category = ALREADY_IMPORTED
    handed = [row for position, row in enumerate(rows) if position not in repeats]
    result = intake_leads(
        session,
        actor,
        [row.input for row in handed],
        source="import",
        dry_run=True,
        openings=openings_for(handed),
    )
    seen = sort_intake(actor, handed, result, found)
    for row in handed:
        row.category = seen.categories.get(row.row, "")
    found.details["intake"] = seen
    return sorted([row for row in rows if row.category] + matched, key=lambda row: row.row)


def write_leads(
    session: Session,
    actor: Actor,
    preview: Preview,
    progress: Callable[[float], None] | None = None,
) -> WriteOutcome:
    """The intake for real over the previewed rows (rows imported before left out), the paid
    orders of won rows, and the ids each row's custom values go onto. A row the intake now
    rejects (the data changed since the preview) is handed back as failed."""
    rows = preview.rows_in(*STORED)
    result = intake_leads(
        session,
        actor,
        [row.input for row in rows],
        source="import",
        openings=openings_for(rows),
        progress=progress,
    )
    found = Findings(preview.mapping)
    seen = sort_intake(actor, rows, result, found)
    leads: dict[int, list[int]] = {}
    opportunities: dict[int, list[int]] = {}
    new_leads: set[int] = set()
    opened: set[int] = set()
    for outcome in result.outcomes:
        if outcome.status not in (CREATED, ADDED_LINE) or outcome.lead_id is None:
            continue
        number = rows[outcome.index].row
        leads[number] = [outcome.lead_id]
        opportunities[number] = list(outcome.opportunity_ids)
        opened.update(outcome.opportunity_ids)
        if outcome.status == CREATED:
            new_leads.add(outcome.lead_id)
    record_wins(session, actor, rows, result)
    details: dict = {"total_rows": preview.total_rows}
    pool = chosen_pool(session, actor, settings_of(preview))
    if pool is not None:
        details["pool"] = pool.label or "company"
        details["pooled"] = land_in_pool(session, actor, pool, sorted(opened))
    counts = dict.fromkeys(CATEGORIES, 0)
    for category in seen.categories.values():
        counts[category] += 1
    counts[ALREADY_IMPORTED] = len(preview.rows_in(ALREADY_IMPORTED))
    counts[UNCHANGED] = len(preview.rows_in(UNCHANGED))
    if settings_of(preview).update_existing:
        to_update = preview.rows_in(UPDATED)
        details["updated_leads"], redone = write_updates(session, actor, to_update, preview.mapping)
        for number, issues in redone.rejected.items():
            found.rejected.setdefault(number, []).extend(issues)
        counts[UPDATED] = len(to_update) - len(redone.rejected)
    failed = tuple(issue for issues in found.rejected.values() for issue in issues)
    counts["rejected"] = len(preview.rejected) + len(found.rejected)
    return WriteOutcome(
        counts,
        details,
        failed=failed,
        result=seen,
        entity_targets={"lead": leads, "opportunity": opportunities},
        inserted={"lead": frozenset(new_leads), "opportunity": frozenset(opened)},
    )


LEADS = ImportSpec(
    kind=IMPORT_KIND,
    permission=Permission.IMPORT_LEADS,
    fields=LEAD_FIELDS,
    read=None,
    read_columns=read_leads,
    write=write_leads,
    check=check_leads,
    categories=CATEGORIES,
    audit_action="lead.import",
    audit_target="lead_import",
    columns_needed=(CONTACT_FIELDS, ("channel",), ("business_line",)),
    custom_entities=ENTITIES,
    check_file=check_file,
    record_refused=True,
    file_defaults=("channel", "business_line"),
    shared_guess=(("name", "external_id"),),
    mapping_problems=problems,
    write_progress=True,
)

__all__ = [
    "ALREADY_IMPORTED",
    "CATEGORIES",
    "LEADS",
    "MAX_ROWS",
    "FieldIssue",
    "ImportCollision",
    "IntakeFindings",
    "check_file",
    "check_leads",
    "problems",
    "write_leads",
]
