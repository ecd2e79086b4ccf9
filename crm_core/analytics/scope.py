"""Which rows a dashboard reads: the viewer's data scope plus the view's filters.

Opportunity figures (funnel, circulation) go through `opportunity_scope(actor)`: a manager
sees their subtree as it is now. Revenue goes through the attribution frozen on each paid
order (`revenue_scope`): a manager sees what was credited to their unit or below at payment
time, wherever people and units sit today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, true
from sqlmodel import Session, col, select

from crm_core.analytics.filters import SPLITS, DashboardFilter
from crm_core.models import Lead, Opportunity, OrgUnit, SalesOrder, User, path_ids
from crm_core.org.access import opportunity_scope, org_unit_scope, unit_clause, user_scope
from crm_core.org.units import get_unit
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, to_utc
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope, Permission


def check_view(session: Session, actor: Actor, view: DashboardFilter) -> OrgUnit | None:
    """Refuse a viewer without VIEW_DASHBOARDS and a filter outside their scope (a unit
    they cannot see does not exist); return the filter's unit."""
    actor.require(Permission.VIEW_DASHBOARDS)
    if view.split not in SPLITS:
        raise ValidationError(N_("Unknown split: {split}."), split=view.split)
    if view.start and view.end and view.start > view.end:
        raise ValidationError(N_("The period ends before it starts."))
    return get_unit(session, actor, view.unit_id) if view.unit_id is not None else None


def subtree_of(unit: OrgUnit) -> ColumnElement[bool]:
    """Opportunities whose unit is `unit` or below it (as the tree is now)."""
    return col(Opportunity.org_unit_id).in_(
        select(OrgUnit.id).where(col(OrgUnit.path).like(f"{unit.path}%"))
    )


def needs_lead(view: DashboardFilter) -> bool:
    return bool(view.channel or view.campaign) or view.split in ("channel", "campaign")


Period = tuple[datetime | None, datetime | None]


def period_bounds(session: Session, view: DashboardFilter) -> Period:
    """The view's period as naive-UTC moments [since, until): its dates are the company's
    local days."""
    zone = company_zone(session)
    return (
        to_utc(view.since, zone) if view.since is not None else None,
        to_utc(view.until, zone) if view.until is not None else None,
    )


def in_period(column, period: Period) -> list[ColumnElement[bool]]:
    """`column` within the period (no condition for an open end)."""
    since, until = period
    return [
        *([column >= since] if since is not None else []),
        *([column < until] if until is not None else []),
    ]


def opportunity_conditions(
    actor: Actor,
    view: DashboardFilter,
    unit: OrgUnit | None,
    cohort: Period | None = None,
    *,
    by_period: bool = False,
) -> list[ColumnElement[bool]]:
    """The scope and the filters on `opportunity` (and `lead`, when `needs_lead`).
    `cohort`: the period that selects opportunities by their creation date. `by_period`:
    a period range drives the query (the cohort, the assignments of a period)."""
    by_period = by_period or cohort is not None
    conditions = [scope_as_filter(actor) if by_period else opportunity_scope(actor, shared=False)]
    if cohort is not None:
        conditions += in_period(Opportunity.created_at, cohort)
    return conditions + opportunity_filters(view, unit)


def scope_as_filter(actor: Actor) -> ColumnElement[bool]:
    """`opportunity_scope` written so that no owner or unit index serves it, for queries a
    period range drives: the range's index holds the unit and the owner, so the scope is
    checked on its entries. Given the plain scope, SQLite reads a unit's rows through the
    unit index and then every one of them from the table."""
    if actor.scope is DataScope.ALL:
        return true()
    owner = func.coalesce(Opportunity.owner_id, 0)
    return or_(
        owner == actor.user_id, unit_clause(actor, func.coalesce(Opportunity.org_unit_id, 0))
    )


def opportunity_filters(view: DashboardFilter, unit: OrgUnit | None) -> list[ColumnElement[bool]]:
    """The view's filters on `opportunity` (and `lead`, when `needs_lead`), no scope."""
    conditions: list[ColumnElement[bool]] = []
    if view.business_line_id is not None:
        conditions.append(Opportunity.business_line_id == view.business_line_id)
    if unit is not None:
        conditions.append(subtree_of(unit))
    if view.owner_id is not None:
        conditions.append(Opportunity.owner_id == view.owner_id)
    if view.channel:
        conditions.append(Lead.channel == view.channel)
    if view.campaign:
        conditions.append(Lead.campaign == view.campaign)
    return conditions


