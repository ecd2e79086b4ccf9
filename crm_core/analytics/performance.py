"""Team performance (the owner's goal 3): revenue by the attribution frozen on each paid
order, per unit of a drill-down and per rep, for a period; won count, win rate, average
order, a leaderboard; refunds apart.

- Revenue: payments (`order_payment`) made in the period - an order paid at once is one
  payment, a deposit and each instalment one each - credited to the owner and the unit
  path frozen at that payment: a reorganisation never moves past revenue.
- Refunds: refunds (`order_refund`, whole or a part) made in the period, credited to the
  attribution of the payment they give back, shown apart; net = revenue - refunds.
- Orders: orders first paid in the period.
- Won: opportunities with an order paid in the period (`outcomes.won_in_period`, the
  funnel's "won in the period" too). Lost: opportunities lost (closed) in the period,
  counted for their owner and their unit. Win rate = won / (won + lost).
- A unit's row holds its whole subtree: the group of an order is the unit that follows the
  drill-down's base in the order's frozen path.
- People: the owner frozen on the order (lost: the owner), or, when the view credits the
  qualifier, whoever qualified the opportunity (`opportunity.qualified_by_id`, e.g. the SDR
  of an imported closed deal). Units stay the owner's in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.analytics.cache import cached
from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.funnel import rate
from crm_core.analytics.outcomes import won_in_period
from crm_core.analytics.scope import (
    check_view,
    in_period,
    needs_opportunity,
    opportunity_conditions,
    period_bounds,
    revenue_conditions,
    unit_groups,
    with_lead,
)
from crm_core.models import Opportunity, OrderPayment, OrderRefund, OrgUnit, SalesOrder, User
from crm_core.platform.actor import Actor

ZERO = Decimal(0)


@dataclass
class PerformanceRow:
    """One unit, one rep, or the total."""

    key: int | None
    label: str | None
    revenue: Decimal = ZERO
    orders: int = 0
    won: int = 0
    lost: int = 0
    refunds: Decimal = ZERO
    refund_count: int = 0

    @property
    def net(self) -> Decimal:
        return self.revenue - self.refunds

    @property
    def win_rate(self) -> float | None:
        """won / (won + lost)."""
        return rate(self.won, self.won + self.lost)

    @property
    def average_order(self) -> Decimal | None:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else None

    def add(self, other: PerformanceRow) -> None:
        self.revenue += other.revenue
        self.orders += other.orders
        self.won += other.won
        self.lost += other.lost
        self.refunds += other.refunds
        self.refund_count += other.refund_count


@dataclass(frozen=True)
class Performance:
    total: PerformanceRow
    units: list[PerformanceRow] = field(default_factory=list)  # the drill-down's groups
    reps: list[PerformanceRow] = field(default_factory=list)  # the leaderboard


def performance(session: Session, actor: Actor, view: DashboardFilter) -> Performance:
    """Revenue, won, lost, win rate and refunds of the view, by unit and by rep (cached)."""
    unit = check_view(session, actor, view)
    return cached(
        session,
        actor,
        "performance",
        view,
        lambda: _performance(session, actor, view, unit),
        ("sales_order", "opportunity", "stage_history", "flow_event", "org", "history_import"),
    )


def _sales(session: Session, actor: Actor, view: DashboardFilter, unit):
    """(frozen path, frozen owner) -> (orders, opportunities) first paid in the period: a
    sale counts once, at its first payment, however many instalments follow."""
    o = SalesOrder
    person = Opportunity.qualified_by_id if view.credit == "qualifier" else o.attributed_owner_id
    query = select(
        o.attributed_org_path, person, func.count(), func.count(func.distinct(o.opportunity_id))
    ).select_from(o)
    if needs_opportunity(view) or view.credit == "qualifier":
        query = with_lead(query.join(Opportunity, Opportunity.id == o.opportunity_id), view)
    query = query.where(
        col(o.paid_at).is_not(None),
        *revenue_conditions(actor, view, unit),
        *in_period(o.paid_at, period_bounds(session, view)),
    ).group_by(o.attributed_org_path, person)
    return session.exec(query).all()


def _money(session: Session, actor: Actor, view: DashboardFilter, unit, source, moment):
    """(frozen path, frozen owner) -> (orders, amount) of the payments (`OrderPayment`) or
    refunds (`OrderRefund`) whose `moment` falls in the period, by their own attribution."""
    person = (
        Opportunity.qualified_by_id if view.credit == "qualifier" else source.attributed_owner_id
    )
    query = select(
        source.attributed_org_path,
        person,
        func.count(func.distinct(source.order_id)),
        func.sum(source.amount),
    ).select_from(source)
    if needs_opportunity(view) or view.credit == "qualifier":
        query = with_lead(
            query.join(SalesOrder, SalesOrder.id == source.order_id).join(
                Opportunity, Opportunity.id == SalesOrder.opportunity_id
            ),
            view,
        )
    query = query.where(
        *revenue_conditions(actor, view, unit, source),
        *in_period(moment, period_bounds(session, view)),
    ).group_by(source.attributed_org_path, person)
    return session.exec(query).all()


def _lost(session: Session, actor: Actor, view: DashboardFilter, unit):
    """(unit path now, owner or qualifier) -> opportunities lost in the period."""
    o = Opportunity
    person = o.qualified_by_id if view.credit == "qualifier" else o.owner_id
    query = (
        with_lead(select(OrgUnit.path, person, func.count()).select_from(o), view)
        .outerjoin(OrgUnit, OrgUnit.id == o.org_unit_id)
        .where(
            *opportunity_conditions(actor, view, unit),
            o.stage == "lost",
            *in_period(o.closed_at, period_bounds(session, view)),
        )
        .group_by(OrgUnit.path, person)
    )
    return session.exec(query).all()


def _performance(session: Session, actor: Actor, view: DashboardFilter, unit) -> Performance:
    groups = unit_groups(session, actor, unit)
    total = PerformanceRow(None, None)
    units: dict[int, PerformanceRow] = {}
    reps: dict[int, PerformanceRow] = {}

    def credit(path, owner_id, row: PerformanceRow) -> None:
        total.add(row)
        group = groups.group_of_path(path)
        if group is not None:
            units.setdefault(group, PerformanceRow(group, groups.names.get(group))).add(row)
        if owner_id is not None:
            reps.setdefault(owner_id, PerformanceRow(owner_id, None)).add(row)

    for path, owner_id, orders, won in _sales(session, actor, view, unit):
        credit(path, owner_id, PerformanceRow(None, None, orders=orders, won=won))
    paid = _money(session, actor, view, unit, OrderPayment, OrderPayment.paid_at)
    for path, owner_id, _, amount in paid:
        credit(path, owner_id, PerformanceRow(None, None, Decimal(amount or 0)))
    refunded = _money(session, actor, view, unit, OrderRefund, OrderRefund.refunded_at)
    for path, owner_id, orders, amount in refunded:
        row = PerformanceRow(None, None, refunds=Decimal(amount or 0), refund_count=orders)
        credit(path, owner_id, row)
    for path, owner_id, lost in _lost(session, actor, view, unit):
        credit(path, owner_id, PerformanceRow(None, None, lost=lost))

    # The total counts each opportunity once, even one whose orders were credited to two
    # people: the same figure the funnel shows as won in the period.
    total.won = won_in_period(session, actor, view, unit)
    names = dict(
        session.exec(select(User.id, User.full_name).where(col(User.id).in_(list(reps)))).all()
    )
    for user_id, row in reps.items():
        row.label = names.get(user_id, str(user_id))
    order = {g: i for i, g in enumerate(groups.order)}
    return Performance(
        total=total,
        units=sorted(units.values(), key=lambda r: (order.get(r.key, len(order)), r.key or 0)),
        reps=sorted(reps.values(), key=lambda r: (-r.revenue, -r.won, r.label or "")),
    )
