"""The demo's trial lessons, written after the opportunities: a booked one for every owned
opportunity at `trial_booked` - spread over the next three days, so the workbench shows
trials today - and an attended one for every opportunity at `trial_done`, an hour before
the stage changed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from crm_core.models import Opportunity, TrialLesson
from crm_core.platform.bulk import insert_rows

TRIAL_COLUMNS = (
    "opportunity_id",
    "scheduled_at",
    "course",
    "status",
    "booked_by_id",
    "done_at",
    "created_at",
)
COURSES = ("直播试听课 Live trial class", "1对1 测评 One-to-one assessment", "公开课 Open class")
CHUNK = 50_000
WINDOW_MINUTES = 3 * 24 * 60


def trial_rows(session: Session, now: datetime) -> list[tuple]:
    """One trial per opportunity at trial_booked (owned) or trial_done, deterministic."""
    o = Opportunity
    rows = session.exec(
        select(o.id, o.stage, o.owner_id, o.stage_changed_at, o.created_at).where(
            col(o.stage).in_(("trial_booked", "trial_done")),
            col(o.pool_state).in_(("owned", "public", "dormant", "unassigned")),
        )
    ).all()
    trials = []
    for opp_id, stage, owner_id, changed, created in rows:
        course = COURSES[opp_id % len(COURSES)]
        booked_at = changed or created
        if stage == "trial_booked":
            # A booked trial still to come; the rep who holds it booked it.
            at = now.replace(second=0, microsecond=0) + timedelta(
                minutes=30 + (opp_id * 7919) % WINDOW_MINUTES
            )
            trials.append((opp_id, at, course, "booked", owner_id, None, booked_at))
        else:
            held = booked_at - timedelta(hours=1)
            trials.append((opp_id, held, course, "done", owner_id, booked_at, held))
    return trials


def insert_trials(session: Session, now: datetime) -> int:
    """Write the demo's trial lessons; returns how many."""
    rows = trial_rows(session, now)
    for start in range(0, len(rows), CHUNK):
        insert_rows(session, TrialLesson.__table__, TRIAL_COLUMNS, rows[start : start + CHUNK])
    return len(rows)
