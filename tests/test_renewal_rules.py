"""Renewals by rule: the window around the course end is exact, refunds do not count,
each rule keeps to its scope, nothing is opened twice (also by two workers), a dry run
writes nothing, and each renewal has its stage history, flow event and the owner's
notice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from crm_core.circulation.dry_run import preview_rule
from crm_core.circulation.jobs import due_jobs, job_lock_key, run_job, sqlite_lock_row
from crm_core.circulation.renewals import OWNER_GONE, TO_DISPATCH, open_due_renewals
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import BusinessLine, FlowEvent, JobRun, Notice, Opportunity, StageHistory
from crm_core.org.users import update_user
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from crm_core.sales.stages import change_stage, close_as_won
from tests.factories import SYSTEM, build_small_company
from tests.test_renewals import (
    COURSE_DAYS,
    START,
    add_order,
    count,
    refused,
    renewal_rule,
    renewals,
    run,
    won,
)


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def test_the_window_opens_days_before_the_course_ends_and_closes_as_long_after(db, company):
    renewal_rule(db, company, days_before=30)
    win = won(db, company)  # the course ends on START + 90 days
    ends = START + timedelta(days=COURSE_DAYS)
    clock.freeze(ends - timedelta(days=30, minutes=1))
    assert run(db, dry_run=True).opened == 0
    assert run(db).opened == 0
    clock.freeze(ends - timedelta(days=30))
    assert run(db).opened == 1
    assert [r.renewal_of_id for r in renewals(db)] == [win.id]

    late = won(db, company, tail=2)  # the same course end, looked at after it
    clock.freeze(ends + timedelta(days=30, minutes=1))
    assert run(db).opened == 0
    clock.freeze(ends + timedelta(days=30))
    assert run(db).opened == 1
    assert [r.renewal_of_id for r in renewals(db)] == [win.id, late.id]


def test_refunded_orders_do_not_count_and_the_latest_paid_order_decides(db, company):
    renewal_rule(db, company, days_before=30)
    refunded = won(db, company, tail=1, status="refunded")
    # The later order was refunded: the course of the earlier one still ends.
    second_refunded = won(db, company, tail=2)
    add_order(db, second_refunded, paid_at=START + timedelta(days=10), days=365, status="refunded")
    # A later paid order runs for a year: that course decides, not the ending one.
    extended = won(db, company, tail=3)
    add_order(db, extended, paid_at=START + timedelta(days=10), days=365)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 5))
    result = run(db)
    assert result.opened == 1
    assert [r.renewal_of_id for r in renewals(db)] == [second_refunded.id]
    assert refunded.id not in [r.renewal_of_id for r in renewals(db)]


def test_each_rule_keeps_to_its_unit_and_business_line(db, company):
    english = BusinessLine(code="english", name="English")
    db.add(english)
    db.commit()
    renewal_rule(db, company, "Team A only", priority=10, unit="team_a")
    renewal_rule(db, company, "English anywhere", priority=20, line=english.id)
    a_kaoyan = won(db, company, "rep_a1", 1)
    b_kaoyan = won(db, company, "rep_b1", 2)
    c_english = won(db, company, "rep_c1", 3, line=english)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 1))
    result = run(db)
    assert [(o.name, o.opened) for o in result.rules] == [
        ("Team A only", 1),
        ("English anywhere", 1),
    ]
    renewed = {r.renewal_of_id for r in renewals(db)}
    assert renewed == {a_kaoyan.id, c_english.id}
    assert b_kaoyan.id not in renewed
    events = db.exec(
        select(FlowEvent.opportunity_id, FlowEvent.rule_id).where(FlowEvent.reason == "renewal")
    ).all()
    assert sorted(rule_id for _, rule_id in events) == sorted(o.rule_id for o in result.rules)


def test_nothing_is_opened_twice_even_after_the_renewal_is_lost(db, company):
    renewal_rule(db, company)
    won(db, company)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    assert run(db).opened == 1
    assert run(db).opened == 0
    [renewal] = renewals(db)
    change_stage(db, company.actor(db, "rep_a1"), renewal.id, "lost", lost_reason="price")
    db.commit()
    clock.advance(timedelta(days=1))
    assert run(db).opened == 0
    assert len(renewals(db)) == 1


def test_a_lead_with_an_open_opportunity_on_the_line_is_left_alone(db, company):
    renewal_rule(db, company)
    win = won(db, company)
    db.add(
        Opportunity(
            lead_id=win.lead_id,
            business_line_id=win.business_line_id,
            pool_state="public",
            stage="contacted",
        )
    )
    db.commit()
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    assert run(db).opened == 0


def test_two_due_wins_of_one_lead_on_one_line_give_one_renewal_of_the_newer(db, company):
    renewal_rule(db, company)
    first = won(db, company)
    second = Opportunity(
        lead_id=first.lead_id,
        business_line_id=first.business_line_id,
        owner_id=first.owner_id,
        org_unit_id=first.org_unit_id,
        pool_state="owned",
        stage="qualified",
    )
    db.add(second)
    db.commit()
    add_order(db, second, paid_at=START + timedelta(days=1))
    close_as_won(db, SYSTEM, second, Decimal("1000.00"), START + timedelta(days=1))
    db.commit()
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    assert run(db, dry_run=True).opened == 1
    assert run(db).opened == 1
    assert [r.renewal_of_id for r in renewals(db)] == [second.id]


def test_a_dry_run_counts_and_writes_nothing(db, company):
    renewal_rule(db, company, "First", priority=10)
    renewal_rule(db, company, "Second", priority=20)  # would find the same wins
    won(db, company, tail=1)
    won(db, company, tail=2)
    update_user(db, SYSTEM, company.users["rep_a1"].id, status="resigned")
    won(db, company, "rep_b1", tail=3)
    db.commit()
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    events = count(db, FlowEvent)
    result = run(db, dry_run=True)
    assert (result.opened, result.to_owner, result.to_dispatch, result.dry_run) == (3, 1, 2, True)
    assert [(o.name, o.opened) for o in result.rules] == [("First", 3), ("Second", 0)]
    assert renewals(db) == []
    assert count(db, FlowEvent) == events
    assert count(db, Notice) == 0
    # A manager's dry run of a draft says the same.
    draft = RuleDraft(
        name="Draft",
        priority=5,
        org_unit_id=company.units["beijing"].id,
        conditions={"days_before": 30},
        action={"assign_to": "dispatch"},
    )
    preview = preview_rule(db, company.actor(db, "bj_manager"), "renewal", draft)
    assert (preview.opened, preview.to_owner, preview.to_dispatch) == (3, 0, 3)
    assert renewals(db) == []


def test_each_renewal_by_rule_has_history_a_flow_event_and_the_owner_a_notice(db, company):
    rule = renewal_rule(db, company)
    wins = [won(db, company, tail=1), won(db, company, tail=2), won(db, company, "rep_b1", 3)]
    update_user(db, SYSTEM, company.users["rep_b1"].id, status="resigned")
    db.commit()
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    result = run(db)
    assert (result.opened, result.to_owner, result.to_dispatch) == (3, 2, 1)
    opened = renewals(db)
    assert [r.renewal_of_id for r in opened] == [w.id for w in wins]
    rep_a1 = company.users["rep_a1"].id
    assert [(r.pool_state, r.owner_id, r.unassigned_reason) for r in opened] == [
        ("owned", rep_a1, None),
        ("owned", rep_a1, None),
        ("unassigned", None, OWNER_GONE),
    ]
    assert [r.org_unit_id for r in opened] == [company.units["team_a"].id] * 2 + [
        company.units["team_b"].id
    ]
    assert all(r.assigned_at == clock.now() for r in opened[:2]) and opened[2].assigned_at is None
    ids = [r.id for r in opened]
    history = db.exec(
        select(StageHistory.opportunity_id, StageHistory.from_stage, StageHistory.to_stage).where(
            StageHistory.opportunity_id.in_(ids)
        )
    ).all()
    assert sorted(history) == [(i, None, "new") for i in ids]
    events = db.exec(
        select(FlowEvent)
        .where(FlowEvent.opportunity_id.in_(ids))
        .order_by(FlowEvent.opportunity_id)
    ).all()
    assert [(e.reason, e.rule_kind, e.rule_id, e.to_state, e.to_owner_id) for e in events] == [
        ("renewal", "renewal", rule.id, "owned", rep_a1),
        ("renewal", "renewal", rule.id, "owned", rep_a1),
        ("renewal", "renewal", rule.id, "unassigned", None),
    ]
    notices = db.exec(select(Notice)).all()
    assert [(n.user_id, n.kind, n.params) for n in notices] == [
        (rep_a1, "renewal.opened", {"count": 2})
    ]


def test_a_rule_may_give_every_renewal_to_dispatch(db, company):
    renewal_rule(db, company, assign_to="dispatch")
    won(db, company)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    assert (run(db).to_dispatch, count(db, Notice)) == (1, 0)
    [renewal] = renewals(db)
    assert (renewal.pool_state, renewal.owner_id, renewal.unassigned_reason) == (
        "unassigned",
        None,
        TO_DISPATCH,
    )


def test_only_the_engine_or_a_dry_run_by_a_rule_manager_may_run(db, company):
    with pytest.raises(PermissionDenied):
        open_due_renewals(db, company.actor(db, "rep_a1"))
    with pytest.raises(PermissionDenied):
        open_due_renewals(db, company.actor(db, "lead_a"), dry_run=True)
    assert open_due_renewals(db, company.actor(db, "bj_manager"), dry_run=True).opened == 0


@pytest.mark.parametrize(
    ("conditions", "action", "key"),
    [
        ({"days_before": 0}, {}, "{field}: must be at least {minimum}."),
        ({"days_before": 366}, {}, "{field}: must be at most {maximum}."),
        ({"days_before": "soon"}, {}, "{field}: expected a whole number."),
        ({}, {"assign_to": "boss"}, "{field}: “{value}” is not one of the choices."),
    ],
)
def test_renewal_rules_that_cannot_work_are_refused(db, company, conditions, action, key):
    manager = company.actor(db, "bj_manager")
    error = refused(
        lambda: save_rule(
            db,
            manager,
            "renewal",
            RuleDraft(
                name="Bad",
                org_unit_id=company.units["beijing"].id,
                conditions=conditions,
                action=action,
            ),
        )
    )
    assert error.key == key


def test_the_renewals_job_runs_on_its_schedule_and_opens_nothing_twice(db, company, engine):
    renewal_rule(db, company)
    won(db, company)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    first = run_job("renewals", engine=engine)
    second = run_job("renewals", engine=engine)
    assert (first.status, first.counts["opened"]) == ("done", 1)
    assert (second.status, second.counts["opened"]) == ("done", 0)
    assert len(renewals(db)) == 1
    assert count(db, JobRun, JobRun.job == "renewals") == 2
    assert "renewals" not in due_jobs(db, clock.now() + timedelta(minutes=59))
    assert "renewals" in due_jobs(db, clock.now() + timedelta(minutes=60))


def test_a_second_worker_finds_the_renewals_job_busy_and_opens_nothing(db, company, engine):
    renewal_rule(db, company)
    won(db, company)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    if engine.dialect.name == "postgresql":
        holder = Session(engine)
        holder.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=job_lock_key("renewals")))
        try:
            busy = run_job("renewals", engine=engine)
        finally:
            holder.rollback()
            holder.close()
    else:
        with sqlite_lock_row(engine, "renewals", "other-worker") as taken:
            assert taken
            busy = run_job("renewals", engine=engine, holder="this-worker")
    assert busy.status == "busy" and renewals(db) == []
    assert run_job("renewals", engine=engine).status == "done" and len(renewals(db)) == 1
