"""A rep's workbench (工作台): what to do today and how the day went.

Follow-ups due today and overdue, new assignments not yet touched, what a recycle rule will
soon take back, the pipeline by stage, today's follow-ups and calls, today's trial lessons;
for a manager also each rep's backlog in their scope and the requests waiting for them.
Every list is a short, index-backed query on the actor's own rows (owner and next
follow-up, owner and pool state, author and time), never a scan of all opportunities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from crm_core.models import (
    OPEN_STAGES,
    BusinessLine,
    FollowUp,
    Lead,
    Opportunity,
    TrialLesson,
    User,
)
from crm_core.org.access import user_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import local_day_start
from crm_core.platform.permissions import DataScope, Permission
from crm_core.sales.expected_value import (
    expected_amount,
    join_prices,
    money,
    reference_prices,
    weighted_amount,
)

LINES = 20  # lines per list; the counts say how many there are in all


@dataclass(frozen=True)
class WorkLine:
    """One opportunity on the workbench, with the time that put it there."""

    opportunity_id: int
    lead_name: str
    business_line: str
    stage: str
    intention_level: str | None
    pipeline_type: str
    at: datetime | None
    has_phone: bool = False  # the lead has a number to call (click-to-call offers it)


@dataclass(frozen=True)
class TrialLine:
    trial_id: int
    opportunity_id: int
    lead_name: str
    scheduled_at: datetime
    course: str | None


@dataclass(frozen=True)
class StageCount:
    """Open opportunities at one stage: how many, their expected amount and that amount
    weighted by the stage (`crm_core.sales.expected_value`)."""

    stage: str
    count: int
    amount: Decimal
    weighted: Decimal = Decimal(0)


@dataclass(frozen=True)
class DayActivity:
    """What the actor logged today (company-local day)."""

    follow_ups: int = 0
    calls: int = 0
    connected_calls: int = 0
    call_seconds: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RepBacklog:
    """One rep's open work, for the manager's view."""

    user_id: int
    name: str
    owned: int
    overdue: int
    untouched: int
    holding_cap: int


@dataclass(frozen=True)
class Workbench:
    overdue: list[WorkLine]
    overdue_count: int
    due_today: list[WorkLine]
    due_today_count: int
    new_assignments: list[WorkLine]
    new_count: int
    pipeline: list[StageCount]
    today: DayActivity
    trials_today: list[TrialLine]
    team: list[RepBacklog] | None = None  # managers only


def _lines(session: Session, where: list, order, limit: int) -> tuple[list[WorkLine], int]:
    o = Opportunity
    rows = session.exec(
        select(
            o.id,
            Lead.name,
            BusinessLine.name,
            o.stage,
            o.intention_level,
            o.pipeline_type,
            order,
            func.coalesce(Lead.phone, "") != "",
        )
        .join(Lead, Lead.id == o.lead_id)
        .join(BusinessLine, BusinessLine.id == o.business_line_id)
        .where(*where)
        .order_by(order, o.id)
        .limit(limit)
    ).all()
    count = len(rows)
    if count == limit:
        count = session.exec(select(func.count()).select_from(o).where(*where)).one()
    return [WorkLine(*row[:7], bool(row[7])) for row in rows], count


def workbench(session: Session, actor: Actor, *, limit: int = LINES) -> Workbench:
    """The actor's workbench now (work_opportunities)."""
    actor.require(Permission.WORK_OPPORTUNITIES)
    now = clock.now()
    day_start = local_day_start(session, now)
    day_end = day_start + timedelta(days=1)
    o = Opportunity
    mine = [o.owner_id == actor.user_id, o.pool_state == "owned"]
    overdue, overdue_count = _lines(
        session, [*mine, o.next_follow_up_at < now], o.next_follow_up_at, limit
    )
    due, due_count = _lines(
        session,
        [*mine, o.next_follow_up_at >= now, o.next_follow_up_at < day_end],
        o.next_follow_up_at,
        limit,
    )
    new, new_count = new_assignments(session, actor, limit=limit)
    return Workbench(
        overdue=overdue,
        overdue_count=overdue_count,
        due_today=due,
        due_today_count=due_count,
        new_assignments=new,
        new_count=new_count,
        pipeline=pipeline_counts(session, actor),
        today=day_activity(session, actor, day_start),
        trials_today=_trials(session, actor, day_start, day_end),
        team=team_backlog(session, actor) if _manages(actor) else None,
    )


