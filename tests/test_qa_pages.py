"""The QA pages, in both languages: an inspector draws a week's sample and scores a call
(its recording plays), the rep reads the score and appeals once, a sales manager changes
the score; checklists and plans are added on the page; the week's scores; a rep cannot
open the workbench."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from crm_core.models import QaChecklist, QaPlan, QaReview
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from crm_core.qa.plans import create_plan, run_plan
from crm_core.qa.reviews import score_review
from tests.apptest import assert_page_refused, signed_in
from tests.factories import SYSTEM
from tests.qa_factories import NOW, add_checklist, add_inspectors, add_week_of_calls
from tests.test_sms_pages import speaks, submit

PAGE = "pages/workspace/qa.py"
MINE = "pages/workspace/qa_results.py"


@pytest.fixture
def qa_env(app_env, db):
    clock.freeze(NOW)
    add_inspectors(db, app_env)
    add_week_of_calls(db, app_env, {"rep_a1": 3, "rep_c1": 3})
    checklist = add_checklist(db)
    create_plan(db, SYSTEM, name="Weekly 5%", checklist_id=checklist.id, percent=5, seed=7)
    db.commit()
    return app_env


def open_tab(at, label: str) -> None:
    at.session_state["qa_tabs"] = label
    at.run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_inspector_draws_the_sample_and_scores_a_call(qa_env, db, lang):
    speaks(db, "qa", lang)
    at = signed_in("qa")
    assert not at.exception, at.exception
    # The inspector lands on the workbench.
    assert at.title[0].value == translate("QA workbench", lang)
    at.button(key="qa_run").click().run()
    assert not at.exception, at.exception
    assert at.success, "the run says what it drew"
    review_id = at.selectbox(key="qa_pick").value
    assert at.get("audio"), "the recording plays"
    checklist = db.exec(select(QaChecklist)).one()
    key = f"qa_score_{review_id}_{checklist.id}"
    at.number_input(key=f"{key}_3").set_value(0)
    at.multiselect(key=f"qa_score_{review_id}_tags").set_value(["false_promise"])
    at.text_area(key=f"qa_score_{review_id}_comment").input("Promised a pass")
    submit(at, f"qa_score_{review_id}")
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [translate("Score saved: the rep is told.", lang)]
    db.expire_all()
    review = db.get(QaReview, review_id)
    assert (review.status, review.total, review.passed) == ("scored", 70, True)
    assert review.violation_tags == ["false_promise"]
    open_tab(at, translate("Scores", lang))
    assert at.dataframe, "the week's scores"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_rep_reads_the_score_and_appeals_and_a_manager_changes_it(qa_env, db, lang):
    qa = qa_env.actor(db, "qa")
    run_plan(db, qa, db.exec(select(QaPlan.id)).one(), date(2026, 3, 4))
    mine = db.exec(select(QaReview).where(QaReview.rep_id == qa_env.users["rep_a1"].id)).one()
    score_review(db, qa, mine.id, checklist_id=None, scores={"1": 10, "2": 10, "3": 10, "4": 10})
    db.commit()
    speaks(db, "rep_a1", lang)
    at = signed_in("rep_a1")
    assert_page_refused(at, PAGE)
    at = signed_in("rep_a1")
    at.switch_page(MINE).run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == translate("Score: {total}", lang, total=40)
    at.text_area(key=f"qa_appeal_{mine.id}").input("The student asked twice")
    at.button(key=f"qa_appeal_{mine.id}_send").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [translate("Appeal sent to the QA lead.", lang)]
    db.expire_all()
    assert db.get(QaReview, mine.id).status == "appealed"
    speaks(db, "bj_manager", lang)
    at = signed_in("bj_manager")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    open_tab(at, translate("Appeals", lang))
    key = f"qa_decide_{mine.id}"
    at.number_input(key=f"{key}_{mine.checklist_id}_2").set_value(30)
    at.text_area(key=f"{key}_note").input("Needs analysis was done")
    at.button(key=f"{key}_change").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    decided = db.get(QaReview, mine.id)
    assert (decided.status, decided.original_total, decided.total) == ("decided", 40, 60)


def test_checklists_and_plans_are_added_on_the_page(qa_env, db):
    at = signed_in("qa")
    open_tab(at, translate("Checklists and plans", "zh"))
    at.text_input(key="qa_cl_name").input("WeChat notes")
    at.text_area(key="qa_cl_items").input("Polite, 40\n没有虚假承诺，60")
    at.number_input(key="qa_cl_mark").set_value(70)
    submit(at, "qa_new_checklist")
    assert not at.exception, at.exception
    db.expire_all()
    made = db.exec(select(QaChecklist).where(QaChecklist.name == "WeChat notes")).one()
    assert [(i["label"], i["weight"]) for i in made.items] == [("Polite", 40), ("没有虚假承诺", 60)]
    # A line without a weight is refused with the line.
    at.text_input(key="qa_cl_name").input("Broken")
    at.text_area(key="qa_cl_items").input("Polite")
    submit(at, "qa_new_checklist")
    assert at.error
    at.text_input(key="qa_plan_name").input("Short calls")
    at.number_input(key="qa_plan_short").set_value(30)
    submit(at, "qa_new_plan")
    assert not at.exception, at.exception
    db.expire_all()
    plan = db.exec(select(QaPlan).where(QaPlan.name == "Short calls")).one()
    assert plan.filters == {"max_duration_s": 30} and plan.seed


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_inspector_pauses_a_plan_and_retires_its_checklist_on_the_page(qa_env, db, lang):
    speaks(db, "qa", lang)
    at = signed_in("qa")
    open_tab(at, translate("Checklists and plans", lang))
    plan = db.exec(select(QaPlan)).one()
    checklist = db.exec(select(QaChecklist)).one()
    # A running plan keeps its checklist in use: the refusal names the plan.
    assert at.button(key="qa_cl_toggle").label == translate("Retire the checklist", lang)
    at.button(key="qa_cl_toggle").click().run()
    assert not at.exception, at.exception
    assert "Weekly 5%" in at.error[0].value
    assert at.button(key="qa_plan_toggle").label == translate("Pause the plan", lang)
    at.button(key="qa_plan_toggle").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        translate("Sampling plan {name} paused.", lang, name="Weekly 5%")
    ]
    assert at.button(key="qa_plan_toggle").label == translate("Resume the plan", lang)
    at.button(key="qa_cl_toggle").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert (db.get(QaPlan, plan.id).active, db.get(QaChecklist, checklist.id).active) == (
        False,
        False,
    )
    assert at.button(key="qa_cl_toggle").label == translate("Restore the checklist", lang)
    # The queue has no running plan to draw now.
    open_tab(at, translate("Queue", lang))
    assert "qa_run" not in [b.key for b in at.button]
