"""Circulation health (the owner's goal 1: use every lead): idle rate, holdings against
caps and the top hoarders, recycles per rule per day, time from assignment to first
contact, claims per day, the dormant, and the share of new opportunities contacted within
24 hours.

Snapshot figures (idle, holdings, dormant) read the opportunities as they are now; period
figures read events in the period (recycles, claims), assignments in the period (first
contact) or opportunities created in it (contacted within 24 hours). Within the viewer's
scope and the view's filters, a few GROUP BYs in all: opportunity figures by the
opportunity scope; holdings by the owners the viewer reaches, recycles by the reps they
were taken from and claims by the claimers, so the owner and event indexes answer them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from crm_core.analytics.cache import cached
from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.funnel import rate
from crm_core.analytics.scope import (
    check_view,
    in_period,
    opportunity_conditions,
    opportunity_filters,
    period_bounds,
    reps_in_scope,
    with_lead,
)
from crm_core.analytics.sql import seconds_between
from crm_core.models import FlowEvent, Opportunity, RecycleRule, User
from crm_core.org.unit_labels import unit_labels
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import local_day_sql
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

DEFAULT_IDLE_DAYS = 7
# How old the idle figures may be: they are taken as of the start of the current tick.
IDLE_TICK = timedelta(minutes=5)
TOP_HOARDERS = 10
# Buckets of the time from assignment to the first follow-up: (code, upper bound in hours).
FIRST_CONTACT_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("within_1h", 1),
    ("within_4h", 4),
    ("within_24h", 24),
    ("within_3d", 72),
    ("later", None),
)
NOT_YET = "not_yet"


@dataclass(frozen=True)
class Holding:
    user_id: int
    name: str
    unit: str | None
    held: int
    cap: int

    @property
    def share_of_cap(self) -> float | None:
        return rate(self.held, self.cap)


@dataclass(frozen=True)
class CirculationHealth:
    idle_days: int
    owned: int
    idle: int
    dormant: int
    holdings: list[Holding]  # every rep holding something, most first
    recycles: list[tuple[date, int | None, str | None, int]]  # day, rule id, rule name, count
    claims: list[tuple[date, int]]
    first_contact: dict[str, int]  # bucket code (FIRST_CONTACT_BUCKETS, NOT_YET) -> count
    created: int  # opportunities created in the period
    contacted_24h: int  # of them, first followed up within 24 hours of creation
    over_cap: int = 0
    top_hoarders: list[Holding] = field(default_factory=list)

    @property
    def idle_rate(self) -> float | None:
        return rate(self.idle, self.owned)

    @property
    def contacted_24h_share(self) -> float | None:
        return rate(self.contacted_24h, self.created)


def circulation_health(
    session: Session, actor: Actor, view: DashboardFilter, *, idle_days: int = DEFAULT_IDLE_DAYS
) -> CirculationHealth:
    """The circulation figures of the view (cached). Idleness moves with the clock, not only
    with the data: the figures are taken as of the start of the current IDLE_TICK, which is
    part of the cache key, so they are at most that old."""
    unit = check_view(session, actor, view)
    if idle_days < 1:
        raise ValidationError(N_("Idle days must be at least 1."))
    now = clock.now()
    tick = now - (now - datetime.min) % IDLE_TICK
    return cached(
        session,
        actor,
        "circulation_health",
        (view, idle_days, tick),
        lambda: _health(session, actor, view, unit, idle_days, tick),
        ("flow_event", "opportunity", "follow_up", "stage_history", "org", "rules"),
    )


def _count_where(conditions) -> object:
    return func.sum(case((conditions, 1), else_=0))


def _health(
    session: Session, actor: Actor, view: DashboardFilter, unit, idle_days: int, now: datetime
):
    o = Opportunity
    base = opportunity_conditions(actor, view, unit)
    period = period_bounds(session, view)

    # Snapshot: owned, idle (no follow-up - or none since assignment - for N days), dormant.
    last_touch = func.coalesce(o.last_follow_up_at, o.assigned_at, o.created_at)
    owned, idle, dormant = session.exec(
        with_lead(
            select(
                _count_where(o.pool_state == "owned"),
                _count_where(
                    (o.pool_state == "owned") & (last_touch < now - timedelta(days=idle_days))
                ),
                _count_where(o.pool_state == "dormant"),
            ).select_from(o),
            view,
        ).where(*base, col(o.pool_state).in_(("owned", "dormant")))
    ).one()

    # Holdings and events are counted by the people the viewer reaches (owners, the reps
    # recycled from, the claimers): the owner and event indexes answer without reading the
    # opportunities, unless the view filters them.
    filters = opportunity_filters(view, unit)
    reps = reps_in_scope(actor)
    held = with_lead(select(o.owner_id, func.count().label("n")).select_from(o), view).where(
        o.pool_state == "owned", *filters
    )
    if reps is not None:
        held = held.where(col(o.owner_id).in_(reps))
    held = held.group_by(o.owner_id).subquery("held")
    held_by = session.exec(
        select(User.id, User.full_name, User.org_unit_id, User.holding_cap, held.c.n)
        .join(held, held.c.owner_id == User.id)
        .order_by(held.c.n.desc(), User.id)
    ).all()
    units = unit_labels(session, {unit_id for _, _, unit_id, _, _ in held_by})
    holdings = [
        Holding(user_id, name, units.get(unit_id), int(n), int(cap))
        for user_id, name, unit_id, cap, n in held_by
    ]

    day = local_day_sql(session, FlowEvent.at, *period)

    def per_day(reason: str, person) -> list:
        events = select(day, FlowEvent.rule_id, func.count()).select_from(FlowEvent)
        if filters:
            events = with_lead(events.join(o, o.id == FlowEvent.opportunity_id), view)
        if reps is not None:
            events = events.where(col(person).in_(reps))
        events = events.where(
            *filters, FlowEvent.reason == reason, *in_period(FlowEvent.at, period)
        )
        return session.exec(events.group_by(day, FlowEvent.rule_id)).all()

    recycle_rows = per_day("recycle", FlowEvent.from_owner_id)
    rule_ids = {r[1] for r in recycle_rows if r[1] is not None}
    rule_names = dict(
        session.exec(
            select(RecycleRule.id, RecycleRule.name).where(col(RecycleRule.id).in_(rule_ids))
        ).all()
    )
    # A recycle may carry no rule (by hand, or from imported history) beside ones that do:
    # those sort after the rules of their day.
    recycles = sorted(
        ((_day(d), rule_id, rule_names.get(rule_id), int(n)) for d, rule_id, n in recycle_rows),
        key=lambda r: (r[0], r[1] is None, r[1] or 0),
    )
    claims_by_day: dict[date, int] = {}
    for d, _, n in per_day("claim", FlowEvent.to_owner_id):
        claims_by_day[_day(d)] = claims_by_day.get(_day(d), 0) + int(n)

    # Time from (the current) assignment to the first follow-up, for assignments in the period:
    # the seconds once per row in a subquery, then its bucket.
    waits = (
        with_lead(
            select(
                seconds_between(session, o.assigned_at, o.first_follow_up_at).label("waited")
            ).select_from(o),
            view,
        )
        .where(
            *opportunity_conditions(actor, view, unit, by_period=True),
            col(o.assigned_at).is_not(None),
            *in_period(o.assigned_at, period),
        )
        .subquery("waits")
    )
    bucket = case(
        (waits.c.waited.is_(None), NOT_YET),
        *((waits.c.waited <= hours * 3600, code) for code, hours in FIRST_CONTACT_BUCKETS if hours),
        else_=FIRST_CONTACT_BUCKETS[-1][0],
    )
    first_contact = dict.fromkeys([*(c for c, _ in FIRST_CONTACT_BUCKETS), NOT_YET], 0)
    for code, n in session.exec(select(bucket, func.count()).group_by(bucket)).all():
        first_contact[code] = int(n)

    soon = seconds_between(session, o.created_at, o.first_follow_up_at) <= 24 * 3600
    created, contacted = session.exec(
        with_lead(select(func.count(), _count_where(soon)).select_from(o), view).where(
            *opportunity_conditions(actor, view, unit, period)
        )
    ).one()
    return CirculationHealth(
        idle_days=idle_days,
        owned=int(owned or 0),
        idle=int(idle or 0),
        dormant=int(dormant or 0),
        holdings=holdings,
        recycles=recycles,
        claims=sorted(claims_by_day.items()),
        first_contact=first_contact,
        created=int(created or 0),
        contacted_24h=int(contacted or 0),
        over_cap=sum(1 for h in holdings if h.held > h.cap),
        top_hoarders=sorted(holdings, key=lambda h: (-h.held, h.user_id))[:TOP_HOARDERS],
    )


def _day(value) -> date:
    """A day as the database returns it (a date on PostgreSQL, text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
