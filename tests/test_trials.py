"""Trial lessons: booking moves the stage, rebooking reschedules, attending moves on."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.models import Opportunity, StageHistory, TrialLesson
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.sales.trials import book_trial, mark_trial
from tests.factories import add_owned_opportunity, build_small_company

NOW = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def stage_of(db, opp_id: int) -> str:
    return db.get(Opportunity, opp_id, populate_existing=True).stage


def test_booking_moves_to_trial_booked_and_rebooking_reschedules(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    first = book_trial(db, rep, opp.id, NOW + timedelta(days=2), "Politics")
    db.commit()
    assert stage_of(db, opp.id) == "trial_booked"
    second = book_trial(db, rep, opp.id, NOW + timedelta(days=4))
    db.commit()
    assert first.id != second.id
    statuses = dict(db.exec(select(TrialLesson.id, TrialLesson.status)).all())
    assert statuses == {first.id: "cancelled", second.id: "booked"}
    # Rebooking does not write another stage entry.
    assert db.exec(select(StageHistory.to_stage)).all() == ["trial_booked"]


def test_attending_moves_to_trial_done_only_after_the_trial(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    trial = book_trial(db, rep, opp.id, NOW + timedelta(hours=2))
    db.commit()
    with pytest.raises(ValidationError) as early:
        mark_trial(db, rep, trial.id, "done")
    assert early.value.key == "The trial lesson has not happened yet."
    clock.advance(timedelta(hours=3))
    mark_trial(db, rep, trial.id, "done", note="Liked the teacher")
    db.commit()
    assert stage_of(db, opp.id) == "trial_done"
    with pytest.raises(ValidationError) as again:
        mark_trial(db, rep, trial.id, "no_show")
    assert again.value.key == "This trial lesson is no longer booked."


def test_a_missed_trial_keeps_the_stage(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    trial = book_trial(db, rep, opp.id, NOW + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    mark_trial(db, rep, trial.id, "no_show")
    db.commit()
    assert stage_of(db, opp.id) == "trial_booked"
    assert db.get(TrialLesson, trial.id, populate_existing=True).status == "no_show"


def test_trials_in_the_past_and_other_reps_trials_are_refused(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as past:
        book_trial(db, rep, opp.id, NOW - timedelta(days=1))
    assert past.value.key == "The trial lesson cannot be in the past."
    db.rollback()
    trial = book_trial(db, rep, opp.id, NOW + timedelta(days=1))
    db.commit()
    other = company.actor(db, "rep_a2")
    with pytest.raises(NotFound):
        book_trial(db, other, opp.id, NOW + timedelta(days=1))
    with pytest.raises(NotFound):
        mark_trial(db, other, trial.id, "cancelled")
    with pytest.raises(ValidationError):
        mark_trial(db, rep, trial.id, "postponed")
