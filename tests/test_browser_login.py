"""Browser: a rep signs in through the real form and sees their home page; the cookie keeps
the session on reload, and dies with a log-out even when copied."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from crm_core.bootstrap import bootstrap
from tests.browser import CHROMIUM_ARGS, idle, require_chromium, running_app
from tests.conftest import empty_database
from tests.factories import PASSWORD, add_owned_opportunity, build_small_company

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    chromium = require_chromium()
    empty_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        company = build_small_company(session)
        for n in range(3):
            add_owned_opportunity(session, company, "rep_a1", 100 + n)
        add_owned_opportunity(session, company, "rep_b1", 200)
    with running_app(database_url, tmp_path_factory.mktemp("app")) as url:
        yield url, chromium


@pytest.fixture
def browser(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=app_url[1], args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(page, url, username):
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_rep_signs_in_and_sees_home(app_url, browser):
    from playwright.sync_api import expect

    url, _ = app_url
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "rep_a1")
    expect(page.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
    idle(page)
    # Their scope holds their own three opportunities, not the other rep's.
    expect(page.get_by_test_id("stMetric").filter(has_text="范围内商机数")).to_contain_text("3")
    # Reloading keeps the session through the cookie.
    page.wait_for_function("document.cookie.includes('crm_session=')", timeout=15_000)
    page.reload()
    expect(page.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
    context.close()


def test_copied_cookie_dies_with_log_out(app_url, browser):
    from playwright.sync_api import expect

    url, _ = app_url
    first = browser.new_context()
    page = first.new_page()
    sign_in(page, url, "rep_b1")
    expect(page.get_by_role("heading", name="欢迎,Rep B1")).to_be_visible(timeout=30_000)
    page.wait_for_function("document.cookie.includes('crm_session=')", timeout=15_000)
    copied = [c for c in first.cookies() if c["name"] == "crm_session"]
    assert copied

    # The copied cookie works in another browser...
    second = browser.new_context()
    second.add_cookies(copied)
    other = second.new_page()
    other.goto(url)
    expect(other.get_by_role("heading", name="欢迎,Rep B1")).to_be_visible(timeout=30_000)
    second.close()

    # ...until the owner logs out.
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
    third = browser.new_context()
    third.add_cookies(copied)
    stale = third.new_page()
    stale.goto(url)
    expect(stale.get_by_label("用户名")).to_be_visible(timeout=30_000)
    expect(stale.get_by_role("heading", name="欢迎,Rep B1")).to_have_count(0)
    third.close()
    first.close()
