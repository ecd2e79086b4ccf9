"""Attainment of the sales targets (`crm_core.sales.targets`): what each unit and person
reached in a month or quarter against their target.

Actual figures use the attribution frozen on each paid order, as team performance does
(`crm_core.analytics.performance`): revenue and won opportunities of orders paid in the
period (still paid, or refunded since: refunds are shown apart there), credited to the
owner frozen at payment and to every unit on the frozen path (a unit's figure is its
subtree's). New paid students: people (leads) whose first paid order ever was paid in the
period, credited like that order. Each figure is one grouped query over the period's
orders, folded onto the units and people asked for - never a query per person.

A subject's actual is shown to whoever reads its target: a unit's aggregate, not its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.scope import check_view, unit_groups
from crm_core.models import (
    TARGET_METRICS,
    Opportunity,
    OrderPayment,
    SalesOrder,
    SalesTarget,
    User,
    path_ids,
)
from crm_core.org.access import user_scope
from crm_core.org.roles import dispatch_receivers
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, day_start_in, to_local
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.sales.targets import (
    ZERO,
    month_of,
    quarter_months,
    readable_units,
    readable_users,
)

PERIODS = ("month", "quarter")
Values = dict[str, Decimal]


@dataclass(frozen=True)
class Figure:
    """One metric: the target (None: none set) and the actual."""

    metric: str
    target: Decimal | None
    actual: Decimal

    @property
    def share(self) -> float | None:
        """actual / target (None without a positive target)."""
        return float(self.actual / self.target) if self.target else None

    @property
    def gap(self) -> Decimal | None:
        """What is still missing to reach the target (0 once reached)."""
        return None if self.target is None else max(self.target - self.actual, ZERO)


@dataclass
class AttainmentRow:
    """A unit or a person, with a figure per metric."""

    kind: str  # unit | user
    key: int
    name: str
    figures: dict[str, Figure] = field(default_factory=dict)
    unit_id: int | None = None  # a person's unit; a unit's parent
    depth: int = 0


@dataclass(frozen=True)
class Attainment:
    period: str
    months: list[date]
    units: list[AttainmentRow]
    people: list[AttainmentRow]


def period_months(period: str, day: date) -> list[date]:
    """The month of `day`, or the three months of its quarter."""
    if period not in PERIODS:
        raise ValidationError(N_("Unknown period {period}."), period=period)
    return [month_of(day)] if period == "month" else quarter_months(day)


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def bounds(session: Session, months: list[date]) -> tuple[datetime, datetime]:
    """[since, until) of consecutive months, company time, as naive-UTC instants."""
    zone = company_zone(session)
    return day_start_in(zone, months[0]), day_start_in(zone, _next_month(months[-1]))


def _fold(rows, unit_ids: set[int], user_ids: set[int], units: dict, users: dict, metric):
    """Credit (path, owner, value) rows to the owner and every unit on the path."""
    for path, owner, value in rows:
        value = Decimal(value or 0)
        if owner in user_ids:
            users[owner][metric] += value
        for unit_id in path_ids(path or ""):
            if unit_id in unit_ids:
                units[unit_id][metric] += value


def actuals(
    session: Session, since: datetime, until: datetime, unit_ids: set[int], user_ids: set[int]
) -> tuple[dict[int, Values], dict[int, Values]]:
    """unit -> metric -> actual, person -> metric -> actual, for [since, until)."""
    units = {u: dict.fromkeys(TARGET_METRICS, ZERO) for u in unit_ids}
    users = {u: dict.fromkeys(TARGET_METRICS, ZERO) for u in user_ids}
    o = SalesOrder
    # A sale counts once, at its first payment (`paid_at`); revenue is every payment in the
    # period (a deposit, each instalment), by the attribution frozen at that payment.
    paid = [o.paid_at >= since, o.paid_at < until]
    won = session.exec(
        select(
            o.attributed_org_path,
            o.attributed_owner_id,
            func.count(func.distinct(o.opportunity_id)),
        )
        .where(*paid)
        .group_by(o.attributed_org_path, o.attributed_owner_id)
    ).all()
    p = OrderPayment
    revenue = session.exec(
        select(p.attributed_org_path, p.attributed_owner_id, func.sum(p.amount))
        .where(p.paid_at >= since, p.paid_at < until)
        .group_by(p.attributed_org_path, p.attributed_owner_id)
    ).all()
    _fold(revenue, unit_ids, user_ids, units, users, "revenue")
    _fold(won, unit_ids, user_ids, units, users, "won")
    # Each person's first paid order ever, for the people who paid in the period.
    payers = (
        select(Opportunity.lead_id)
        .join(SalesOrder, col(SalesOrder.opportunity_id) == col(Opportunity.id))
        .where(*paid)
    )
    ranked = (
        select(
            o.attributed_org_path.label("path"),
            o.attributed_owner_id.label("owner"),
            o.paid_at.label("paid_at"),
            func.row_number()
            .over(partition_by=Opportunity.lead_id, order_by=(o.paid_at, o.id))
            .label("place"),
        )
        .join(Opportunity, col(Opportunity.id) == col(o.opportunity_id))
        .where(col(o.paid_at).is_not(None), col(Opportunity.lead_id).in_(payers))
        .subquery()
    )
    firsts = session.exec(
        select(ranked.c.path, ranked.c.owner, func.count())
        .where(ranked.c.place == 1, ranked.c.paid_at >= since, ranked.c.paid_at < until)
        .group_by(ranked.c.path, ranked.c.owner)
    ).all()
    _fold(firsts, unit_ids, user_ids, units, users, "new_students")
    return units, users


def _targets(session: Session, months: list[date], unit_ids, user_ids):
    """unit -> metric -> the months' sum, person -> metric -> sum (only targets set)."""
    units: dict[int, Values] = {}
    users: dict[int, Values] = {}
    for target in session.exec(select(SalesTarget).where(col(SalesTarget.month).in_(months))):
        if target.org_unit_id in unit_ids:
            into = units.setdefault(target.org_unit_id, {})
        elif target.user_id in user_ids:
            into = users.setdefault(target.user_id, {})
        else:
            continue
        into[target.metric] = into.get(target.metric, ZERO) + target.value
    return units, users


