"""The QA job the worker runs (抽检排期): every running sampling plan is drawn once for each
company-time week, as soon as the week has ended, so the sample covers the whole week's
follow-ups. The plan remembers the week it was drawn for (`QaPlan.drawn_week`); the job
runs every `worker.qa_minutes` but draws a plan again only when a newer week has ended.
The stored seed makes the draw the same whoever runs it and however often."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from crm_core.models import QaChecklist, QaPlan
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission
from crm_core.qa.plans import queue_week
from crm_core.qa.scope import company_today, week_start


def run_weekly_plans(session: Session, actor: Actor) -> dict[str, int]:
    """Draw every running plan (its checklist in use) not yet drawn for the last ended
    company-time week, across the whole company, as the QA job; paused plans are skipped
    and counted. Returns the counts for the job log: plans drawn, paused, and the
    follow-ups drawn, newly queued and flagged."""
    actor.require(Permission.RUN_JOBS)
    last_week = week_start(company_today(session, clock.now())) - timedelta(days=7)
    plans = session.exec(
        select(QaPlan)
        .join(QaChecklist, col(QaChecklist.id) == col(QaPlan.checklist_id))
        .where(
            col(QaPlan.active).is_(True),
            col(QaChecklist.active).is_(True),
            or_(col(QaPlan.drawn_week).is_(None), col(QaPlan.drawn_week) < last_week),
        )
        .order_by(col(QaPlan.id))
    ).all()
    counts = {"plans": 0, "drawn": 0, "added": 0, "flagged": 0}
    # The job samples the company: each rep's share is the same whoever would run it, and
    # each inspector's queue shows what their scope reaches.
    company = Actor.system()
    for plan in plans:
        outcome = queue_week(session, actor, company, plan, last_week)
        counts["plans"] += 1
        for key in ("drawn", "added", "flagged"):
            counts[key] += outcome[key]
    counts["paused"] = session.exec(
        select(func.count()).select_from(QaPlan).where(col(QaPlan.active).is_(False))
    ).one()
    return counts
