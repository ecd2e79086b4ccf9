"""Trial lessons (试听): booked for an opportunity's lead, then attended, missed or called off.

Booking the first trial moves the opportunity to `trial_booked`; booking again while one is
still booked reschedules it (the old one is cancelled). Marking a trial attended moves a
`trial_booked` opportunity on to `trial_done`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from crm_core.circulation.opportunities import lock_for_change
from crm_core.models import OPEN_STAGES, Opportunity, TrialLesson
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.sales.stages import add_trial, apply_stage, record_stage

TRIAL_OUTCOMES = ("done", "no_show", "cancelled")


def book_trial(
    session: Session,
    actor: Actor,
    opportunity_id: int,
    scheduled_at: datetime,
    course: str | None = None,
) -> TrialLesson:
    """Book (or reschedule) a trial lesson for an open opportunity in the actor's scope;
    an opportunity before `trial_booked` moves there. Flushes; the caller commits."""
    opportunity = lock_for_change(session, actor, opportunity_id)
    now = clock.now()
    if OPEN_STAGES.index(opportunity.stage) < OPEN_STAGES.index("trial_booked"):
        apply_stage(
            session,
            actor,
            opportunity,
            "trial_booked",
            trial_at=scheduled_at,
            trial_course=course,
            at=now,
        )
        session.flush()
        return _latest_booked(session, opportunity.id)
    trial = add_trial(session, actor, opportunity, scheduled_at, course, now)
    session.flush()
    return trial


def _latest_booked(session: Session, opportunity_id: int) -> TrialLesson:
    return session.exec(
        select(TrialLesson)
        .where(TrialLesson.opportunity_id == opportunity_id, TrialLesson.status == "booked")
        .order_by(col(TrialLesson.id).desc())
    ).first()


def mark_trial(
    session: Session, actor: Actor, trial_id: int, outcome: str, note: str | None = None
) -> TrialLesson:
    """Record how a booked trial went: `done` (attended; a `trial_booked` opportunity moves
    to `trial_done`), `no_show` or `cancelled`."""
    if outcome not in TRIAL_OUTCOMES:
        raise ValidationError(N_("Unknown trial outcome: {outcome}."), outcome=outcome)
    found = session.exec(
        select(TrialLesson.opportunity_id)
        .join(Opportunity, Opportunity.id == TrialLesson.opportunity_id)
        .where(TrialLesson.id == trial_id, opportunity_scope(actor))
    ).first()
    if found is None:
        raise NotFound(entity="trial", id=trial_id)
    opportunity = lock_for_change(session, actor, found)
    trial = session.get(TrialLesson, trial_id, populate_existing=True)
    if trial.status != "booked":
        raise ValidationError(N_("This trial lesson is no longer booked."))
    now = clock.now()
    if outcome == "done" and trial.scheduled_at > now:
        raise ValidationError(N_("The trial lesson has not happened yet."))
    trial.status = outcome
    trial.done_at = now
    trial.note = (note or "").strip()[:400] or None
    session.add(trial)
    if outcome == "done" and opportunity.stage == "trial_booked":
        record_stage(session, opportunity, "trial_done", actor.user_id, now)
    session.flush()
    return trial
