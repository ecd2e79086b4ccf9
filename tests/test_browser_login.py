"""Browser: a rep signs in through the real form and sees their home page; the cookie keeps
the session on reload, and dies with a log-out even when copied."""

from __future__ import annotations

import pytest

from crm_core.platform.i18n import translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, add_owned_opportunity

pytestmark = pytest.mark.browser
# The server sets the cookie HttpOnly (no script sees it); the page marks its answer.
SERVER_SET_THE_COOKIE = "document.documentElement.dataset.crmSession === 'set'"


def populate(session, company):
    for n in range(3):
        add_owned_opportunity(session, company, "rep_a1", 100 + n)
    add_owned_opportunity(session, company, "rep_b1", 200)


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(engine, database_url, tmp_path_factory.mktemp("app"), populate) as url:
        yield url


@pytest.fixture
def browser(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def test_rep_signs_in_and_sees_home(app_url, browser):
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, app_url, "rep_a1", PASSWORD)
    expect(page.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
    idle(page)
    # A rep lands on the workbench; home says their scope holds their own three
    # opportunities, not the other rep's.
    expect(page.get_by_role("heading", name=translate("Your pipeline", "zh"))).to_be_visible()
    page.get_by_role("link", name=translate("Home", "zh")).click()
    expect(
        page.get_by_test_id("stMetric").filter(
            has_text=translate("Opportunities in your scope", "zh")
        )
    ).to_contain_text("3")
    # Reloading keeps the session through the cookie.
    page.wait_for_function(SERVER_SET_THE_COOKIE, timeout=15_000)
    page.reload()
    expect(page.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
    context.close()


def test_copied_cookie_dies_with_log_out(app_url, browser):
    from playwright.sync_api import expect

    first = browser.new_context()
    page = first.new_page()
    sign_in(page, app_url, "rep_b1", PASSWORD)
    expect(page.get_by_role("heading", name="欢迎,Rep B1")).to_be_visible(timeout=30_000)
    page.wait_for_function(SERVER_SET_THE_COOKIE, timeout=15_000)
    copied = [c for c in first.cookies() if c["name"] == "crm_session"]
    assert copied

    # The copied cookie works in another browser...
    second = browser.new_context()
    second.add_cookies(copied)
    other = second.new_page()
    other.goto(app_url)
    expect(other.get_by_role("heading", name="欢迎,Rep B1")).to_be_visible(timeout=30_000)
    second.close()

    # ...until the owner logs out.
    page.get_by_role("button", name=translate("Log out", "zh")).click()
    expect(page.get_by_label(translate("Username", "zh"))).to_be_visible(timeout=30_000)
    third = browser.new_context()
    third.add_cookies(copied)
    stale = third.new_page()
    stale.goto(app_url)
    expect(stale.get_by_label(translate("Username", "zh"))).to_be_visible(timeout=30_000)
    expect(stale.get_by_role("heading", name="欢迎,Rep B1")).to_have_count(0)
    third.close()
    first.close()
