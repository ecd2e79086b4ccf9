"""The manager desk's list: opportunities a manager may change by hand (`override_scope`),
filtered by state, owner, business line, stage and the lead's name, paged in the database
with the names a page shows, in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crm_core.circulation.override import override_scope
from crm_core.leads.masking import display_phone
from crm_core.models import BusinessLine, Lead, Opportunity, User
from crm_core.org.unit_labels import unit_labels
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission
from crm_core.platform.search_keys import name_key, prefix_range

COUNT_CAP = 10_000


@dataclass(frozen=True)
class DeskFilter:
    pool_state: str | None = None
    owner_id: int | None = None
    business_line_id: int | None = None
    stage: str | None = None
    name: str | None = None  # start of the lead's name
    locked: bool | None = None


@dataclass(frozen=True)
class DeskRow:
    opportunity_id: int
    lead_id: int
    lead_name: str
    phone: str
    business_line: str
    stage: str
    intention_level: str | None
    pool_state: str
    owner_name: str | None
    unit: str | None
    assigned_at: datetime | None
    last_follow_up_at: datetime | None
    locked: bool
    protected_until: datetime | None
    recycle_count: int
    unassigned_reason: str | None


def _conditions(actor: Actor, f: DeskFilter) -> list[ColumnElement[bool]]:
    where = [override_scope(actor), Opportunity.pool_state != "closed"]
    if f.pool_state:
        where.append(Opportunity.pool_state == f.pool_state)
    if f.owner_id is not None:
        where.append(Opportunity.owner_id == f.owner_id)
    if f.business_line_id is not None:
        where.append(Opportunity.business_line_id == f.business_line_id)
    if f.stage:
        where.append(Opportunity.stage == f.stage)
    if f.locked is not None:
        where.append(Opportunity.locked == f.locked)
    if f.name and f.name.strip():
        low, high = prefix_range(name_key(f.name))
        where.extend([Lead.name_key >= low, Lead.name_key < high])
    return where


def list_desk(
    session: Session,
    actor: Actor,
    f: DeskFilter = DeskFilter(),
    *,
    limit: int = 50,
    offset: int = 0,
) -> list[DeskRow]:
    """A page of open opportunities the actor may change by hand, newest first."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    rows = session.exec(
        select(
            Opportunity.id,
            Lead.id,
            Lead.name,
            Lead.phone,
            BusinessLine.name,
            Opportunity.stage,
            Opportunity.intention_level,
            Opportunity.pool_state,
            User.full_name,
            Opportunity.org_unit_id,
            Opportunity.assigned_at,
            Opportunity.last_follow_up_at,
            Opportunity.locked,
            Opportunity.protected_until,
            Opportunity.recycle_count,
            Opportunity.unassigned_reason,
        )
        .join(Lead, Lead.id == Opportunity.lead_id)
        .join(BusinessLine, BusinessLine.id == Opportunity.business_line_id)
        .outerjoin(User, User.id == Opportunity.owner_id)
        .where(*_conditions(actor, f))
        .order_by(col(Opportunity.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    units = unit_labels(session, {r[9] for r in rows})
    return [
        DeskRow(r[0], r[1], r[2], display_phone(actor, r[3]), *r[4:9], units.get(r[9]), *r[10:])
        for r in rows
    ]


def count_desk(session: Session, actor: Actor, f: DeskFilter = DeskFilter()) -> int:
    """How many match, counted up to COUNT_CAP (pages show "10,000+")."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    capped = (
        select(Opportunity.id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .where(*_conditions(actor, f))
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    return session.exec(select(func.count()).select_from(capped)).one()
