"""Quality inspection: checklists, sampling plans drawn again the same, sensitive-word flags,
the inspector's queue within their region, scoring, the rep's one appeal and its decision,
weekly scores."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from crm_core.models import AuditLog, Notice, QaReview
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.qa.appeals import appeal, decide_appeal, list_appeals, my_result, my_results
from crm_core.qa.checklists import create_checklist
from crm_core.qa.plans import create_plan, draw_sample, run_plan
from crm_core.qa.report import week_scores
from crm_core.qa.reviews import list_queue, review_detail, score_review
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sms.words import add_words
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company
from tests.qa_factories import NOW, RECORDING, add_checklist, add_inspectors, add_week_of_calls

WEEK = date(2026, 3, 4)
FULL = {"1": 10, "2": 30, "3": 30, "4": 30}


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    company = build_small_company(db)
    add_inspectors(db, company)
    return company


def _plan(db, checklist, percent=10, **filters):
    plan = create_plan(
        db,
        SYSTEM,
        name=f"Plan {percent} {sorted(filters)}",
        checklist_id=checklist.id,
        percent=percent,
        filters=filters,
        seed=42,
    )
    db.commit()
    return plan


def test_a_checklist_weighs_its_items_and_refuses_a_pass_mark_above_them(db, company):
    checklist = add_checklist(db)
    assert [i["weight"] for i in checklist.items] == [10, 30, 30, 30]
    with pytest.raises(ValidationError) as error:
        create_checklist(db, SYSTEM, name="Too high", items=[("Greeting", 10)], pass_mark=11)
    assert error.value.params == {"total": 10}
    with pytest.raises(ValidationError):
        create_checklist(db, SYSTEM, name="Call basics", items=[("x", 1)], pass_mark=1)
    with pytest.raises(PermissionDenied):
        create_checklist(
            db, company.actor(db, "rep_a1"), name="Mine", items=[("x", 1)], pass_mark=0
        )


def test_a_plan_draws_its_share_per_rep_and_the_same_sample_again(db, company):
    made = add_week_of_calls(db, company, {"rep_a1": 20, "rep_b1": 10, "rep_c1": 9})
    plan = _plan(db, add_checklist(db), percent=10)
    qa = company.actor(db, "qa")
    first = draw_sample(db, qa, plan, WEEK)
    # ceil(10%): 2 of 20, 1 of 10, 1 of 9.
    per_rep = {rep: sum(1 for f, _ in first if f in ids) for rep, ids in made.items()}
    assert per_rep == {"rep_a1": 2, "rep_b1": 1, "rep_c1": 1}
    outcome = run_plan(db, qa, plan.id, WEEK)
    assert outcome == {"drawn": 4, "added": 4, "flagged": 0}
    db.commit()
    # The same plan for the same week (any day of it) draws the same and adds nothing.
    assert draw_sample(db, qa, plan, date(2026, 3, 8)) == first
    assert run_plan(db, qa, plan.id, date(2026, 3, 2)) == {"drawn": 4, "added": 0, "flagged": 0}
    queued = db.exec(select(QaReview.follow_up_id).where(QaReview.plan_id == plan.id)).all()
    assert sorted(queued) == sorted(f for f, _ in first)
    # Another week holds none of these calls.
    assert draw_sample(db, qa, plan, date(2026, 3, 12)) == []


def test_filters_narrow_the_draw_to_short_calls_of_a_unit(db, company):
    made = add_week_of_calls(db, company, {"rep_a1": 9, "rep_c1": 9})
    plan = _plan(
        db,
        add_checklist(db),
        percent=100,
        max_duration_s=30,
        org_unit_id=company.units["beijing"].id,
    )
    drawn = [f for f, _ in draw_sample(db, company.actor(db, "qa"), plan, WEEK)]
    assert drawn == sorted(made["rep_a1"][i] for i in (0, 3, 6))


def test_an_inspector_of_one_region_draws_and_sees_only_that_region(db, company):
    made = add_week_of_calls(db, company, {"rep_a1": 10, "rep_c1": 10})
    plan = _plan(db, add_checklist(db), percent=50)
    qa_bj = company.actor(db, "qa_bj")
    assert run_plan(db, qa_bj, plan.id, WEEK)["added"] == 5
    run_plan(db, company.actor(db, "qa"), plan.id, WEEK)
    db.commit()
    bj_queue = list_queue(db, qa_bj)
    assert {row.follow_up_id for row in bj_queue} <= set(made["rep_a1"])
    assert len(bj_queue) == 5 and len(list_queue(db, company.actor(db, "qa"))) == 10
    shanghai = next(
        r for r in list_queue(db, company.actor(db, "qa")) if r.follow_up_id in made["rep_c1"]
    )
    with pytest.raises(NotFound):
        review_detail(db, qa_bj, shanghai.id)
    with pytest.raises(NotFound):
        score_review(db, qa_bj, shanghai.id, checklist_id=None, scores=FULL)


def test_a_note_with_a_sensitive_word_is_flagged_as_written_and_older_ones_by_the_run(db, company):
    add_words(db, SYSTEM, "加微信\nguarantee")
    old = add_week_of_calls(db, company, {"rep_b1": 1})["rep_b1"][0]
    from crm_core.models import FollowUp  # noqa: PLC0415

    row = db.get(FollowUp, old)
    row.content = "We GUARANTEE you pass"
    db.add(row)
    db.commit()
    opp = add_owned_opportunity(db, company, "rep_a1", 77)
    rep = company.actor(db, "rep_a1")
    entry = FollowUpInput(
        channel="wechat", content="请加微信 13812345678", next_follow_up_at=NOW.replace(day=6)
    )
    written = log_follow_up(db, rep, opp.id, entry)
    db.commit()
    queue = list_queue(db, company.actor(db, "qa"))
    assert [(r.follow_up_id, r.reason, r.flagged_words) for r in queue] == [
        (written.id, "flag", ["加微信"])
    ]
    plan = _plan(db, add_checklist(db), percent=1)
    assert run_plan(db, company.actor(db, "qa"), plan.id, WEEK)["flagged"] == 1
    flagged = [r for r in list_queue(db, company.actor(db, "qa")) if r.reason == "flag"]
    assert {r.follow_up_id: r.flagged_words for r in flagged} == {
        written.id: ["加微信"],
        old: ["guarantee"],
    }
    # The inspector reads the number masked.
    detail = review_detail(db, company.actor(db, "qa"), flagged[0].id)
    assert "13812345678" not in detail.content


def _scored(db, company):
    add_week_of_calls(db, company, {"rep_a1": 1})
    plan = _plan(db, add_checklist(db), percent=100)
    qa = company.actor(db, "qa")
    run_plan(db, qa, plan.id, WEEK)
    review = list_queue(db, qa)[0]
    detail = review_detail(db, qa, review.id)
    assert detail.recording_url == RECORDING and detail.checklist_id == plan.checklist_id
    scored = score_review(
        db,
        qa,
        review.id,
        checklist_id=None,
        scores={"1": 10, "2": 20, "3": 0, "4": 20},
        violation_tags=["false_promise"],
        comment="Promised a pass",
    )
    db.commit()
    return scored


def test_the_score_is_the_weighted_sum_with_tags_and_the_rep_is_told(db, company):
    scored = _scored(db, company)
    assert (scored.total, scored.passed, scored.violation_tags) == (50, False, ["false_promise"])
    notice = db.exec(select(Notice).where(Notice.user_id == company.users["rep_a1"].id)).one()
    assert notice.kind == "qa.scored" and notice.params == {"review": scored.id, "total": 50}
    assert db.exec(select(AuditLog).where(AuditLog.action == "qa_review.score")).one()
    qa = company.actor(db, "qa")
    with pytest.raises(ValidationError) as error:
        score_review(db, qa, scored.id, checklist_id=None, scores={"1": 11, "2": 0, "3": 0, "4": 0})
    assert error.value.params == {"item": "Greeting", "weight": 10}
    with pytest.raises(ValidationError):
        score_review(db, qa, scored.id, checklist_id=None, scores=FULL, violation_tags=["nope"])


def test_the_rep_appeals_once_and_a_decider_changes_the_score(db, company):
    scored = _scored(db, company)
    rep = company.actor(db, "rep_a1")
    assert [r.id for r in my_results(db, rep)] == [scored.id]
    assert my_result(db, rep, scored.id).scores == {"1": 10, "2": 20, "3": 0, "4": 20}
    with pytest.raises(NotFound):
        appeal(db, company.actor(db, "rep_a2"), scored.id, "not mine")
    with pytest.raises(ValidationError):
        appeal(db, rep, scored.id, "  ")
    appeal(db, rep, scored.id, "I never promised a pass")
    db.commit()
    with pytest.raises(ValidationError) as error:
        appeal(db, rep, scored.id, "again")
    assert error.value.key == "A score can be appealed only once."
    manager = company.actor(db, "bj_manager")
    assert [r.id for r in list_appeals(db, manager)] == [scored.id]
    with pytest.raises(PermissionDenied):
        list_appeals(db, company.actor(db, "qa"))
    decided = decide_appeal(
        db,
        manager,
        scored.id,
        scores={"1": 10, "2": 20, "3": 30, "4": 20},
        note="Recording checked",
    )
    db.commit()
    assert (decided.original_total, decided.total, decided.passed, decided.status) == (
        50,
        80,
        True,
        "decided",
    )
    kinds = db.exec(
        select(Notice.kind).where(Notice.user_id == rep.user_id).order_by(Notice.id)
    ).all()
    assert kinds == ["qa.scored", "qa.changed"]
    with pytest.raises(ValidationError):
        decide_appeal(db, manager, scored.id)


def test_week_scores_per_rep_and_team_with_the_worst_items(db, company):
    scored = _scored(db, company)
    scores = week_scores(db, company.actor(db, "qa"), WEEK)
    assert [(line.name, line.scored, line.average, line.passed) for line in scores.reps] == [
        ("Rep A1", 1, 50.0, 0)
    ]
    assert [line.name for line in scores.teams] == ["Team A"]
    assert scores.worst_items[0].item == "No false promises"
    assert week_scores(db, company.actor(db, "bj_manager"), WEEK).reps
    # Outside the week, and outside the viewer's reach, nothing.
    assert week_scores(db, company.actor(db, "qa"), date(2026, 3, 20)).reps == []
    assert scored.id
    with pytest.raises(PermissionDenied):
        week_scores(db, company.actor(db, "rep_a1"), WEEK)
