"""Browser: a rep's day on one opportunity - from the workbench to the detail page, a
follow-up, a booked trial, an order - then finance records the payment and the rep sees
the opportunity won, with the revenue credited to them and their team."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm_core.models import FollowUp, Opportunity, Product, SalesOrder, TrialLesson, User
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, add_owned_opportunity

pytestmark = pytest.mark.browser


def one_overdue_with_a_product(session, company) -> None:
    opp = add_owned_opportunity(session, company, "rep_a1", 1)
    row = session.get(Opportunity, opp.id)
    row.next_follow_up_at = clock.now() - timedelta(hours=2)
    row.first_follow_up_at = clock.now() - timedelta(days=1)
    session.add(row)
    session.add(
        Product(
            business_line_id=company.line.id,
            code="KY-FULL",
            name="全程班",
            list_price=Decimal("9800.00"),
            course_days=365,
        )
    )
    session.commit()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(
        engine,
        database_url,
        tmp_path_factory.mktemp("sales"),
        populate=one_overdue_with_a_product,
    ) as url:
        yield url


def test_a_rep_works_an_opportunity_until_it_is_paid(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        rep = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        expect(rep.get_by_role("heading", name="逾期跟进（1）")).to_be_visible()
        idle(rep)
        rep.get_by_role("link", name="#1 Lead 1").first.click()
        expect(rep.get_by_role("heading", name="#1 Lead 1 · Postgraduate exam")).to_be_visible(
            timeout=30_000
        )
        idle(rep)

        rep.get_by_label(translate("What was said", "zh")).fill("约了周六的直播试听")
        rep.get_by_role("button", name=translate("Save the follow-up", "zh")).click()
        expect(rep.get_by_text(translate("Follow-up saved.", "zh"))).to_be_visible(timeout=30_000)
        idle(rep)

        rep.get_by_role("tab", name=translate(NC_("opportunity.tab", "Trial lesson"), "zh")).click()
        rep.get_by_label(translate("Course or topic", "zh")).fill("政治冲刺")
        rep.get_by_role("button", name=translate("Book the trial", "zh")).click()
        expect(rep.get_by_text(translate("Trial lesson booked.", "zh"))).to_be_visible(
            timeout=30_000
        )
        expect(rep.get_by_text(translate("Trial booked", "zh")).first).to_be_visible()
        idle(rep)

        rep.get_by_role("tab", name=translate("Order", "zh")).click()
        rep.get_by_role("button", name=translate("Create order", "zh")).click()
        expect(rep.get_by_text("已创建，可以付款")).to_be_visible(timeout=30_000)

        finance = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
        sign_in(finance, app_url, "admin", PASSWORD)
        expect(finance.get_by_role("heading", name="欢迎,Admin")).to_be_visible(timeout=30_000)
        finance.get_by_role("link", name=translate("Payments", "zh")).click()
        expect(
            finance.get_by_role("heading", name=translate("Payment recorded", "zh"))
        ).to_be_visible(timeout=30_000)
        idle(finance)
        finance.get_by_label(translate("Payment reference", "zh"), exact=True).fill(
            "WX20261201-0001"
        )
        finance.get_by_role("button", name=translate("Payment recorded", "zh")).click()
        expect(finance.get_by_text("回款已登记")).to_be_visible(timeout=30_000)

        rep.reload()
        expect(rep.get_by_text("该商机已关闭（已成单").first).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        rep_a1 = session.exec(select(User).where(User.username == "rep_a1")).one()
        opp = session.exec(select(Opportunity)).one()
        assert (opp.stage, opp.pool_state, opp.amount) == ("won", "closed", Decimal("9800.00"))
        order = session.exec(select(SalesOrder)).one()
        assert (order.status, order.payment_ref, order.attributed_owner_id) == (
            "paid",
            "WX20261201-0001",
            rep_a1.id,
        )
        assert order.attributed_unit_id == rep_a1.org_unit_id
        assert session.exec(select(FollowUp.content)).one() == "约了周六的直播试听"
        assert session.exec(select(TrialLesson.course)).one() == "政治冲刺"
