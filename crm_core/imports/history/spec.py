"""The history import as a spec of the import engine (`HISTORY`): a company's past brought
over from another CRM, so that its history shows in the dashboards from day one.

The file is read column by column (`rows.read_history`), checked against the lead library,
the users and the units over all rows at once (`check.check_history`), and written in a few
bulk statements per chunk (`write.write_rows`). Its own options beyond the file
(`HistorySettings`: the team file, where unowned rows go, creating missing users and units,
the source's name) travel as `ImportOptions.settings`; the business line and the stage of
rows whose file gives none are values for the whole file (`file_defaults`).

The run's record is its audit entry (`history.import`), written first by the write: its id
is the batch id the imported opportunities carry (`Opportunity.history_import_id`), which
tells an opportunity the history import brought. A row is imported once: its source id
(`<source>:<id>`) stored on an opportunity or a lead makes it `already_imported`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from sqlmodel import Session

from crm_core.imports.engine import ImportOptions, ImportSpec, Preview, WriteOutcome
from crm_core.imports.file_import import audit_import
from crm_core.imports.history.check import check_history
from crm_core.imports.history.columns import (
    DEFAULT_STAGE_MAP,
    FIELDS,
    IMPORT_KIND,
    UNOWNED,
    HistorySettings,
)
from crm_core.imports.history.custom import ENTITIES
from crm_core.imports.history.people import Mapping as People
from crm_core.imports.history.people import read_teams
from crm_core.imports.history.rows import ALREADY_IMPORTED, IMPORTED, read_history
from crm_core.imports.history.write import create_missing, write_rows
from crm_core.org.units import get_unit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MAX_ROWS = 200_000
CATEGORIES = (IMPORTED, ALREADY_IMPORTED)


def mapping_problems(mapping: Mapping[str, str | None], defaults: Mapping[str, Any]) -> list[str]:
    """Why a mapping (with the values for the whole file) cannot work: messages, or nothing."""
    problems = []
    if not mapping.get("external_id"):
        problems.append(N_("Choose the column of the opportunity id."))
    if not mapping.get("stage") and not defaults.get("stage"):
        problems.append(N_("Choose the column of the stage, or a stage for the whole file."))
    if not mapping.get("business_line") and not defaults.get("business_line"):
        problems.append(
            N_("Choose the column of the business line, or a business line for the whole file.")
        )
    # One column may be both the opportunity's id and the person's (a closed-deals export
    # keyed by the lead's id); no other column serves two fields.
    used = [c for name, c in mapping.items() if c and name != "lead_id"]
    lead_column = mapping.get("lead_id")
    if lead_column and lead_column != mapping.get("external_id"):
        used.append(lead_column)
    if len(used) != len(set(used)):
        problems.append(N_("One column is chosen for two fields."))
    return problems


def settings_problems(settings: HistorySettings) -> list[str]:
    """Why the history import's own options cannot work: messages, or nothing."""
    problems = []
    if settings.teams is not None and not (
        settings.team_mapping.get("owner") and settings.team_mapping.get("team")
    ):
        problems.append(N_("Choose the owner and team columns of the team file."))
    if not settings.source.strip() or len(settings.source) > 20:
        problems.append(N_("The source name must be 1 to 20 characters."))
    if settings.unowned not in UNOWNED:
        problems.append(N_("Choose where rows without an owner go."))
    return problems


def check_file(session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions) -> None:
    """Refuse what cannot be imported at all, in the history import's words: a mapping or
    options that cannot work, a column the files lack, a bad row of the team file, creating
    users and units without the right to, a parent unit outside the importer's scope."""
    settings = options.settings or HistorySettings()
    problems = settings_problems(settings)
    if options.mapping is not None:
        problems = mapping_problems(options.mapping, options.defaults) + problems
    if problems:
        raise ValidationError(problems[0])
    tables = [(frame, options.mapping or {}), (settings.teams, settings.team_mapping)]
    for table, mapping in tables:
        if table is not None:
            unknown = [c for c in mapping.values() if c and c not in table.columns]
            if unknown:
                raise ValidationError(N_("The file has no column {column}."), column=unknown[0])
    _, issues = read_teams(settings, options.blanks)
    if issues:
        raise ValidationError(issues[0].reason, **issues[0].params)
    if settings.create_missing:
        actor.require(Permission.MANAGE_USERS)
        actor.require(Permission.MANAGE_ORG)
    if settings.parent_unit_id is not None:
        get_unit(session, actor, settings.parent_unit_id)


def write_history(
    session: Session,
    actor: Actor,
    preview: Preview,
    *,
    mode: str,
    progress: Callable[[float], None] | None = None,
) -> WriteOutcome:
    """Record the run's audit entry (its id is the batch id), create the planned users and
    units, and write the rows: new leads, opportunities (or the untouched imported ones a
    row closes), stage history, flow events and paid orders. Flushes; the engine commits."""
    settings: HistorySettings = preview.settings or HistorySettings()
    rows = preview.rows_in(IMPORTED)
    people: People = preview.details.get("people") or People()
    counts = {
        IMPORTED: len(rows),
        ALREADY_IMPORTED: len(preview.rows_in(ALREADY_IMPORTED)),
        "rejected": len(preview.rejected),
        "users_created": len(people.new_users) if rows else 0,
        "units_created": len(people.new_units) if rows else 0,
    }
    details = {"total_rows": preview.total_rows, "id_prefix": settings.source}
    batch = audit_import(
        session, actor, "history.import", "history_import", preview, mode, counts, **details
    )
    opportunities: dict[int, list[int]] = {}
    leads: dict[int, list[int]] = {}
    inserted: dict[str, frozenset[int]] = {}
    if rows:
        made = create_missing(session, actor, people, batch)
        written = write_rows(session, actor, settings, rows, made, batch, progress)
        for row, (opportunity_id, lead_id) in zip(rows, written.pairs, strict=True):
            opportunities[row.row] = [opportunity_id]
            leads[row.row] = [lead_id]
        inserted = {"opportunity": written.new_opportunities, "lead": written.new_leads}
    return WriteOutcome(
        counts,
        details,
        audit_id=batch,
        entity_targets={"opportunity": opportunities, "lead": leads},
        inserted=inserted,
    )


HISTORY = ImportSpec(
    kind=IMPORT_KIND,
    permission=Permission.IMPORT_HISTORY,
    fields=FIELDS,
    read=None,
    read_columns=read_history,
    check=check_history,
    write=write_history,
    categories=CATEGORIES,
    audit_action="history.import",
    audit_target="history_import",
    columns_needed=(("stage",), ("business_line",)),
    max_rows=MAX_ROWS,
    custom_entities=ENTITIES,
    check_file=check_file,
    record_refused=True,
    audited_by_write=True,
    write_mode=True,
    write_progress=True,
    file_defaults=("stage", "business_line"),
    shared_guess=(("external_id", "lead_id"),),
    mapping_problems=mapping_problems,
    option_words={"stage": DEFAULT_STAGE_MAP},
)

__all__ = [
    "CATEGORIES",
    "HISTORY",
    "MAX_ROWS",
    "check_file",
    "mapping_problems",
    "settings_problems",
    "write_history",
]
