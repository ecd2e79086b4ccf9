"""The workbench: what is due, what is new, the pipeline, the day's work, a manager's team."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.settings import set_setting
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sales.trials import book_trial
from crm_core.sales.workbench import workbench
from tests.factories import SYSTEM, build_small_company, owned_with

# 09:00 in the company's time zone (UTC+8): the local day began at 16:00 UTC yesterday.
NOW = datetime(2026, 12, 1, 1, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def test_due_overdue_and_new_lists(db, company):
    late = owned_with(
        db,
        company,
        "rep_a1",
        1,
        next_follow_up_at=NOW - timedelta(days=1),
        first_follow_up_at=NOW - timedelta(days=3),
    )
    later_today = owned_with(
        db,
        company,
        "rep_a1",
        2,
        next_follow_up_at=NOW + timedelta(hours=10),
        first_follow_up_at=NOW - timedelta(days=3),
    )
    owned_with(
        db,
        company,
        "rep_a1",
        3,
        next_follow_up_at=NOW + timedelta(hours=20),
        first_follow_up_at=NOW - timedelta(days=3),
    )  # tomorrow, local
    new = owned_with(db, company, "rep_a1", 4, assigned_at=NOW - timedelta(hours=1))
    owned_with(db, company, "rep_a2", 5, next_follow_up_at=NOW - timedelta(days=1))  # not mine
    closed = owned_with(
        db,
        company,
        "rep_a1",
        6,
        next_follow_up_at=NOW - timedelta(days=1),
        pool_state="closed",
        stage="lost",
    )
    bench = workbench(db, company.actor(db, "rep_a1"))
    assert [line.opportunity_id for line in bench.overdue] == [late.id]
    assert [line.opportunity_id for line in bench.due_today] == [later_today.id]
    assert [line.opportunity_id for line in bench.new_assignments] == [new.id]
    assert (bench.overdue_count, bench.due_today_count, bench.new_count) == (1, 1, 1)
    assert closed.id not in {line.opportunity_id for line in bench.overdue}
    assert bench.team is None  # a rep has no team view


def test_lists_are_cut_but_counted(db, company):
    for tail in range(1, 6):
        owned_with(db, company, "rep_a1", tail, next_follow_up_at=NOW - timedelta(hours=tail))
    bench = workbench(db, company.actor(db, "rep_a1"), limit=2)
    assert len(bench.overdue) == 2
    assert bench.overdue_count == 5
    # Most overdue first.
    assert bench.overdue[0].at < bench.overdue[1].at


def test_pipeline_by_stage_with_amounts(db, company):
    owned_with(db, company, "rep_a1", 1, stage="qualified", amount=Decimal("100.00"))
    owned_with(db, company, "rep_a1", 2, stage="qualified", amount=Decimal("50.50"))
    owned_with(db, company, "rep_a1", 3, stage="new")
    owned_with(db, company, "rep_a1", 4, stage="won", pool_state="closed", amount=Decimal(9))
    pipeline = workbench(db, company.actor(db, "rep_a1")).pipeline
    assert [(c.stage, c.count, c.amount) for c in pipeline] == [
        ("new", 1, Decimal(0)),
        ("qualified", 2, Decimal("150.50")),
    ]


def test_the_day_counts_in_company_time(db, company):
    opp = owned_with(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    entry = {"next_follow_up_at": NOW + timedelta(days=1)}
    log_follow_up(
        db,
        rep,
        opp.id,
        FollowUpInput(
            channel="call", content="a", result="connected", call_duration_s=120, **entry
        ),
    )
    log_follow_up(
        db, rep, opp.id, FollowUpInput(channel="call", content="b", result="no_answer", **entry)
    )
    log_follow_up(db, rep, opp.id, FollowUpInput(channel="wechat", content="c", **entry))
    book_trial(db, rep, opp.id, NOW + timedelta(hours=6), "Maths")
    db.commit()
    today = workbench(db, rep).today
    assert (today.follow_ups, today.calls, today.connected_calls, today.call_seconds) == (
        3,
        2,
        1,
        120,
    )
    assert today.by_channel == {"call": 2, "wechat": 1}
    assert [t.course for t in workbench(db, rep).trials_today] == ["Maths"]
    # At 17:00 UTC it is 01:00 the next local day: nothing done yet "today".
    clock.freeze(datetime(2026, 12, 1, 17, 0))
    assert workbench(db, rep).today.follow_ups == 0
    # With the company at UTC, 17:00 is still the same day.
    set_setting(db, SYSTEM, "company.time_zone", "UTC")
    assert workbench(db, rep).today.follow_ups == 3


def test_a_manager_sees_each_reps_backlog_in_scope(db, company):
    owned_with(
        db,
        company,
        "rep_a1",
        1,
        next_follow_up_at=NOW - timedelta(hours=1),
        first_follow_up_at=NOW - timedelta(days=1),
    )
    owned_with(db, company, "rep_a1", 2)
    owned_with(db, company, "rep_b1", 3)
    owned_with(db, company, "rep_c1", 4)  # Shanghai
    team = workbench(db, company.actor(db, "bj_manager")).team
    assert [(r.name, r.owned, r.overdue, r.untouched) for r in team] == [
        ("Rep A1", 2, 1, 1),
        ("Rep B1", 1, 0, 1),
    ]
    lead_team = workbench(db, company.actor(db, "lead_a")).team
    assert [r.name for r in lead_team] == ["Rep A1"]


def test_only_those_who_work_opportunities_have_one(db, company):
    with pytest.raises(PermissionDenied):
        workbench(db, company.actor(db, "boss"))
