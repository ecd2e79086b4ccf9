"""The activity rankings (龙虎榜) on the large database: `rankings_<period>: <s> s` for
today, this week and this month, as the boss (every rep of the company) and as the demo
manager (`rankings_<period>_manager`), the best of five. Every figure is read through an
index by the reps' ids and the period (follow-ups by author and time, trials by booker and
time, assignments by time, paid orders by frozen owner), so the time follows the period's
activity, not the table's size.

`rankings_<period>_boss: ours=.. plain_sql=.. ratio=..` puts the boss's ranking beside the
same figures counted in hand-written SQL: four grouped statements over the period, for
every author, booker and owner (no list of reps), and the assignments of the period read
for the contacted-within-a-day count."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, text
from sqlmodel import Session, select

from benchmarks.common import BenchContext, best_of, report_ratio, report_value
from crm_core.models import User
from crm_core.org.access import load_actor
from crm_core.sales.rankings import PERIODS, period_of, rankings

_PLAIN = (
    "SELECT author_id, count(*), sum(CASE WHEN channel = 'call' THEN 1 ELSE 0 END),"
    " coalesce(sum(call_duration_s), 0) FROM follow_up"
    " WHERE created_at >= :since AND created_at < :until GROUP BY author_id",
    "SELECT booked_by_id, count(*) FROM trial_lesson"
    " WHERE created_at >= :since AND created_at < :until GROUP BY booked_by_id",
    "SELECT attributed_owner_id, count(DISTINCT opportunity_id) FROM sales_order"
    " WHERE paid_at >= :since AND paid_at < :until GROUP BY attributed_owner_id",
    "SELECT attributed_owner_id, coalesce(sum(amount), 0) FROM order_payment"
    " WHERE paid_at >= :since AND paid_at < :until GROUP BY attributed_owner_id",
)


def _plain(session: Session, since: datetime, until: datetime) -> dict:
    """The ranking's figures per person, in plain SQL."""
    found: dict = {}
    window = {"since": since, "until": until}
    for number, sql in enumerate(_PLAIN):
        for row in session.execute(text(sql), window):
            found.setdefault(row[0], {})[number] = row[1:]
    fast: dict = {}
    for owner, assigned, first in session.execute(
        text(
            "SELECT owner_id, assigned_at, first_follow_up_at FROM opportunity"
            " WHERE assigned_at >= :since AND assigned_at < :until"
            " AND first_follow_up_at IS NOT NULL"
        ).columns(assigned_at=DateTime, first_follow_up_at=DateTime),
        window,
    ):
        if first - assigned <= timedelta(days=1):
            fast[owner] = fast.get(owner, 0) + 1
    return {"figures": found, "fast": fast}


def run(ctx: BenchContext) -> None:
    with Session(ctx.engine) as session:
        people = {
            name: load_actor(session, uid)
            for name, uid in session.exec(
                select(User.username, User.id).where(User.username.in_(("boss", "manager")))
            )
        }
        for period in PERIODS:
            for who, suffix in (("boss", ""), ("manager", "_manager")):
                if who not in people:
                    continue
                actor = people[who]
                seconds = best_of(
                    lambda actor=actor, period=period: rankings(
                        session, actor, period=period, metric="revenue"
                    )
                )
                report_value(f"rankings_{period}{suffix}", seconds, "s")
                if who == "boss":
                    since, until = period_of(session, period)
                    plain = best_of(lambda since=since, until=until: _plain(session, since, until))
                    report_ratio(f"rankings_{period}_boss", seconds, plain)
