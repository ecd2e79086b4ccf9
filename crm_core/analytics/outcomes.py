"""What "won in the period" and "lost in the period" mean, for every dashboard that says it.

- Won in the period: opportunities with an order paid in the period (still paid, or
  refunded since), within the viewer's revenue scope (the owner and unit frozen on the
  order at payment). An opportunity with two such orders counts once.
- Lost in the period: opportunities closed as lost in the period, within the viewer's
  scope as the opportunities are now.

The funnel's own "won" is different on purpose: of the opportunities created in the period
(the cohort), how many are won by now. The funnel shows both, and team performance counts
its won with `won_in_period`, so the two pages never disagree on the same days.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.scope import (
    in_period,
    needs_opportunity,
    opportunity_conditions,
    period_bounds,
    revenue_conditions,
    with_lead,
)
from crm_core.models import Opportunity, OrgUnit, SalesOrder
from crm_core.platform.actor import Actor

# The order statuses that count as a win at their payment time (a later refund is shown
# apart as a refund; the win stays where it happened). An order paid in instalments counts
# from its first payment (`paid_at`, set then) while still `pending`.
WON_STATUSES = ("paid", "refunded")


def won_in_period(session: Session, actor: Actor, view: DashboardFilter, unit: OrgUnit | None):
    """Opportunities with an order first paid in the view's period, in the viewer's revenue scope.
    `unit` is the view's checked unit (`scope.check_view`)."""
    o = SalesOrder
    query = select(func.count(func.distinct(o.opportunity_id))).select_from(o)
    if needs_opportunity(view):
        query = with_lead(query.join(Opportunity, Opportunity.id == o.opportunity_id), view)
    query = query.where(
        col(o.paid_at).is_not(None),
        *revenue_conditions(actor, view, unit),
        *in_period(o.paid_at, period_bounds(session, view)),
    )
    return int(session.exec(query).one())


def lost_in_period(session: Session, actor: Actor, view: DashboardFilter, unit: OrgUnit | None):
    """Opportunities closed as lost in the view's period, in the viewer's scope."""
    o = Opportunity
    query = with_lead(select(func.count()).select_from(o), view).where(
        *opportunity_conditions(actor, view, unit),
        o.stage == "lost",
        *in_period(o.closed_at, period_bounds(session, view)),
    )
    return int(session.exec(query).one())
