"""Writing a checked history file: the missing units and users, then per opportunity a
lead, the opportunity owned by its rep, its stage history at its dates, its flow events
and, for a won one, a paid order with the attribution frozen to the rep's team - a few
bulk statements in one transaction, committed at the end.

Stage history: `new` when the opportunity was created (the engage date, else the close
date, else the import), the source's open stage at the same moment when it is past `new`,
and the closing stage at the close date. Closed opportunities stay with their rep, as a
won or lost one does in the product.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.imports.history.columns import HistoryOptions
from crm_core.imports.history.preview import HistoryReport, plan_history
from crm_core.imports.history.rows import HistoryRow, Mapping, external_key
from crm_core.models import FlowEvent, Lead, Opportunity, OrgUnit, SalesOrder, StageHistory, User
from crm_core.models.dashboards import HistoryImport
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows, insert_with_ids, paused_gc
from crm_core.platform.permissions import DataScope, Permission
from crm_core.platform.search_keys import name_key

_LEAD_COLUMNS = (
    "name",
    "name_key",
    "no_phone",
    "external_id",
    "channel",
    "created_by_id",
    "created_at",
)
_OPPORTUNITY_COLUMNS = (
    "lead_id",
    "business_line_id",
    "pipeline_type",
    "stage",
    "pool_state",
    "owner_id",
    "org_unit_id",
    "assigned_at",
    "stage_changed_at",
    "locked",
    "recycle_count",
    "amount",
    "closed_at",
    "created_at",
    "external_id",
    "history_import_id",
    "furthest_stage",
)
_STAGE_COLUMNS = ("opportunity_id", "from_stage", "to_stage", "changed_at", "actor_id")
_FLOW_COLUMNS = (
    "opportunity_id",
    "at",
    "from_owner_id",
    "to_owner_id",
    "from_state",
    "to_state",
    "reason",
    "actor_id",
    "note",
)
_ORDER_COLUMNS = (
    "opportunity_id",
    "list_price",
    "amount",
    "status",
    "approval",
    "paid_at",
    "created_by_id",
    "attributed_owner_id",
    "attributed_unit_id",
    "attributed_org_path",
    "note",
    "created_at",
)
_NO_PASSWORD = "!"  # no bcrypt hash: an imported account can never sign in
_CHUNK = 10_000


def _username(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", ".", name.casefold()).strip(".")[:60] or "history.user"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}.{n}"
    taken.add(candidate)
    return candidate


def _create_missing(session: Session, actor: Actor, mapping: Mapping, batch_id: int) -> dict:
    """Create the planned units and users; planned key -> new id."""
    made: dict[int | str, int] = {}

    def real(key: int | str) -> int:
        return key if isinstance(key, int) else made[key]

    for unit in mapping.new_units:
        made[unit.key] = create_unit(session, actor, unit.name, real(unit.parent)).id
    taken = set(session.exec(select(User.username)).all())
    numbers = set(session.exec(select(User.employee_no)).all())
    for k, planned in enumerate(mapping.new_users, start=1):
        employee_no = f"HIST{batch_id}-{k:04d}"
        while employee_no in numbers:
            employee_no += "x"
        user = create_user(
            session,
            actor,
            username=_username(planned.name, taken),
            full_name=planned.name,
            employee_no=employee_no,
            password="",
            password_hash=_NO_PASSWORD,
            org_unit_id=real(planned.unit),
            role_codes=["rep"],
            status="resigned",
        )
        # Resigned and disabled: they own their past, they never sign in or receive anything.
        user.enabled = False
        user.on_shift = False
        user.left_on = clock.now()
        session.add(user)
        made[planned.key] = user.id
    session.flush()
    return made


def _chunked(session: Session, table, columns, rows: list[tuple], ids: bool = False) -> list[int]:
    new_ids: list[int] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        if ids:
            new_ids += insert_with_ids(session, table.__table__, columns, chunk)
        else:
            insert_rows(session, table.__table__, columns, chunk)
    return new_ids


def _write(
    session: Session,
    actor: Actor,
    options: HistoryOptions,
    rows: list[HistoryRow],
    made: dict,
    batch_id: int,
    progress: Callable[[float], None] | None,
) -> None:
    def real(key: int | str) -> int:
        return key if isinstance(key, int) else made[key]

    units = {u.id: u.path for u in session.exec(select(OrgUnit)).all()}
    by = actor.user_id
    lead_ids = _chunked(
        session,
        Lead,
        _LEAD_COLUMNS,
        [
            (
                r.name,
                name_key(r.name),
                True,
                external_key(options, r.external_id),
                options.channel,
                by,
                r.created_at,
            )
            for r in rows
        ],
        ids=True,
    )
    if progress:
        progress(0.3)
    opportunity_rows = []
    for r, lead_id in zip(rows, lead_ids, strict=True):
        closed = r.stage in ("won", "lost")
        opportunity_rows.append(
            (
                lead_id,
                options.business_line_id,
                "new",
                r.stage,
                "closed" if closed else "owned",
                real(r.owner),
                real(r.unit),
                r.created_at,
                r.closed_at or r.created_at,
                False,
                0,
                str(r.amount) if r.amount is not None else None,
                r.closed_at,
                r.created_at,
                external_key(options, r.external_id),
                batch_id,
                # Its history is new, the open stage, the closing one: lost reached only new.
                "new" if r.stage == "lost" else r.stage,
            )
        )
    opportunity_ids = _chunked(session, Opportunity, _OPPORTUNITY_COLUMNS, opportunity_rows, True)
    if progress:
        progress(0.6)
    stages, flows, orders = [], [], []
    note = f"history import #{batch_id}"
    for r, opp in zip(rows, opportunity_ids, strict=True):
        owner, unit = real(r.owner), real(r.unit)
        stages.append((opp, None, "new", r.created_at, None))
        flows.append((opp, r.created_at, None, owner, None, "owned", "intake", by, note))
        if r.stage not in ("new", "won", "lost"):
            stages.append((opp, "new", r.stage, r.created_at, None))
        if r.closed_at is not None:
            stages.append((opp, "new", r.stage, r.closed_at, owner))
            flows.append((opp, r.closed_at, owner, owner, "owned", "closed", r.stage, by, note))
        if r.stage == "won":
            orders.append(
                (
                    opp,
                    str(r.amount),
                    str(r.amount),
                    "paid",
                    "none",
                    r.closed_at,
                    by,
                    owner,
                    unit,
                    units.get(unit),
                    note,
                    r.closed_at,
                )
            )
    _chunked(session, StageHistory, _STAGE_COLUMNS, stages)
    _chunked(session, FlowEvent, _FLOW_COLUMNS, flows)
    _chunked(session, SalesOrder, _ORDER_COLUMNS, orders)
    if progress:
        progress(1.0)


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
            made = _create_missing(session, actor, plan.mapping, batch.id)
            _write(session, actor, options, plan.rows, made, batch.id, progress)
            batch.imported = len(plan.rows)
            batch.users_created = len(plan.mapping.new_users)
            batch.units_created = len(plan.mapping.new_units)
        batch.finished_at = clock.now()
        session.add(batch)
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


def list_history_imports(session: Session, actor: Actor, *, limit: int = 20) -> list[HistoryImport]:
    """The latest history imports: the actor's own, or everyone's for a company-wide scope."""
    actor.require(Permission.IMPORT_HISTORY)
    query = select(HistoryImport).order_by(col(HistoryImport.id).desc()).limit(limit)
    if actor.scope is not DataScope.ALL:
        query = query.where(HistoryImport.actor_id == actor.user_id)
    return list(session.exec(query).all())
