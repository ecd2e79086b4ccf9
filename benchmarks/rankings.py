"""The activity rankings (龙虎榜) on the large database: `rankings_<period>: <s> s` for
today, this week and this month, as the boss (every rep of the company) and as the demo
manager (`rankings_<period>_manager`), the best of five. Every figure is read through an
index by the reps' ids and the period (follow-ups by author and time, trials by booker and
time, assignments by time, paid orders by frozen owner), so the time follows the period's
activity, not the table's size; nothing plain compares with the whole ranking."""

from __future__ import annotations

from sqlmodel import Session, select

from benchmarks.common import BenchContext, best_of, report_value
from crm_core.models import User
from crm_core.org.access import load_actor
from crm_core.sales.rankings import PERIODS, rankings


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
