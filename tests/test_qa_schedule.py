"""Sampling plans on a schedule and their life cycle: the worker's QA job draws every running
plan once for each ended company-time week (the clock moved across weeks, no sleeping), a
paused plan is skipped and drawn again once resumed, a checklist in use by a running plan is
not retired, and a retired checklist takes no new plan or score while its old scores keep
showing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from crm_core.circulation.jobs import run_job
from crm_core.models import AuditLog, QaChecklist, QaPlan, QaReview
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.qa.appeals import my_result
from crm_core.qa.checklists import create_checklist, list_checklists, set_checklist_active
from crm_core.qa.plans import create_plan, draw_sample, run_plan, set_plan_active
from crm_core.qa.reviews import list_queue, score_review
from crm_core.qa.schedule import run_weekly_plans
from tests.factories import SYSTEM, build_small_company
from tests.qa_factories import NOW, add_checklist, add_inspectors, add_week_of_calls

# NOW is Wednesday 4 March 2026 in Shanghai: the calls fall in the week of Monday 2 March.
WEEK = date(2026, 3, 2)
FULL = {"1": 10, "2": 30, "3": 30, "4": 30}


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    company = build_small_company(db)
    add_inspectors(db, company)
    yield company
    clock.reset()


def _plan(db, checklist, name: str, percent: int) -> QaPlan:
    plan = create_plan(db, SYSTEM, name=name, checklist_id=checklist.id, percent=percent, seed=7)
    db.commit()
    return plan


def _queued(db, plan: QaPlan) -> list[int]:
    return sorted(db.exec(select(QaReview.follow_up_id).where(QaReview.plan_id == plan.id)))


def _job(engine) -> dict:
    run = run_job("qa", engine=engine)
    assert run.status == "done", run.error
    return run.counts


def test_the_qa_job_draws_each_running_plan_once_per_ended_week(db, company, engine):
    made = add_week_of_calls(db, company, {"rep_a1": 20, "rep_b1": 10, "rep_c1": 4})
    checklist = add_checklist(db)
    weekly = _plan(db, checklist, "Weekly 10%", 10)
    half = _plan(db, checklist, "Half", 50)
    set_plan_active(db, company.actor(db, "qa"), half.id, False)
    db.commit()

    # Wednesday: the last ended week (from 23 February) holds no call; it counts as drawn.
    assert _job(engine) == {"plans": 1, "drawn": 0, "added": 0, "flagged": 0, "paused": 1}
    assert _job(engine)["plans"] == 0  # the same week is not drawn twice
    assert _queued(db, weekly) == []

    # The next Monday the week of 2 March has ended: its whole sample is drawn, once.
    clock.advance(timedelta(days=5))
    counts = _job(engine)
    assert (counts["plans"], counts["added"]) == (1, 2 + 1 + 1)
    db.expire_all()
    expected = sorted(f for f, _ in draw_sample(db, SYSTEM, db.get(QaPlan, weekly.id), WEEK))
    assert _queued(db, weekly) == expected  # the stored seed: the same sample
    assert {s for s in db.exec(select(QaReview.source))} == {f"plan:{weekly.id}:2026-03-02"}
    assert db.get(QaPlan, weekly.id).drawn_week == WEEK
    clock.advance(timedelta(days=1))
    assert _job(engine)["plans"] == 0

    # Resumed, the paused plan catches up with the last ended week; the weekly plan, paused
    # now, is skipped from then on.
    qa = company.actor(db, "qa")
    set_plan_active(db, qa, half.id, True)
    set_plan_active(db, qa, weekly.id, False)
    db.commit()
    counts = _job(engine)
    assert (counts["plans"], counts["added"], counts["paused"]) == (1, 10 + 5 + 2, 1)
    clock.advance(timedelta(days=7))
    assert _job(engine)["plans"] == 1  # the half plan, for the week of 9 March: no calls
    db.expire_all()
    assert db.get(QaPlan, weekly.id).drawn_week == WEEK
    assert db.get(QaPlan, half.id).drawn_week == date(2026, 3, 9)
    assert len(_queued(db, weekly)) == 4 and len(_queued(db, half)) == 17
    assert set(_queued(db, half)) <= {f for ids in made.values() for f in ids}
    # The job runs as the system (or a "run now" button of someone who runs jobs).
    audits = db.exec(select(AuditLog.action, AuditLog.actor_id)).all()
    assert audits.count(("qa_plan.run", None)) == 4


def test_the_job_needs_the_permission_to_run_jobs(db, company):
    with pytest.raises(PermissionDenied):
        run_weekly_plans(db, company.actor(db, "qa"))
    assert run_weekly_plans(db, company.actor(db, "admin"))["plans"] == 0


def test_a_plan_drawn_by_hand_for_an_ended_week_is_not_drawn_again(db, company):
    add_week_of_calls(db, company, {"rep_a1": 10})
    plan = _plan(db, add_checklist(db), "By hand", 20)
    qa = company.actor(db, "qa")
    # This week has not ended: a draw of it by hand leaves the weekly run to draw it later.
    assert run_plan(db, qa, plan.id, WEEK)["added"] == 2
    assert db.get(QaPlan, plan.id).drawn_week is None
    clock.advance(timedelta(days=5))
    assert run_plan(db, qa, plan.id, WEEK)["added"] == 0
    assert db.get(QaPlan, plan.id).drawn_week == WEEK
    assert run_weekly_plans(db, SYSTEM)["plans"] == 0


def test_pausing_and_resuming_a_plan_is_permissioned_and_audited(db, company):
    plan = _plan(db, add_checklist(db), "Weekly", 5)
    with pytest.raises(PermissionDenied):
        set_plan_active(db, company.actor(db, "rep_a1"), plan.id, False)
    qa = company.actor(db, "qa")
    paused = set_plan_active(db, qa, plan.id, False)
    assert (paused.active, paused.paused_at) == (False, NOW)
    with pytest.raises(ValidationError) as refused:
        run_plan(db, qa, plan.id, WEEK)
    assert refused.value.key == "This sampling plan is paused."
    set_plan_active(db, qa, plan.id, False)  # already paused: nothing more recorded
    resumed = set_plan_active(db, qa, plan.id, True)
    assert (resumed.active, resumed.paused_at) == (True, None)
    entries = db.exec(
        select(AuditLog.before, AuditLog.after, AuditLog.actor_id).where(
            AuditLog.action == "qa_plan.active"
        )
    ).all()
    assert entries == [
        (True, False, company.users["qa"].id),
        (False, True, company.users["qa"].id),
    ]


def test_a_retired_checklist_takes_no_new_plan_or_score_and_old_scores_keep_it(db, company):
    add_week_of_calls(db, company, {"rep_a1": 10})
    checklist = add_checklist(db)
    plan = _plan(db, checklist, "Weekly", 100)
    qa = company.actor(db, "qa")
    run_plan(db, qa, plan.id, WEEK)
    first, second = list_queue(db, qa)[:2]
    score_review(db, qa, first.id, checklist_id=checklist.id, scores=FULL)
    db.commit()

    # A running plan holds its checklist in use: pause the plan first.
    with pytest.raises(ValidationError) as refused:
        set_checklist_active(db, qa, checklist.id, False)
    assert refused.value.params == {"plans": "Weekly"}
    with pytest.raises(PermissionDenied):
        set_checklist_active(db, company.actor(db, "rep_a1"), checklist.id, False)
    set_plan_active(db, qa, plan.id, False)
    set_checklist_active(db, qa, checklist.id, False)
    db.commit()

    assert [c.name for c in list_checklists(db, qa, active_only=True)] == []
    with pytest.raises(ValidationError):
        create_plan(db, qa, name="New", checklist_id=checklist.id, percent=5)
    with pytest.raises(ValidationError) as retired:
        score_review(db, qa, second.id, checklist_id=checklist.id, scores=FULL)
    assert retired.value.params == {"name": "Call basics"}
    with pytest.raises(ValidationError):  # nor scored again on it
        score_review(db, qa, first.id, checklist_id=None, scores=FULL)
    with pytest.raises(ValidationError):  # a plan on a retired checklist does not resume
        set_plan_active(db, qa, plan.id, True)
    assert run_weekly_plans(db, SYSTEM)["plans"] == 0

    # The score given on it still shows, with its items, to the rep.
    shown = my_result(db, company.actor(db, "rep_a1"), first.id)
    assert (shown.checklist_id, shown.row.total, shown.scores) == (checklist.id, 100, FULL)
    assert db.get(QaChecklist, checklist.id).items[0]["label"] == "Greeting"

    # A new checklist scores what waits; the old one comes back when restored.
    other = create_checklist(db, qa, name="Call basics 2", items=[("All", 10)], pass_mark=5)
    assert score_review(db, qa, second.id, checklist_id=other.id, scores={"1": 8}).total == 8
    set_checklist_active(db, qa, checklist.id, True)
    assert set_plan_active(db, qa, plan.id, True).active
    actions = db.exec(select(AuditLog.after).where(AuditLog.action == "qa_checklist.active")).all()
    assert actions == [False, True]


def test_the_job_log_keeps_the_counts(db, company, engine):
    add_week_of_calls(db, company, {"rep_a1": 10})
    _plan(db, add_checklist(db), "Weekly", 10)
    clock.advance(timedelta(days=5))
    run = run_job("qa", engine=engine, trigger="manual", actor=company.actor(db, "admin"))
    assert run.status == "done" and run.counts["added"] == 1
    with Session(engine) as other:
        [entry] = other.exec(
            select(AuditLog.actor_id).where(AuditLog.action == "qa_plan.run")
        ).all()
    assert entry == company.users["admin"].id