def attainment(session: Session, actor: Actor, day: date, period: str = "month") -> Attainment:
    """Targets and actuals of the month (or quarter) holding `day`, for every unit and
    person whose targets the actor reads: units in tree order; people who receive
    dispatch or hold a target, by unit."""
    months = period_months(period, day)
    units = readable_units(session, actor)
    people = readable_users(session, actor)
    unit_targets, user_targets = _targets(session, months, set(units), set(people))
    working = set(
        session.exec(
            select(User.id).where(
                user_scope(actor), User.status == "active", dispatch_receivers(session)
            )
        ).all()
    )
    shown = [p for p in people.values() if p.id in working or p.id in user_targets]
    since, until = bounds(session, months)
    unit_actuals, user_actuals = actuals(session, since, until, set(units), {p.id for p in shown})

    def figures(targets: Values, reached: Values) -> dict[str, Figure]:
        return {m: Figure(m, targets.get(m), reached[m]) for m in TARGET_METRICS}

    unit_rows = [
        AttainmentRow(
            "unit",
            u.id,
            u.name,
            figures(unit_targets.get(u.id, {}), unit_actuals[u.id]),
            u.parent_id,
            u.depth,
        )
        for u in units.values()
    ]
    names = {u.id: u.path for u in units.values()}
    shown.sort(key=lambda p: (names.get(p.org_unit_id, "~"), p.full_name))
    people_rows = [
        AttainmentRow(
            "user",
            p.id,
            p.full_name,
            figures(user_targets.get(p.id, {}), user_actuals[p.id]),
            p.org_unit_id,
        )
        for p in shown
    ]
    return Attainment(period, months, unit_rows, people_rows)


def my_attainment(session: Session, actor: Actor, day: date | None = None) -> list[Figure]:
    """The actor's own targets of this month (company time) with what they reached; empty
    when they have none."""
    if actor.user_id is None:
        return []
    day = day or to_local(clock.now(), company_zone(session)).date()
    months = [month_of(day)]
    readable_users(session, actor)  # the permission check
    _, targets = _targets(session, months, set(), {actor.user_id})
    mine = targets.get(actor.user_id)
    if not mine:
        return []
    _, reached = actuals(session, *bounds(session, months), set(), {actor.user_id})
    return [Figure(m, mine[m], reached[actor.user_id][m]) for m in TARGET_METRICS if m in mine]


@dataclass(frozen=True)
class PeriodTargets:
    """Targets of a dashboard period: unit -> metric -> value, person -> metric -> value.
    A month the period covers in part counts by its share of days."""

    units: dict[int, Values]
    people: dict[int, Values]
    prorated: bool


def performance_targets(session: Session, actor: Actor, view: DashboardFilter) -> PeriodTargets:
    """The targets beside team performance's rows for the view's period: the drill-down's
    units (a group's target is its unit's, which covers the subtree; the base row holds
    only what sits directly in the base, so it gets none) and the people in reach."""
    unit = check_view(session, actor, view)
    if view.start is None or view.end is None:
        return PeriodTargets({}, {}, False)
    weights: dict[date, Decimal] = {}
    month = month_of(view.start)
    while month <= view.end:
        following = _next_month(month)
        first, last = max(month, view.start), min(following - timedelta(days=1), view.end)
        days = (last - first).days + 1
        weights[month] = Decimal(days) / Decimal((following - month).days)
        month = following
    groups = unit_groups(session, actor, unit)
    unit_ids = set(groups.order) - {groups.base_id}
    people = set(readable_users(session, actor))
    units: dict[int, Values] = {}
    users: dict[int, Values] = {}
    for target in session.exec(
        select(SalesTarget).where(col(SalesTarget.month).in_(list(weights)))
    ):
        if target.org_unit_id in unit_ids:
            into = units.setdefault(target.org_unit_id, {})
        elif target.user_id in people:
            into = users.setdefault(target.user_id, {})
        else:
            continue
        value = target.value * weights[target.month]
        into[target.metric] = into.get(target.metric, ZERO) + value
    return PeriodTargets(units, users, any(w != 1 for w in weights.values()))
