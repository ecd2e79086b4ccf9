"""Browser: tables people act on. A rep checks rows of the public pool and claims them; a
manager clicks a row of the desk and lands on that opportunity."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from crm_core.circulation.override import return_to_pool
from crm_core.models import Opportunity, User
from crm_core.platform.i18n import NC_, ntranslate, translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, add_waiting_opportunities

pytestmark = pytest.mark.browser
ROW = 35  # the data grid's header and row height, in pixels


def three_in_the_pool(session, company) -> None:
    ids = add_waiting_opportunities(session, company, 3)
    return_to_pool(session, SYSTEM, ids)
    add_owned_opportunity(session, company, "rep_a2", 9)  # the desk's newest row
    session.commit()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("tables"), populate=three_in_the_pool
    ) as url:
        yield url


def grid(page):
    """The first data grid of the page, once drawn."""
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for(state="visible", timeout=30_000)
    idle(page)
    return table.bounding_box()


def test_a_rep_checks_pool_rows_and_claims_them(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        rep = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        rep.get_by_role("link", name=translate("Public pool", "zh")).click()
        box = grid(rep)
        # The check box sits at the start of each row; check the first two rows.
        for row in (1, 2):
            rep.mouse.click(box["x"] + 12, box["y"] + ROW * row + ROW / 2)
            idle(rep)
        claim = rep.get_by_role("button", name=translate("Claim ({count})", "zh").format(count=2))
        expect(claim).to_be_enabled(timeout=30_000)
        claim.click()
        expect(rep.get_by_text("您领取了 2 个", exact=False)).to_be_visible(timeout=30_000)
        browser.close()
    with Session(engine) as session:
        rep_id = session.exec(select(User.id).where(User.username == "rep_a1")).one()
        claimed = session.exec(select(Opportunity).where(Opportunity.owner_id == rep_id)).all()
        assert len(claimed) == 2


def test_a_click_on_a_desk_row_opens_the_opportunity(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with Session(engine) as session:
        first = session.exec(select(Opportunity.id).order_by(Opportunity.id.desc())).first()
    with sync_playwright() as p:
        browser = launch(p)
        manager = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(manager, app_url, "bj_manager", PASSWORD)
        expect(manager.get_by_role("heading", name="欢迎,Bj Manager")).to_be_visible(timeout=30_000)
        manager.get_by_role("link", name=translate("Manager desk", "zh")).click()
        box = grid(manager)
        # A click on the first row's name cell (the desk lists the newest first).
        manager.mouse.click(box["x"] + 200, box["y"] + ROW * 1.5)
        expect(manager.get_by_role("heading", name=f"#{first} ", exact=False)).to_be_visible(
            timeout=30_000
        )
        browser.close()


def test_a_click_on_a_flow_log_row_opens_the_opportunity(app_url, engine):
    """The rep's claims are in the flow log; a click on the newest opens its opportunity."""
    from playwright.sync_api import expect, sync_playwright

    with Session(engine) as session:
        rep_id = session.exec(select(User.id).where(User.username == "rep_a1")).one()
        newest = session.exec(
            select(Opportunity.id)
            .where(Opportunity.owner_id == rep_id)
            .order_by(Opportunity.assigned_at.desc(), Opportunity.id.desc())
        ).first()
    assert newest is not None, "runs after the claim test of this module"
    with sync_playwright() as p:
        browser = launch(p)
        rep = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        rep.get_by_role("link", name=translate("Flow log", "zh")).click()
        box = grid(rep)
        rep.mouse.click(box["x"] + 250, box["y"] + ROW * 1.5)
        expect(rep.get_by_role("heading", name="#", exact=False).first).to_be_visible(
            timeout=30_000
        )
        expect(rep).to_have_url(f"{app_url}/opportunity?id={newest}", timeout=30_000)
        browser.close()


def test_a_click_on_a_library_row_opens_the_lead_card(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with Session(engine) as session:
        rep_id = session.exec(select(User.id).where(User.username == "rep_a1")).one()
        lead_ids = session.exec(
            select(Opportunity.lead_id).where(Opportunity.owner_id == rep_id)
        ).all()
    assert lead_ids, "runs after the claim test of this module"
    with sync_playwright() as p:
        browser = launch(p)
        rep = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(rep, app_url, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        rep.get_by_role("link", name=translate("Lead library", "zh")).click()
        box = grid(rep)
        rep.mouse.click(box["x"] + 150, box["y"] + ROW * 1.5)
        card = rep.get_by_role("heading", name="·  #", exact=False)
        expect(card.first).to_be_visible(timeout=30_000)
        assert any(f"#{lead_id}" in card.first.inner_text() for lead_id in lead_ids)
        browser.close()


def test_a_click_on_a_rep_of_the_team_backlog_opens_the_board_on_them(app_url, engine):
    """The workbench's last table is the manager's team backlog; its first row's rep is
    the board's rep filter after the click, and the list holds only their opportunities."""
    from playwright.sync_api import expect, sync_playwright

    from crm_core.org.access import load_actor
    from crm_core.sales.workbench import team_backlog

    with Session(engine) as session:
        manager_id = session.exec(select(User.id).where(User.username == "bj_manager")).one()
        first = team_backlog(session, load_actor(session, manager_id))[0]
        held = session.exec(
            select(func.count())
            .select_from(Opportunity)
            .where(Opportunity.owner_id == first.user_id, Opportunity.pool_state == "owned")
        ).one()
    with sync_playwright() as p:
        browser = launch(p)
        manager = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(manager, app_url, "bj_manager", PASSWORD)
        expect(manager.get_by_role("heading", name="欢迎,Bj Manager")).to_be_visible(timeout=30_000)
        manager.get_by_role("link", name=translate("Workbench", "zh"), exact=True).click()
        hint = translate("Click a rep to open the board on their opportunities.", "zh")
        expect(manager.get_by_text(hint)).to_be_visible(timeout=30_000)
        backlog = manager.locator("[data-testid='stDataFrame']").last
        backlog.scroll_into_view_if_needed()
        # The live notices beside the pipeline fill in after the first paint and move the
        # table down: the click aims at where the table is now, until the board opens.
        for _ in range(3):
            idle(manager)
            box = backlog.bounding_box()
            manager.mouse.click(box["x"] + 60, box["y"] + ROW * 1.5)
            try:
                expect(manager).to_have_url(f"{app_url}/board", timeout=10_000)
                break
            except AssertionError:
                continue
        expect(manager).to_have_url(f"{app_url}/board", timeout=30_000)
        count = ntranslate("{count} opportunity.", "{count} opportunities.", held, "zh", count=held)
        expect(manager.get_by_text(count).first).to_be_visible(timeout=30_000)
        rep_filter = manager.get_by_role(
            "combobox", name=translate(NC_("board.filter", "Rep"), "zh")
        )
        expect(rep_filter).to_have_value(first.name, timeout=30_000)
        browser.close()
