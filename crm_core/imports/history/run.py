"""Running a history import: check and plan the file, write it (`write.py`) in one
transaction committed at the end, and record the run (`history_import`, the audit log)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.imports.history.columns import HistoryOptions
from crm_core.imports.history.custom import write_custom
from crm_core.imports.history.preview import HistoryReport, plan_history
from crm_core.imports.history.values import remember
from crm_core.imports.history.write import create_missing, write_rows
from crm_core.models.dashboards import HistoryImport
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import paused_gc
from crm_core.platform.permissions import DataScope, Permission


def run_history_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams: pd.DataFrame | None,
    options: HistoryOptions,
    *,
    progress: Callable[[float], None] | None = None,
) -> HistoryReport:
    """Import the file as the options say, record the run (`history_import` and the audit
    log) and commit. Rows imported before are skipped, so a second run adds nothing; all
    or nothing with a bad row stores nothing but the refused run. On an error nothing of
    the file is stored."""
    started = clock.now()
    with paused_gc():
        plan = plan_history(session, actor, frame, teams, options, started)
        report = plan.report
        report.preview = False
        batch = HistoryImport(
            filename=report.filename[:200],
            source=options.source,
            actor_id=actor.user_id,
            business_line_id=options.business_line_id,
            mode=options.mode,
            status="refused" if report.refused else "done",
            total_rows=report.total_rows,
            already_imported=report.already_imported,
            rejected=report.rejected,
            started_at=started,
        )
        session.add(batch)
        session.flush()
        if not report.refused and plan.rows:
            made = create_missing(session, actor, plan.mapping, batch.id)
            written = write_rows(session, actor, options, plan.rows, made, batch.id, progress)
            report.custom_values = _custom_values(session, plan, written)
            batch.imported = len(plan.rows)
            batch.users_created = len(plan.mapping.new_users)
            batch.units_created = len(plan.mapping.new_units)
        batch.finished_at = clock.now()
        session.add(batch)
        if not report.refused:
            # Applied: the value mapping is remembered for the next history file.
            remember(session, actor, report.values)
        session.flush()
        audit.record(
            session,
            actor,
            "history.import",
            "history_import",
            batch.id,
            None,
            {
                "filename": batch.filename,
                "status": batch.status,
                "imported": batch.imported,
                "already_imported": batch.already_imported,
                "rejected": batch.rejected,
                "users_created": batch.users_created,
                "units_created": batch.units_created,
            },
        )
        session.commit()
    report.import_id = batch.id
    return report


def _custom_values(session: Session, plan, written: list[tuple[int, int]]) -> int:
    """The rows' custom field values onto the opportunities and leads written (a person's
    later row wins over an earlier one for a lead field)."""
    if not plan.custom:
        return 0
    values: dict[str, dict[int, dict]] = {"opportunity": {}, "lead": {}}
    for row, (opportunity_id, lead_id) in zip(plan.rows, written, strict=True):
        if "opportunity" in row.custom:
            values["opportunity"][opportunity_id] = row.custom["opportunity"]
        if "lead" in row.custom:
            values["lead"].setdefault(lead_id, {}).update(row.custom["lead"])
    return write_custom(session, plan.custom.values(), values)


def list_history_imports(session: Session, actor: Actor, *, limit: int = 20) -> list[HistoryImport]:
    """The latest history imports: the actor's own, or everyone's for a company-wide scope."""
    actor.require(Permission.IMPORT_HISTORY)
    query = select(HistoryImport).order_by(col(HistoryImport.id).desc()).limit(limit)
    if actor.scope is not DataScope.ALL:
        query = query.where(HistoryImport.actor_id == actor.user_id)
    return list(session.exec(query).all())