def reps_in_scope(actor: Actor) -> Select | None:
    """The ids of the people the actor reaches, as a subquery for `.in_()`; None for the
    whole company."""
    if actor.scope is DataScope.ALL:
        return None
    return select(User.id).where(user_scope(actor))


def with_lead(query: Select, view: DashboardFilter) -> Select:
    """Join the opportunity's lead when the view filters or splits by channel or campaign."""
    return query.join(Lead, Lead.id == Opportunity.lead_id) if needs_lead(view) else query


def _unit_segment(unit_id: int, source: Any = SalesOrder) -> ColumnElement[bool]:
    # The frozen path holds the unit's id wherever the unit sat at payment time.
    return col(source.attributed_org_path).like(f"%/{unit_id}/%")


def revenue_scope(actor: Actor, source: Any = SalesOrder) -> ColumnElement[bool]:
    """Orders (or, with `source`, payments or refunds: any row with the frozen attribution
    columns) credited, at payment time, to the actor or to a unit in their scope."""
    if actor.scope is DataScope.ALL:
        return true()
    parts: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        parts.append(source.attributed_owner_id == actor.user_id)
    if actor.exact_unit_ids:
        parts.append(col(source.attributed_unit_id).in_(sorted(actor.exact_unit_ids)))
    for path in sorted(actor.subtree_paths):
        ids = path_ids(path)
        if ids:
            parts.append(_unit_segment(ids[-1], source))
    return or_(*parts) if parts else false()


def revenue_conditions(
    actor: Actor, view: DashboardFilter, unit: OrgUnit | None, source: Any = SalesOrder
) -> list[ColumnElement[bool]]:
    """The revenue scope and the filters on `sales_order` - or on `source`, its payments or
    refunds - joined to its opportunity and, when `needs_lead`, its lead. The period is
    left to the caller (paid or refunded)."""
    conditions = [revenue_scope(actor, source)]
    if unit is not None:
        conditions.append(_unit_segment(unit.id, source))
    if view.owner_id is not None:
        conditions.append(source.attributed_owner_id == view.owner_id)
    if view.business_line_id is not None:
        conditions.append(Opportunity.business_line_id == view.business_line_id)
    if view.channel:
        conditions.append(Lead.channel == view.channel)
    if view.campaign:
        conditions.append(Lead.campaign == view.campaign)
    return conditions


def needs_opportunity(view: DashboardFilter) -> bool:
    return view.business_line_id is not None or needs_lead(view)


@dataclass(frozen=True)
class UnitGroups:
    """How a drill-down groups units: each unit in scope -> the group it counts in (a child
    of the base unit, or the base itself for what sits directly in it)."""

    base_id: int | None
    group_of: dict[int, int]
    names: dict[int, str]
    order: list[int]

    def group_of_path(self, path: str | None) -> int | None:
        """The group of a stored (possibly frozen) path: the id after the base in it."""
        ids = path_ids(path or "")
        if self.base_id is None:
            return ids[0] if ids else None
        if self.base_id not in ids:
            return None
        at = ids.index(self.base_id)
        return ids[at + 1] if at + 1 < len(ids) else self.base_id


def unit_groups(session: Session, actor: Actor, base: OrgUnit | None) -> UnitGroups:
    """The drill-down below `base`, or below the top of the actor's scope (the one unit at
    the top, or the top units side by side when there are several)."""
    units = session.exec(select(OrgUnit).where(org_unit_scope(actor)).order_by(OrgUnit.path)).all()
    if base is None:
        ids = {u.id for u in units}
        tops = [u for u in units if u.parent_id not in ids]
        base = tops[0] if len(tops) == 1 else None
    names = {u.id: u.name for u in units}
    groups = UnitGroups(base.id if base else None, {}, names, [])
    for unit in units:
        group = groups.group_of_path(unit.path)
        if group is not None:
            groups.group_of[unit.id] = group
            if group not in groups.order and group != groups.base_id:
                groups.order.append(group)
    if groups.base_id is not None:
        groups.order.append(groups.base_id)
    return groups


def unit_choices(session: Session, actor: Actor) -> dict[int, str]:
    """The units a dashboard may be filtered to (the actor's scope), tree order, labelled
    "Parent / Child" - without the head counts the org page reads."""
    actor.require(Permission.VIEW_DASHBOARDS)
    units = session.exec(select(OrgUnit).where(org_unit_scope(actor)).order_by(OrgUnit.path)).all()
    names = {u.id: u.name for u in units}
    return {u.id: " / ".join(names[i] for i in path_ids(u.path) if i in names) for u in units}
