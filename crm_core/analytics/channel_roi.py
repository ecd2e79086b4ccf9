"""Channel ROI (marketing's report): per channel and campaign, the leads of the period,
what they cost, what they won and brought in.

- Leads: leads created in the period (not merged away), by their channel and campaign.
- Spend: the marketing spend of the months the period touches (a month counts whole).
- Won and revenue: the cohort's opportunities with a paid order (refunded ones excluded:
  ROI is on money kept), whenever it was paid; won also counts the cohort's won
  opportunities that have no order at all (imported wins without an amount: won, no
  revenue).
- Cost per lead = spend / leads; ROI = (revenue - spend) / spend.

Spend is company-wide, so cost per lead and ROI are shown only to viewers whose scope is
the whole company; a narrower scope sees its own leads, won and revenue without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.analytics.cache import cached
from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.marketing_spend import month_start
from crm_core.analytics.scope import (
    check_view,
    in_period,
    period_bounds,
    revenue_scope,
)
from crm_core.models import Lead, Opportunity, OrgUnit, SalesOrder
from crm_core.models.dashboards import MarketingSpend
from crm_core.org.access import lead_scope_parts, opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import DataScope

ZERO = Decimal(0)


@dataclass
class RoiRow:
    channel: str
    campaign: str | None  # None: the channel's total row
    leads: int = 0
    won: int = 0
    revenue: Decimal = ZERO
    spend: Decimal | None = None

    @property
    def cost_per_lead(self) -> Decimal | None:
        if self.spend is None or not self.leads:
            return None
        return (self.spend / self.leads).quantize(Decimal("0.01"))

    @property
    def roi(self) -> float | None:
        if not self.spend:
            return None
        return float((self.revenue - self.spend) / self.spend)


@dataclass(frozen=True)
class ChannelRoi:
    channels: list[RoiRow]
    campaigns: list[RoiRow] = field(default_factory=list)
    spend_shown: bool = True

    @property
    def total(self) -> RoiRow:
        row = RoiRow("", None, spend=ZERO if self.spend_shown else None)
        for r in self.channels:
            row.leads += r.leads
            row.won += r.won
            row.revenue += r.revenue
            if row.spend is not None and r.spend is not None:
                row.spend += r.spend
        return row


def channel_roi(session: Session, actor: Actor, view: DashboardFilter) -> ChannelRoi:
    """Leads, spend, cost per lead, won, revenue and ROI by channel and campaign (cached)."""
    unit = check_view(session, actor, view)
    return cached(
        session,
        actor,
        "channel_roi",
        view,
        lambda: _roi(session, actor, view, unit),
        (
            "lead",
            "opportunity",
            "stage_history",
            "sales_order",
            "marketing_spend",
            "org",
            "history_import",
        ),
    )


def _lead_conditions(actor: Actor, view: DashboardFilter, unit, period) -> list:
    conditions = [col(Lead.merged_into_id).is_(None), *in_period(Lead.created_at, period)]
    if view.channel:
        conditions.append(Lead.channel == view.channel)
    if view.campaign:
        conditions.append(Lead.campaign == view.campaign)
    if view.business_line_id is not None or unit is not None or view.owner_id is not None:
        # A lead counts for a line, unit or rep through an opportunity of it there.
        # An alias: the revenue query joins `opportunity` itself, which must not correlate.
        other = aliased(Opportunity)
        on = [other.lead_id == Lead.id]
        if view.business_line_id is not None:
            on.append(other.business_line_id == view.business_line_id)
        if unit is not None:
            on.append(
                col(other.org_unit_id).in_(
                    select(OrgUnit.id).where(col(OrgUnit.path).like(f"{unit.path}%"))
                )
            )
        if view.owner_id is not None:
            on.append(other.owner_id == view.owner_id)
        conditions.append(exists().where(*on).correlate(Lead))
    return conditions


def _roi(session: Session, actor: Actor, view: DashboardFilter, unit) -> ChannelRoi:
    period = period_bounds(session, view)
    leads_where = _lead_conditions(actor, view, unit, period)
    rows: dict[tuple[str, str], RoiRow] = {}

    def row(channel: str, campaign: str | None) -> RoiRow:
        key = (channel, campaign or "")
        return rows.setdefault(key, RoiRow(channel, campaign or ""))

    # Leads in the viewer's scope, counted per disjoint part of it (each from its own
    # index); revenue below is scoped by its frozen attribution.
    for part in lead_scope_parts(actor, shared=False):
        for channel, campaign, n in session.exec(
            select(Lead.channel, Lead.campaign, func.count())
            .where(*leads_where, part)
            .group_by(Lead.channel, Lead.campaign)
        ).all():
            row(channel, campaign).leads += int(n)

    paid = (
        select(
            Lead.channel,
            Lead.campaign,
            func.count(func.distinct(Opportunity.id)),
            func.sum(SalesOrder.paid_amount - SalesOrder.refunded_amount),
        )
        .select_from(SalesOrder)
        .join(Opportunity, Opportunity.id == SalesOrder.opportunity_id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .where(
            *leads_where,
            SalesOrder.paid_amount > SalesOrder.refunded_amount,
            revenue_scope(actor),
        )
    )
    if view.business_line_id is not None:
        paid = paid.where(Opportunity.business_line_id == view.business_line_id)
    for channel, campaign, won, amount in session.exec(
        paid.group_by(Lead.channel, Lead.campaign)
    ).all():
        item = row(channel, campaign)
        item.won += int(won)
        item.revenue += Decimal(amount or 0)

    # Wins without any order (imported ones): counted, with no revenue. Scoped as the
    # opportunities are, since no frozen attribution exists for them.
    orderless = (
        select(Lead.channel, Lead.campaign, func.count(Opportunity.id))
        .select_from(Opportunity)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .where(
            *leads_where,
            Opportunity.stage == "won",
            opportunity_scope(actor, shared=False),
            ~exists().where(SalesOrder.opportunity_id == Opportunity.id),
        )
    )
    if view.business_line_id is not None:
        orderless = orderless.where(Opportunity.business_line_id == view.business_line_id)
    for channel, campaign, won in session.exec(
        orderless.group_by(Lead.channel, Lead.campaign)
    ).all():
        row(channel, campaign).won += int(won)

    spend_shown = actor.scope is DataScope.ALL and unit is None and view.owner_id is None
    if spend_shown:
        spend = select(
            MarketingSpend.channel, MarketingSpend.campaign, func.sum(MarketingSpend.amount)
        )
        if view.start is not None:
            spend = spend.where(MarketingSpend.month >= month_start(view.start))
        if view.end is not None:
            spend = spend.where(MarketingSpend.month <= month_start(view.end))
        if view.channel:
            spend = spend.where(MarketingSpend.channel == view.channel)
        if view.campaign:
            spend = spend.where(MarketingSpend.campaign == view.campaign)
        for channel, campaign, amount in session.exec(
            spend.group_by(MarketingSpend.channel, MarketingSpend.campaign)
        ).all():
            item = row(channel, campaign)
            item.spend = (item.spend or ZERO) + Decimal(amount or 0)
        for item in rows.values():
            item.spend = item.spend if item.spend is not None else ZERO

    channels: dict[str, RoiRow] = {}
    for item in rows.values():
        total = channels.setdefault(
            item.channel, RoiRow(item.channel, None, spend=ZERO if spend_shown else None)
        )
        total.leads += item.leads
        total.won += item.won
        total.revenue += item.revenue
        if spend_shown:
            total.spend = (total.spend or ZERO) + (item.spend or ZERO)
    by_size = sorted(channels.values(), key=lambda r: (-r.leads, r.channel))
    campaigns = sorted(
        rows.values(), key=lambda r: (r.channel, r.campaign == "", -r.leads, r.campaign or "")
    )
    return ChannelRoi(by_size, campaigns, spend_shown)
