"""Browser: four roles sign in to the lived-in demo (`tests/lived_in.py`) and open every page
of their sidebar in Chromium; no page may show Streamlit's exception box. One full-page
screenshot per role and page goes to `test-artifacts/<role>/<page>.png` (git-ignored), so a
reviewer can look at every page after a run."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.analytics import cache as analytics_cache
from crm_core.models import Opportunity
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from db.seed import DEMO_PASSWORD
from tests.browser import idle, launch, require_chromium, running_app, sign_in
from tests.conftest import empty_database
from tests.lived_in import build_lived_in_demo, named

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
ROLES = ("rep", "manager", "boss", "admin")
VIEWPORT = {"width": 1500, "height": 1000}
# Streamlit's exception box, and the app's own error box (an internal error is shown as one,
# with an error number; no page shows one on the demo in normal use).
FAILURES = "[data-testid='stException'], [data-testid='stAlertContentError']"


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    if database_url.startswith("postgresql"):
        pytest.skip("the browser test runs on SQLite")
    # The server runs on the real clock: build the demo a few days back (at midday, company
    # time) and let the drawn hours pass no further than now.
    clock.reset()
    real_now = clock.now()
    start = (real_now - timedelta(days=4)).replace(hour=4, minute=0, second=0, microsecond=0)
    try:
        build_lived_in_demo(engine, start, latest=real_now - timedelta(minutes=5))
        clock.reset()
        with running_app(database_url, tmp_path_factory.mktemp("every-page")) as url:
            yield url
    finally:
        clock.reset()
        analytics_cache.clear()
        empty_database(engine)


def _opportunity_in_scope(engine, username: str) -> int:
    with Session(engine) as session:
        actor = named(session, username)
        return session.exec(select(func.max(Opportunity.id)).where(opportunity_scope(actor))).one()


def _full_page_screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main container, so the window is made as
    tall as that container's content for the shot (capped), then put back."""
    height = page.evaluate(
        "() => Math.max(window.innerHeight, ...Array.from(document.querySelectorAll("
        "\"[data-testid='stMain'], [data-testid='stAppViewContainer']\"), e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height), 12_000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or "page"


@pytest.mark.parametrize("username", ROLES)
def test_finding_15_every_page_of_four_roles_in_chromium(app_url, engine, username):
    from playwright.sync_api import expect, sync_playwright

    folder = ARTIFACTS / username
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        sign_in(page, app_url, username, DEMO_PASSWORD)
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav).to_be_visible(timeout=30_000)
        idle(page)
        links = nav.locator("a")
        targets = [
            (links.nth(i).get_attribute("href"), links.nth(i).inner_text().strip().splitlines()[-1])
            for i in range(links.count())
        ]
        assert len(targets) >= 4, targets
        opportunity = _opportunity_in_scope(engine, username)
        for href, title in targets:
            visits = [(href, title)]
            if href.rstrip("/").endswith("/opportunity"):
                visits.append((f"{href}?id={opportunity}", f"{title}-{opportunity}"))
            for target, name in visits:
                if "?" in target:
                    page.goto(target)  # a link to one opportunity, as the board gives
                else:
                    nav.locator(f"a[href='{target}']").click()
                    expect(page).to_have_url(re.compile(re.escape(target)), timeout=30_000)
                idle(page)
                path = target.split("/")[-1] or "landing"
                _full_page_screenshot(page, folder / f"{_file_name(path)}.png")
                for box in page.locator(FAILURES).all():
                    problems.append(f"{name} ({target}): {box.inner_text()[:500]}")
        browser.close()
    assert not problems, "\n".join(problems)
