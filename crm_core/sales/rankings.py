"""Activity rankings (龙虎榜): per rep and per team, for today, this week or this month
(company time), of calls, call minutes, follow-ups, new opportunities contacted within 24
hours of assignment, trials booked, wins and revenue.

Each figure is read from an index for the reps in reach (follow-ups by author and time,
trials by booker and time, assignments by time, paid orders by the owner frozen at
payment), a few grouped queries whatever the size of the company. Wins and revenue are
those of team performance (`crm_core.analytics.performance`): orders paid in the period,
credited to the owner frozen on each order.

Scope: a manager ranks the reps and teams in reach; a rep (who reaches only their own rows)
sees their own figures and their rank among their team's reps, not the others' figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from crm_core.models import (
    FollowUp,
    Opportunity,
    OrderPayment,
    OrgUnit,
    SalesOrder,
    TrialLesson,
    User,
)
from crm_core.org.access import user_scope
from crm_core.org.roles import dispatch_receivers
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, day_start_in, to_local
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope, Permission

PERIODS = ("day", "week", "month")
METRICS = (
    "revenue",
    "wins",
    "calls",
    "call_minutes",
    "follow_ups",
    "fast_contacts",
    "trials",
)
FAST = timedelta(hours=24)


@dataclass
class RankRow:
    key: int
    name: str
    unit_id: int | None = None
    unit_name: str | None = None
    values: dict[str, Decimal | int] = field(default_factory=dict)
    rank: int = 0


@dataclass(frozen=True)
class Rankings:
    period: str
    metric: str
    since: datetime
    until: datetime
    reps: list[RankRow]
    teams: list[RankRow]
    # The viewer's own row when they are ranked, and how many they are ranked among.
    me: RankRow | None
    among: int


def period_of(
    session: Session, period: str, today: date | None = None
) -> tuple[datetime, datetime]:
    """[since, until) of today, this week (from Monday) or this month, in company time, as
    naive-UTC instants."""
    if period not in PERIODS:
        raise ValidationError(N_("Unknown period {period}."), period=period)
    zone = company_zone(session)
    today = today or to_local(clock.now(), zone).date()
    if period == "day":
        start, end = today, today + timedelta(days=1)
    elif period == "week":
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=7)
    else:
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return day_start_in(zone, start), day_start_in(zone, end)


def _people(session: Session, actor: Actor) -> tuple[dict[int, tuple], bool]:
    """The ranked reps: id -> (name, unit id, unit name); and whether the viewer sees only
    their own row (a rep: ranked among their team)."""
    own_only = (
        actor.scope is DataScope.SELF and not actor.exact_unit_ids and not actor.subtree_paths
    )
    query = (
        select(User.id, User.full_name, User.org_unit_id, OrgUnit.name)
        .join(OrgUnit, col(OrgUnit.id) == col(User.org_unit_id), isouter=True)
        .where(User.status == "active", dispatch_receivers(session))
    )
    if own_only:
        query = query.where(User.org_unit_id == actor.org_unit_id)
    else:
        query = query.where(user_scope(actor))
    return {
        uid: (name, unit, unit_name) for uid, name, unit, unit_name in session.exec(query)
    }, own_only


def _chunks(ids: list[int], size: int = 900):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _figures(session: Session, ids: list[int], since: datetime, until: datetime) -> dict:
    """user -> metric -> value, for `ids` in [since, until)."""
    values: dict[int, dict] = defaultdict(dict)
    for part in _chunks(ids):
        for uid, follow_ups, calls, seconds in session.exec(
            select(
                FollowUp.author_id,
                func.count(),
                func.sum(case((FollowUp.channel == "call", 1), else_=0)),
                func.coalesce(func.sum(FollowUp.call_duration_s), 0),
            )
            .where(
                col(FollowUp.author_id).in_(part),
                FollowUp.created_at >= since,
                FollowUp.created_at < until,
            )
            .group_by(FollowUp.author_id)
        ):
            values[uid].update(
                follow_ups=follow_ups, calls=int(calls or 0), call_minutes=int(seconds or 0) // 60
            )
        for uid, trials in session.exec(
            select(TrialLesson.booked_by_id, func.count())
            .where(
                col(TrialLesson.booked_by_id).in_(part),
                TrialLesson.created_at >= since,
                TrialLesson.created_at < until,
            )
            .group_by(TrialLesson.booked_by_id)
        ):
            values[uid]["trials"] = trials
        # A sale counts once, at its first payment; revenue is every payment in the period
        # (a deposit, each instalment), by the attribution frozen at that payment.
        for uid, wins in session.exec(
            select(
                SalesOrder.attributed_owner_id,
                func.count(func.distinct(SalesOrder.opportunity_id)),
            )
            .where(
                col(SalesOrder.attributed_owner_id).in_(part),
                SalesOrder.paid_at >= since,
                SalesOrder.paid_at < until,
            )
            .group_by(SalesOrder.attributed_owner_id)
        ):
            values[uid]["wins"] = wins
        for uid, revenue in session.exec(
            select(
                OrderPayment.attributed_owner_id,
                func.coalesce(func.sum(OrderPayment.amount), 0),
            )
            .where(
                col(OrderPayment.attributed_owner_id).in_(part),
                OrderPayment.paid_at >= since,
                OrderPayment.paid_at < until,
            )
            .group_by(OrderPayment.attributed_owner_id)
        ):
            values[uid]["revenue"] = Decimal(str(revenue))
        # Assigned in the period and first followed up within a day: the assignment index
        # holds both times, so only the period's assignments are read.
        for uid, assigned, first in session.exec(
            select(
                Opportunity.owner_id, Opportunity.assigned_at, Opportunity.first_follow_up_at
            ).where(
                Opportunity.assigned_at >= since,
                Opportunity.assigned_at < until,
                col(Opportunity.first_follow_up_at).is_not(None),
                col(Opportunity.owner_id).in_(part),
            )
        ):
            if first - assigned <= FAST:
                values[uid]["fast_contacts"] = values[uid].get("fast_contacts", 0) + 1
    return values


def _ranked(rows: list[RankRow], metric: str) -> list[RankRow]:
    """Highest first; equal figures share a rank (1, 2, 2, 4)."""
    rows.sort(key=lambda r: (-r.values[metric], r.name))
    previous, rank = None, 0
    for position, row in enumerate(rows, start=1):
        if row.values[metric] != previous:
            rank, previous = position, row.values[metric]
        row.rank = rank
    return rows


def rankings(
    session: Session,
    actor: Actor,
    *,
    period: str = "week",
    metric: str = "revenue",
    today: date | None = None,
) -> Rankings:
    """The rankings of the reps and teams in the actor's reach for `period`, by `metric`."""
    if not (actor.can(Permission.VIEW_DASHBOARDS) or actor.can(Permission.WORK_OPPORTUNITIES)):
        actor.require(Permission.VIEW_DASHBOARDS)
    if metric not in METRICS:
        raise ValidationError(N_("Unknown ranking {metric}."), metric=metric)
    since, until = period_of(session, period, today)
    people, own_only = _people(session, actor)
    figures = _figures(session, sorted(people), since, until)
    reps = [
        RankRow(
            uid,
            name,
            unit,
            unit_name,
            {m: figures.get(uid, {}).get(m, Decimal(0) if m == "revenue" else 0) for m in METRICS},
        )
        for uid, (name, unit, unit_name) in people.items()
    ]
    reps = _ranked(reps, metric)
    me = next((r for r in reps if r.key == actor.user_id), None)
    teams: dict[int, RankRow] = {}
    for row in reps:
        if row.unit_id is None:
            continue
        team = teams.setdefault(
            row.unit_id,
            RankRow(row.unit_id, row.unit_name or "", values={m: 0 for m in METRICS}),
        )
        for m in METRICS:
            team.values[m] += row.values[m]
    among = len(reps)
    if own_only:
        reps, team_rows = ([me] if me else []), []
    else:
        team_rows = _ranked(list(teams.values()), metric)
    return Rankings(period, metric, since, until, reps, team_rows, me, among)
