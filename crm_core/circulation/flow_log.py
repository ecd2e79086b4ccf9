"""The flow log: every change of owner or pool state (流转), filterable, within scope.

A user sees the events of the opportunities in their scope and the events that moved an
opportunity to or from themselves (a rep keeps sight of what was recycled from them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.circulation.rules import RULE_MODELS
from crm_core.models import BusinessLine, FlowEvent, Lead, Opportunity, User
from crm_core.org.access import opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission

COUNT_CAP = 10_000


@dataclass(frozen=True)
class FlowFilter:
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None
    rule_kind: str | None = None
    rule_id: int | None = None
    user_id: int | None = None  # from, to or by this user
    opportunity_id: int | None = None


@dataclass(frozen=True)
class FlowLogRow:
    id: int
    at: datetime
    opportunity_id: int
    lead_id: int
    lead_name: str
    business_line: str
    from_owner_name: str | None
    to_owner_name: str | None
    from_state: str | None
    to_state: str
    reason: str
    rule_kind: str | None
    rule_id: int | None
    actor_name: str | None  # None: the system
    note: str | None
    rule_name: str | None = None


def flow_rows(
    session: Session, where: list[ColumnElement[bool]], *, limit: int, offset: int = 0
) -> list[FlowLogRow]:
    """Flow events matching `where`, newest first, with names; one query (rule names:
    one more per rule kind on the page)."""
    from_owner, to_owner, by = aliased(User), aliased(User), aliased(User)
    rows = session.exec(
        select(
            FlowEvent.id,
            FlowEvent.at,
            FlowEvent.opportunity_id,
            Lead.id,
            Lead.name,
            BusinessLine.name,
            from_owner.full_name,
            to_owner.full_name,
            FlowEvent.from_state,
            FlowEvent.to_state,
            FlowEvent.reason,
            FlowEvent.rule_kind,
            FlowEvent.rule_id,
            by.full_name,
            FlowEvent.note,
        )
        .join(Opportunity, col(Opportunity.id) == col(FlowEvent.opportunity_id))
        .join(Lead, col(Lead.id) == col(Opportunity.lead_id))
        .join(BusinessLine, col(BusinessLine.id) == col(Opportunity.business_line_id))
        .join(from_owner, col(from_owner.id) == col(FlowEvent.from_owner_id), isouter=True)
        .join(to_owner, col(to_owner.id) == col(FlowEvent.to_owner_id), isouter=True)
        .join(by, col(by.id) == col(FlowEvent.actor_id), isouter=True)
        .where(*where)
        .order_by(col(FlowEvent.at).desc(), col(FlowEvent.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    names: dict[tuple[str, int], str] = {}
    for kind, model in RULE_MODELS.items():
        ids = {r[12] for r in rows if r[11] == kind and r[12] is not None}
        if ids:
            for rule_id, name in session.exec(
                select(model.id, model.name).where(col(model.id).in_(ids))
            ).all():
                names[(kind, rule_id)] = name
    return [FlowLogRow(*row, rule_name=names.get((row[11], row[12]))) for row in rows]


def _conditions(actor: Actor, f: FlowFilter) -> list[ColumnElement[bool]]:
    mine = (
        [FlowEvent.from_owner_id == actor.user_id, FlowEvent.to_owner_id == actor.user_id]
        if actor.user_id
        else []
    )
    where = [or_(opportunity_scope(actor), *mine)]
    if f.since:
        where.append(FlowEvent.at >= f.since)
    if f.until:
        where.append(FlowEvent.at < f.until)
    if f.reason:
        where.append(FlowEvent.reason == f.reason)
    if f.rule_kind:
        where.append(FlowEvent.rule_kind == f.rule_kind)
    if f.rule_id is not None:
        where.append(FlowEvent.rule_id == f.rule_id)
    if f.user_id is not None:
        where.append(
            or_(
                FlowEvent.from_owner_id == f.user_id,
                FlowEvent.to_owner_id == f.user_id,
                FlowEvent.actor_id == f.user_id,
            )
        )
    if f.opportunity_id is not None:
        where.append(FlowEvent.opportunity_id == f.opportunity_id)
    return where


def search_flow(
    session: Session,
    actor: Actor,
    f: FlowFilter = FlowFilter(),
    *,
    limit: int = 50,
    offset: int = 0,
) -> list[FlowLogRow]:
    """A page of the flow log within the actor's scope, newest first."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    return flow_rows(session, _conditions(actor, f), limit=limit, offset=offset)


def count_flow(session: Session, actor: Actor, f: FlowFilter = FlowFilter()) -> int:
    """How many events match, counted up to COUNT_CAP (the page says "10,000+")."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    capped = (
        select(FlowEvent.id)
        .join(Opportunity, col(Opportunity.id) == col(FlowEvent.opportunity_id))
        .where(*_conditions(actor, f))
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    return session.exec(select(func.count()).select_from(capped)).one()


def flow_history(session: Session, actor: Actor, opportunity_id: int) -> list[FlowLogRow]:
    """Every flow event of one opportunity in the actor's reach, newest first."""
    return search_flow(session, actor, FlowFilter(opportunity_id=opportunity_id), limit=1000)
