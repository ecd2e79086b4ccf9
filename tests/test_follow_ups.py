"""Follow-ups: what they require, what they change on the opportunity, and scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.circulation.recycle import recycle_idle_opportunities
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FollowUp, Opportunity, StageHistory, TrialLesson
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.follow_ups import (
    FollowUpInput,
    log_follow_up,
    set_intention,
    set_next_follow_up,
)
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

NOW = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def call(**changes) -> FollowUpInput:
    values = {
        "channel": "call",
        "content": "Talked about the spring class",
        "result": "connected",
        "next_follow_up_at": NOW + timedelta(days=2),
    }
    values.update(changes)
    return FollowUpInput(**values)


def test_a_follow_up_stamps_the_opportunity(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    log_follow_up(db, rep, opp.id, call(intention_level="B", call_duration_s=180))
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert row.first_follow_up_at == NOW
    assert row.last_follow_up_at == NOW
    assert row.next_follow_up_at == NOW + timedelta(days=2)
    assert row.intention_level == "B"
    stored = db.exec(select(FollowUp).where(FollowUp.opportunity_id == opp.id)).one()
    assert (stored.author_id, stored.channel, stored.result, stored.call_duration_s) == (
        company.users["rep_a1"].id,
        "call",
        "connected",
        180,
    )

    clock.advance(timedelta(hours=3))
    log_follow_up(db, rep, opp.id, call(channel="wechat", result="replied"))
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert row.first_follow_up_at == NOW  # the first stays
    assert row.last_follow_up_at == NOW + timedelta(hours=3)
    # Only calls keep a duration.
    assert (
        db.exec(select(FollowUp.call_duration_s).where(FollowUp.channel == "wechat")).one() is None
    )


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"channel": "fax"}, "“{channel}” is not a follow-up channel."),
        ({"content": " ", "result": None}, "Write what was said, or choose a result."),
        ({"content": "x" * 4001}, "The note is longer than {maximum} characters."),
        ({"result": "teleported"}, "“{result}” is not one of the follow-up results."),
        ({"intention_level": "E"}, "“{level}” is not an active intention level."),
        ({"next_follow_up_at": None}, "Set the next follow-up (or mark the opportunity lost)."),
        (
            {"next_follow_up_at": NOW - timedelta(minutes=1)},
            "The next follow-up must be in the future.",
        ),
        (
            {"next_follow_up_at": NOW + timedelta(days=400)},
            "The next follow-up must be within a year.",
        ),
        ({"call_duration_s": -5}, "A call cannot last less than nothing."),
        ({"stage": "trial_booked"}, "A booked trial needs its date and time."),
        ({"stage": "lost", "next_follow_up_at": None}, "Choose why the opportunity was lost."),
    ],
)
def test_incomplete_follow_ups_are_refused_and_write_nothing(db, company, changes, key):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    with pytest.raises(ValidationError) as refused:
        log_follow_up(db, company.actor(db, "rep_a1"), opp.id, call(**changes))
    assert refused.value.key == key
    db.rollback()
    assert db.exec(select(FollowUp)).all() == []
    assert db.get(Opportunity, opp.id, populate_existing=True).last_follow_up_at is None


def test_closing_as_lost_needs_no_next_follow_up(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    log_follow_up(
        db,
        company.actor(db, "rep_a1"),
        opp.id,
        call(next_follow_up_at=None, stage="lost", lost_reason="price"),
    )
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert (row.stage, row.pool_state, row.lost_reason) == ("lost", "closed", "price")
    assert row.next_follow_up_at is None


def test_a_stage_move_rides_along_with_the_follow_up(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    trial_at = NOW + timedelta(days=3)
    log_follow_up(
        db,
        company.actor(db, "rep_a1"),
        opp.id,
        call(stage="trial_booked", trial_at=trial_at, trial_course="Maths"),
    )
    db.commit()
    assert db.get(Opportunity, opp.id, populate_existing=True).stage == "trial_booked"
    trial = db.exec(select(TrialLesson)).one()
    assert (trial.scheduled_at, trial.course, trial.status) == (trial_at, "Maths", "booked")
    history = db.exec(select(StageHistory.from_stage, StageHistory.to_stage)).all()
    assert history == [("contacted", "trial_booked")]


def test_a_rep_cannot_work_someone_elses_opportunity_even_by_id(db, company):
    theirs = add_owned_opportunity(db, company, "rep_a2", 2)
    with pytest.raises(NotFound):
        log_follow_up(db, company.actor(db, "rep_a1"), theirs.id, call())
    with pytest.raises(NotFound):
        set_next_follow_up(db, company.actor(db, "rep_a1"), theirs.id, NOW + timedelta(days=1))
    with pytest.raises(NotFound):
        set_intention(db, company.actor(db, "rep_a1"), theirs.id, "A")
    # The team lead of team A reaches it; a manager elsewhere does not.
    log_follow_up(db, company.actor(db, "lead_a"), theirs.id, call())
    with pytest.raises(PermissionDenied):
        log_follow_up(db, company.actor(db, "boss"), theirs.id, call())


def test_a_closed_opportunity_takes_no_follow_up(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    log_follow_up(
        db, rep, opp.id, call(next_follow_up_at=None, stage="lost", lost_reason="no_need")
    )
    db.commit()
    with pytest.raises(ValidationError) as refused:
        log_follow_up(db, rep, opp.id, call())
    assert refused.value.key == "Opportunity #{id} is closed (won or lost): it cannot be changed."


def test_next_follow_up_and_intention_by_themselves(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    set_next_follow_up(db, rep, opp.id, NOW + timedelta(hours=5))
    set_intention(db, rep, opp.id, "A")
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert (row.next_follow_up_at, row.intention_level) == (NOW + timedelta(hours=5), "A")
    assert row.last_follow_up_at is None  # moving a date is not working the lead
    with pytest.raises(ValidationError):
        set_next_follow_up(db, rep, opp.id, NOW - timedelta(hours=1))


def test_the_recycle_rule_reads_the_follow_up(db, company):
    """An opportunity idle for 8 days is recycled by a 7-day rule unless it was followed up."""
    save_rule(
        db,
        SYSTEM,
        "recycle",
        RuleDraft(
            name="7 days",
            conditions={"trigger": "no_follow_up", "after": 7},
            action={"target": "public_pool"},
        ),
    )
    db.commit()
    worked = add_owned_opportunity(db, company, "rep_a1", 1)
    idle = add_owned_opportunity(db, company, "rep_a1", 2)
    for opp in (worked, idle):
        row = db.get(Opportunity, opp.id)
        row.assigned_at = NOW - timedelta(days=8)
        db.add(row)
    db.commit()
    log_follow_up(db, company.actor(db, "rep_a1"), worked.id, call())
    db.commit()
    result = recycle_idle_opportunities(db, SYSTEM)
    db.commit()
    assert result.recycled == 1
    assert db.get(Opportunity, worked.id, populate_existing=True).pool_state == "owned"
    assert db.get(Opportunity, idle.id, populate_existing=True).pool_state == "public"
