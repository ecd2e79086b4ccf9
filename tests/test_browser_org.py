"""Browser: an admin adds a unit on the org chart and moves a user into it."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm_core.models import OrgUnit, User
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(engine, database_url, tmp_path_factory.mktemp("org")) as url:
        yield url


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label`."""
    box = page.get_by_label(label, exact=True).first
    box.click()
    # Long option lists are virtualised: type to bring the option into view.
    page.keyboard.type(option.split(" / ")[-1])
    page.get_by_role("option", name=option, exact=True).first.click()


def test_admin_adds_a_unit_and_moves_a_user_into_it(app_url, engine):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        sign_in(page, app_url, "admin", PASSWORD)
        expect(page.get_by_role("heading", name="欢迎,Admin")).to_be_visible(timeout=30_000)

        page.get_by_role("link", name="组织架构").click()
        expect(page.get_by_role("heading", name="组织架构")).to_be_visible(timeout=30_000)
        idle(page)
        choose(page, "组织", "HQ / Beijing")
        idle(page)
        page.get_by_role("textbox", name="名称").first.fill("Team Night")
        page.get_by_role("button", name="新增下级组织").click()
        expect(page.get_by_text("已新增组织。")).to_be_visible(timeout=30_000)

        page.get_by_role("link", name="用户管理").click()
        expect(page.get_by_role("heading", name="用户管理")).to_be_visible(timeout=30_000)
        idle(page)
        page.get_by_text("调动、角色、密码").click()
        choose(page, "用户", "Rep B1 (rep_b1)")
        # The move form shows the chosen user's current unit once the rerun is done.
        expect(page.get_by_role("combobox", name="调动到组织")).to_have_value(
            "HQ / Beijing / Team B", timeout=30_000
        )
        idle(page)
        choose(page, "调动到组织", "HQ / Beijing / Team Night")
        page.get_by_role("button", name="调动", exact=True).click()
        expect(page.get_by_text("用户已调动。")).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.name == "Team Night")).one()
        user = session.exec(select(User).where(User.username == "rep_b1")).one()
        assert user.org_unit_id == unit.id
