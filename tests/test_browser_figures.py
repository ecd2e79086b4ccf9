"""Browser: at 1280 px wide, team performance and the funnel show every metric whole (the
short form 664.3万 where the full figure is long)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.platform import clock
from crm_core.platform.i18n import translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.dashboard_factories import move, open_opportunity, pay
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

# Every element inside a metric whose text is wider than its box (cut off or ellipsed).
CUT_OFF = """() => [...document.querySelectorAll('[data-testid="stMetric"] *')]
    .filter(e => e.children.length === 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent)"""


def big_revenue(session, company) -> None:
    """Two large paid orders this week (6,643,300 in all) and one lost."""
    start = clock.now() - timedelta(days=3)
    for owner, amount in (("rep_a1", "6000000"), ("rep_b1", "643300")):
        opp = open_opportunity(session, company, owner, start)
        move(session, opp, ("contacted", start + timedelta(hours=1)))
        pay(session, company, opp, amount, start + timedelta(hours=2))
    lost = open_opportunity(session, company, "rep_b1", start)
    move(session, lost, ("lost", start + timedelta(hours=3)))
    clock.reset()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    if database_url.startswith("postgresql"):
        pytest.skip("the browser test runs on SQLite")
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("figures"), populate=big_revenue
    ) as url:
        yield url


def test_metrics_are_whole_at_1280_px(app_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, app_url, "boss", PASSWORD)
        expect(page.get_by_role("heading", name="欢迎,Boss")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name=translate("Team performance", "zh")).click()
        expect(page.get_by_role("heading", name=translate("Team performance", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        revenue = page.get_by_test_id("stMetric").filter(has_text=translate("Revenue", "zh")).first
        expect(revenue).to_contain_text("¥664.3万", timeout=30_000)
        assert page.evaluate(CUT_OFF) == []
        page.get_by_role("link", name=translate("Funnel", "zh")).click()
        expect(page.get_by_role("heading", name=translate("Funnel", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        assert page.evaluate(CUT_OFF) == []
        page.screenshot(path="/tmp/figures-funnel-1280.png", full_page=True)
        browser.close()
