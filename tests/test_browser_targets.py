"""Browser: a sales manager splits their region's target onto a team on the Sales targets
page, and a rep with a target and a paid order this month sees their attainment on the
workbench."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment
from crm_core.commerce.products import create_product
from crm_core.models import SalesTarget
from crm_core.platform import clock
from crm_core.platform.company_time import company_zone, to_local
from crm_core.platform.i18n import translate
from crm_core.sales.targets import set_target
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity

pytestmark = pytest.mark.browser


def targets_and_a_payment(session, company) -> None:
    """Beijing's target of this month from the top, rep_a1's own, and a 9,000 order of
    rep_a1's paid now."""
    month = to_local(clock.now(), company_zone(session)).date()
    beijing = company.units["beijing"].id
    set_target(session, SYSTEM, month=month, metric="revenue", value="100000", unit_id=beijing)
    rep = company.users["rep_a1"].id
    set_target(session, SYSTEM, month=month, metric="revenue", value="30000", user_id=rep)
    product = create_product(
        session,
        SYSTEM,
        business_line_id=company.line.id,
        code="P",
        name="Course",
        list_price="9000",
        course_days=30,
    )
    session.commit()
    opp = add_owned_opportunity(session, company, "rep_a1", 1)
    order = create_order(session, company.actor(session, "rep_a1"), opp.id, product.id, "9000")
    record_payment(session, company.actor(session, "admin"), order.id, "PAY-1")
    session.commit()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    if database_url.startswith("postgresql"):
        pytest.skip("the browser test runs on SQLite")
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("targets"), populate=targets_and_a_payment
    ) as url:
        yield url


def test_a_manager_splits_a_target_and_a_rep_sees_their_attainment(app_url, engine):
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
        # The inputs of Beijing (the manager's own unit: disabled), then Team A's.
        revenue = manager.get_by_label(translate("Revenue", "zh"), exact=True)
        expect(revenue.first).to_be_disabled()
        revenue.nth(1).fill("60000")
        manager.get_by_role("button", name=translate("Save targets", "zh")).click()
        saved = translate("Saved: {created} new, {updated} changed.", "zh").format(
            created=1, updated=0
        )
        expect(manager.get_by_text(saved)).to_be_visible(timeout=30_000)
        idle(manager)
        left = translate("Left to split: {value}", "zh").split("{")[0]
        expect(manager.get_by_text(re.compile(re.escape(left) + ".*40,000"))).to_be_visible()

        rep = browser.new_context(viewport={"width": 1500, "height": 1400}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        idle(rep)
        line = translate("Your targets this month: {figures}.", "zh").split("{")[0]
        expect(rep.get_by_text(re.compile(re.escape(line) + ".*9,000.*30,000.*30"))).to_be_visible(
            timeout=30_000
        )
        browser.close()

    with Session(engine) as session:
        team_a = session.exec(
            select(SalesTarget).where(SalesTarget.metric == "revenue", SalesTarget.value == 60000)
        ).one()
        assert team_a.value == Decimal(60000)
