"""Browser: an inspector draws the week's sample and scores a call while its recording is
on the page; the rep opens their QA results, sees the score and appeals."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from crm_core.models import QaReview
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from crm_core.qa.plans import create_plan
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, SYSTEM
from tests.qa_factories import add_checklist, add_inspectors, add_week_of_calls

pytestmark = pytest.mark.browser


def a_call_to_inspect(session, company) -> None:
    add_inspectors(session, company)
    add_week_of_calls(session, company, {"rep_a1": 1}, start=clock.now())
    checklist = add_checklist(session)
    create_plan(session, SYSTEM, name="每周抽检", checklist_id=checklist.id, percent=100, seed=5)
    session.commit()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("qa"), populate=a_call_to_inspect
    ) as url:
        yield url


def test_an_inspector_scores_a_call_and_the_rep_appeals(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    zh = lambda message, **params: translate(message, "zh", **params)  # noqa: E731
    with sync_playwright() as p:
        browser = launch(p)
        qa = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
        sign_in(qa, app_url, "qa", PASSWORD)
        expect(qa.get_by_role("heading", name=zh("QA workbench"))).to_be_visible(timeout=30_000)
        idle(qa)
        qa.get_by_role("button", name=zh("Draw the sample")).click()
        expect(qa.get_by_text(re.compile("抽中 1 条"))).to_be_visible(timeout=30_000)
        idle(qa)
        expect(qa.locator("audio")).to_have_count(1)
        promises = qa.get_by_label(re.compile("No false promises"))
        promises.fill("0")
        promises.press("Tab")
        qa.get_by_label(zh("Comment")).fill("承诺包过")
        qa.get_by_role("button", name=zh("Save the score")).click()
        expect(qa.get_by_text(zh("Score saved: the rep is told."))).to_be_visible(timeout=30_000)

        with Session(engine) as session:
            review = session.exec(select(QaReview)).one()
            assert (review.status, review.total) == ("scored", 70)

        rep = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        idle(rep)
        rep.get_by_role("link", name=zh("My QA results")).click()
        expect(rep.get_by_role("heading", name=zh("Score: {total}", total=70))).to_be_visible(
            timeout=30_000
        )
        expect(rep.get_by_text("承诺包过")).to_be_visible()
        idle(rep)
        rep.get_by_label(zh("Why the score is wrong (one appeal per score)")).fill("学员两次追问")
        rep.get_by_role("button", name=zh("Appeal"), exact=True).click()
        expect(rep.get_by_text(zh("Appeal sent to the QA lead."))).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        review = session.exec(select(QaReview)).one()
        assert (review.status, review.appeal_reason) == ("appealed", "学员两次追问")
