"""Browser: a sales manager writes a dispatch rule in the rule editor and runs dispatch by
hand; the rep the rule names signs in and finds the notice of the new opportunities on
their home page, and the opportunities in the flow log."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm_core.models import DispatchRule, Opportunity, User
from crm_core.platform.i18n import NC_, label_of, translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, add_waiting_opportunities

pytestmark = pytest.mark.browser


def two_waiting(session, company) -> None:
    add_waiting_opportunities(session, company, 2)


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("circulation"), populate=two_waiting
    ) as url:
        yield url


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the first Streamlit selectbox labelled `label` (the dispatch tab's)."""
    page.get_by_label(label, exact=True).first.click()
    # Options are virtualised: type to bring the option into view.
    page.keyboard.type(option.split(" / ")[-1])
    page.get_by_role("option", name=option, exact=True).first.click()


def test_a_manager_writes_a_rule_runs_dispatch_and_the_rep_is_told(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        manager = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(manager, app_url, "bj_manager", PASSWORD)
        expect(manager.get_by_role("heading", name="欢迎,Bj Manager")).to_be_visible(timeout=30_000)
        manager.get_by_role("link", name=translate("Circulation rules", "zh")).click()
        expect(
            manager.get_by_role("heading", name=translate("Circulation rules", "zh"), exact=True)
        ).to_be_visible(timeout=30_000)
        idle(manager)
        expect(manager.get_by_text("2 个商机等待分配。")).to_be_visible(timeout=30_000)
        expect(
            manager.get_by_text(translate("No rules yet — create the first one below.", "zh")).first
        ).to_be_visible()

        manager.get_by_label(translate(NC_("org", "Name"), "zh"), exact=True).first.fill(
            "Team B first"
        )
        choose(manager, translate("Target unit (with everything below)", "zh"), "Beijing / Team B")
        idle(manager)
        manager.get_by_role("button", name=translate("Save rule", "zh")).first.click()
        expect(manager.get_by_text("规则“Team B first”已保存(版本 1)。")).to_be_visible(
            timeout=30_000
        )
        idle(manager)
        # The page keeps the tab a manager works in across reruns (a save, a run).
        claim_tab = manager.get_by_role(
            "tab", name=translate(label_of("rules.kind", "claim"), "zh")
        )
        claim_tab.click()
        idle(manager)
        manager.get_by_role("button", name=translate("Run dispatch now", "zh")).click()
        expect(manager.get_by_text("分配完成:待分配 2, 已分配 2")).to_be_visible(timeout=30_000)
        expect(claim_tab).to_have_attribute("aria-selected", "true")
        expect(
            manager.get_by_text(translate("Nothing is waiting for dispatch.", "zh"))
        ).to_be_visible(timeout=30_000)

        rep = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        sign_in(rep, app_url, "rep_b1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep B1")).to_be_visible(timeout=30_000)
        expect(rep.get_by_text("您收到了 2 个新商机。")).to_be_visible(timeout=30_000)
        expect(rep.get_by_role("heading", name="通知(1 条未读)")).to_be_visible()
        idle(rep)
        rep.get_by_role("button", name=translate("Mark all read", "zh")).click()
        expect(rep.get_by_text(translate("No new notices.", "zh"))).to_be_visible(timeout=30_000)

        rep.get_by_role("link", name=translate("Flow log", "zh")).click()
        expect(rep.get_by_role("heading", name=translate("Flow log", "zh"))).to_be_visible(
            timeout=30_000
        )
        expect(rep.get_by_text("共 2 条记录。")).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        rep_b1 = session.exec(select(User).where(User.username == "rep_b1")).one()
        owners = session.exec(select(Opportunity.owner_id, Opportunity.pool_state)).all()
        assert sorted(owners) == [(rep_b1.id, "owned"), (rep_b1.id, "owned")]
        rule = session.exec(select(DispatchRule)).one()
        assert rule.name == "Team B first"
