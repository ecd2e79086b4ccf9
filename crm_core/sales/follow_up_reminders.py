"""Planned follow-ups that fell overdue (跟进逾期提醒): each owner hears how many of their
opportunities' planned next follow-ups came due since the warnings job last ran and were
not followed up, one notice `follow_up.overdue` (pushable to work chat). The workbench's
"Overdue" list stays where they are worked; the notice only says that it grew.

A follow-up is counted once: the window runs from the start of the last finished warnings
run (it ran this part too) to now, so a planned time is in exactly one window. Without an
earlier run the window is the last day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.models import JobRun, Opportunity
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.notices import send_counts
from crm_core.platform.permissions import Permission

KIND = "follow_up.overdue"
FIRST_WINDOW = timedelta(days=1)


def last_warnings_start(session: Session) -> datetime | None:
    """When the last finished run of the warnings job started (None: it never finished)."""
    return session.exec(
        select(func.max(JobRun.started_at)).where(JobRun.job == "warnings", JobRun.status == "done")
    ).one()


def notify_overdue_follow_ups(session: Session, actor: Actor, since: datetime | None = None) -> int:
    """Tell each owner how many of their held opportunities' planned follow-ups came due
    after `since` (default: the last finished warnings run's start, else a day ago) and are
    still not done; one notice per owner, set-based, in the caller's transaction. Part of
    the warnings job. Returns how many follow-ups were counted."""
    actor.require(Permission.RUN_JOBS)
    now = clock.now()
    start = since or last_warnings_start(session) or now - FIRST_WINDOW
    o = Opportunity
    per_owner = dict(
        session.exec(
            select(o.owner_id, func.count())
            .where(
                col(o.next_follow_up_at) > start,
                col(o.next_follow_up_at) <= now,
                o.pool_state == "owned",
                col(o.owner_id).is_not(None),
            )
            .group_by(o.owner_id)
        ).all()
    )
    send_counts(session, KIND, per_owner, now)
    return sum(per_owner.values())