def new_assignments(
    session: Session, actor: Actor, *, limit: int = LINES
) -> tuple[list[WorkLine], int]:
    """The actor's opportunities not yet followed up, newest assignment first, and how many
    there are: what the workbench polls while it is open."""
    actor.require(Permission.WORK_OPPORTUNITIES)
    o = Opportunity
    where = [o.owner_id == actor.user_id, o.pool_state == "owned"]
    return _lines(
        session, [*where, col(o.first_follow_up_at).is_(None)], o.assigned_at.desc(), limit
    )


def _manages(actor: Actor) -> bool:
    return actor.can(Permission.ASSIGN_OPPORTUNITIES) and actor.scope is not DataScope.SELF


def pipeline_counts(session: Session, actor: Actor) -> list[StageCount]:
    """The actor's own open opportunities by stage, with their expected and weighted
    amounts (`expected_value`), in stage order."""
    o = Opportunity
    prices = reference_prices()
    query = select(
        o.stage,
        func.count(),
        func.sum(expected_amount(prices)),
        func.sum(weighted_amount(prices)),
    ).where(o.owner_id == actor.user_id, o.pool_state == "owned")
    rows = {
        stage: (count, amount, weighted)
        for stage, count, amount, weighted in session.exec(
            join_prices(query, prices).group_by(o.stage)
        ).all()
    }
    return [
        StageCount(stage, rows[stage][0], money(rows[stage][1]), money(rows[stage][2]))
        for stage in [*OPEN_STAGES, *sorted(set(rows) - set(OPEN_STAGES))]
        if stage in rows
    ]


def day_activity(session: Session, actor: Actor, day_start: datetime) -> DayActivity:
    """The actor's follow-ups since `day_start`, by channel, and their calls."""
    f = FollowUp
    rows = session.exec(
        select(
            f.channel,
            func.count(),
            func.coalesce(func.sum(case((f.result == "connected", 1), else_=0)), 0),
            func.coalesce(func.sum(f.call_duration_s), 0),
        )
        .where(f.author_id == actor.user_id, f.created_at >= day_start)
        .group_by(f.channel)
    ).all()
    by_channel = {channel: count for channel, count, _, _ in rows}
    calls = [
        (count, connected, seconds)
        for channel, count, connected, seconds in rows
        if channel == "call"
    ]
    count, connected, seconds = calls[0] if calls else (0, 0, 0)
    return DayActivity(
        follow_ups=sum(by_channel.values()),
        calls=count,
        connected_calls=int(connected),
        call_seconds=int(seconds),
        by_channel=by_channel,
    )


def _trials(
    session: Session, actor: Actor, day_start: datetime, day_end: datetime
) -> list[TrialLine]:
    t = TrialLesson
    rows = session.exec(
        select(t.id, t.opportunity_id, Lead.name, t.scheduled_at, t.course)
        .join(Opportunity, Opportunity.id == t.opportunity_id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .where(
            t.booked_by_id == actor.user_id,
            t.scheduled_at >= day_start,
            t.scheduled_at < day_end,
            t.status == "booked",
            Opportunity.owner_id == actor.user_id,
        )
        .order_by(t.scheduled_at)
        .limit(50)
    ).all()
    return [TrialLine(*row) for row in rows]


def team_backlog(session: Session, actor: Actor, *, limit: int = 500) -> list[RepBacklog]:
    """Per rep in the manager's scope: open opportunities held, follow-ups overdue and new
    ones not yet touched, most overdue first. Counted by owner - the reps the manager
    reaches - so the owner index answers it without reading the opportunities."""
    now = clock.now()
    o = Opportunity
    overdue = func.sum(case((o.next_follow_up_at < now, 1), else_=0))
    untouched = func.sum(case((col(o.first_follow_up_at).is_(None), 1), else_=0))
    reps = select(User.id).where(user_scope(actor), User.id != actor.user_id)
    counts = (
        select(
            o.owner_id.label("owner_id"),
            func.count().label("owned"),
            overdue.label("overdue"),
            untouched.label("untouched"),
        )
        .where(col(o.owner_id).in_(reps), o.pool_state == "owned")
        .group_by(o.owner_id)
        .subquery()
    )
    rows = session.exec(
        select(
            User.id,
            User.full_name,
            counts.c.owned,
            counts.c.overdue,
            counts.c.untouched,
            User.holding_cap,
        )
        .join(counts, counts.c.owner_id == User.id)
        .order_by(counts.c.overdue.desc(), counts.c.owned.desc(), User.id)
        .limit(limit)
    ).all()
    return [
        RepBacklog(uid, name, int(n), int(late), int(new), cap)
        for uid, name, n, late, new, cap in rows
    ]
