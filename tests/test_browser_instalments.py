"""Browser: a sales manager sets Team A's revenue target on the Sales targets page, a rep
makes an order of a deposit and two instalments on the opportunity page, finance records
the deposit and both instalments on the payments page, and the rep's ranking and target
attainment move with each payment."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm_core.commerce.products import create_product
from crm_core.models import Opportunity, OrderInstalment, OrderPayment, SalesOrder
from crm_core.platform import clock
from crm_core.platform.company_time import company_zone, to_local
from crm_core.platform.i18n import translate
from crm_core.sales.targets import set_target
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity

pytestmark = pytest.mark.browser


def a_rep_with_a_target(session, company) -> None:
    """Beijing's target of this month, rep_a1's own of 30,000, a 9,000 product and an
    opportunity of rep_a1's due for a follow-up (so the workbench lists it)."""
    month = to_local(clock.now(), company_zone(session)).date()
    beijing = company.units["beijing"].id
    set_target(session, SYSTEM, month=month, metric="revenue", value="100000", unit_id=beijing)
    rep = company.users["rep_a1"].id
    set_target(session, SYSTEM, month=month, metric="revenue", value="30000", user_id=rep)
    create_product(
        session,
        SYSTEM,
        business_line_id=company.line.id,
        code="P",
        name="Course",
        list_price="9000",
        course_days=30,
    )
    opp = add_owned_opportunity(session, company, "rep_a1", 1)
    row = session.get(Opportunity, opp.id)
    row.next_follow_up_at = clock.now() - timedelta(hours=2)
    row.first_follow_up_at = clock.now() - timedelta(days=1)
    session.add(row)
    session.commit()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    if database_url.startswith("postgresql"):
        pytest.skip("the browser test runs on SQLite")
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("instal"), populate=a_rep_with_a_target
    ) as url:
        yield url


def record(finance, amount: str, ref: str) -> None:
    """Record one payment of `amount` on the only order waiting for payment."""
    from playwright.sync_api import expect

    finance.get_by_label(translate("Payment reference", "zh"), exact=True).fill(ref)
    field = finance.get_by_label(translate("Amount paid (¥)", "zh"))
    field.fill(amount)
    field.press("Enter")
    idle(finance)
    finance.get_by_role("button", name=translate("Payment recorded", "zh")).click()
    shown = f"{Decimal(amount):,.2f}"
    expect(finance.get_by_text(re.compile("已记录订单.*" + re.escape(shown)))).to_be_visible(
        timeout=30_000
    )
    idle(finance)


def test_a_deposit_and_two_instalments_move_the_rankings_and_attainment(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        manager = browser.new_context(viewport={"width": 1500, "height": 1400}).new_page()
        sign_in(manager, app_url, "bj_manager", PASSWORD)
        expect(manager.get_by_role("heading", name="欢迎,Bj Manager")).to_be_visible(timeout=30_000)
        idle(manager)
        manager.get_by_role("link", name=translate("Sales targets", "zh")).click()
        expect(manager.get_by_role("heading", name=translate("Sales targets", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(manager)
        manager.get_by_role("tab", name=translate("Set and split", "zh")).click()
        revenue = manager.get_by_label(translate("Revenue", "zh"), exact=True)
        revenue.nth(1).fill("60000")
        manager.get_by_role("button", name=translate("Save targets", "zh")).click()
        saved = translate("Saved: {created} new, {updated} changed.", "zh").format(
            created=1, updated=0
        )
        expect(manager.get_by_text(saved)).to_be_visible(timeout=30_000)

        rep = browser.new_context(viewport={"width": 1500, "height": 1400}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        idle(rep)
        rep.get_by_role("link", name="#1 Lead 1").first.click()
        expect(rep.get_by_role("heading", name="#1 Lead 1 · Postgraduate exam")).to_be_visible(
            timeout=30_000
        )
        idle(rep)
        rep.get_by_role("tab", name=translate("Order", "zh")).click()
        rep.get_by_text(translate("Pay in a deposit and instalments", "zh")).click()
        idle(rep)
        rep.get_by_role("button", name=translate("Create order", "zh")).click()
        expect(rep.get_by_text("已创建，可以付款")).to_be_visible(timeout=30_000)

        finance = browser.new_context(viewport={"width": 1500, "height": 1400}).new_page()
        sign_in(finance, app_url, "admin", PASSWORD)
        expect(finance.get_by_role("heading", name="欢迎,Admin")).to_be_visible(timeout=30_000)
        finance.get_by_role("link", name=translate("Payments", "zh")).click()
        expect(
            finance.get_by_role("heading", name=translate("Payment recorded", "zh"))
        ).to_be_visible(timeout=30_000)
        idle(finance)
        # The suggested plan: a deposit of a fifth, then two equal instalments.
        record(finance, "1800", "DEP-0001")

        rep.get_by_role("link", name=translate("Workbench", "zh")).first.click()
        line = translate("Your targets this month: {figures}.", "zh").split("{")[0]
        expect(rep.get_by_text(re.compile(re.escape(line) + ".*1,800.*30,000"))).to_be_visible(
            timeout=30_000
        )
        expect(
            rep.get_by_text(re.compile(r"本周你在 \d+ 名销售中业绩排第 1（.*1,800"))
        ).to_be_visible()

        record(finance, "3600", "INS-0001")
        record(finance, "3600", "INS-0002")

        rep.reload()
        expect(rep.get_by_text(re.compile(re.escape(line) + ".*9,000.*30,000.*30"))).to_be_visible(
            timeout=30_000
        )
        # The week's ranking line: first by revenue, with the three payments.
        rank = re.compile(r"本周你在 \d+ 名销售中业绩排第 1（.*9,000")
        expect(rep.get_by_text(rank)).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        order = session.exec(select(SalesOrder)).one()
        assert (order.status, order.paid_amount, order.instalments) == (
            "paid",
            Decimal("9000.00"),
            True,
        )
        parts = session.exec(
            select(OrderInstalment.amount, OrderInstalment.settled_at).order_by(
                OrderInstalment.sequence
            )
        ).all()
        assert [a for a, _ in parts] == [Decimal("1800.00"), Decimal("3600.00"), Decimal("3600.00")]
        assert all(settled is not None for _, settled in parts)
        assert len(session.exec(select(OrderPayment.id)).all()) == 3
