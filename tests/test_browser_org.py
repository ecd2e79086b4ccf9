"""Browser: an admin adds a unit on the org chart and moves a user into it."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm_core.models import OrgUnit, User
from crm_core.platform.i18n import NC_, translate
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

        page.get_by_role("link", name=translate("Org chart", "zh")).click()
        expect(page.get_by_role("heading", name=translate("Org chart", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        choose(page, translate("Org unit", "zh"), "HQ / Beijing")
        idle(page)
        page.get_by_role("textbox", name=translate(NC_("org", "Name"), "zh")).first.fill(
            "Team Night"
        )
        page.get_by_role("button", name=translate("Add a sub-unit", "zh")).click()
        expect(page.get_by_text(translate("Unit added.", "zh"))).to_be_visible(timeout=30_000)

        page.get_by_role("link", name=translate("Users", "zh")).click()
        expect(page.get_by_role("heading", name=translate("Users", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        page.get_by_text(translate("Move, roles, password", "zh")).click()
        choose(page, translate("User", "zh"), "Rep B1 (rep_b1)")
        # The move form shows the chosen user's current unit once the rerun is done.
        expect(page.get_by_role("combobox", name=translate("Move to unit", "zh"))).to_have_value(
            "HQ / Beijing / Team B", timeout=30_000
        )
        idle(page)
        choose(page, translate("Move to unit", "zh"), "HQ / Beijing / Team Night")
        page.get_by_role("button", name=translate(NC_("users", "Move"), "zh"), exact=True).click()
        expect(page.get_by_text(translate("User moved.", "zh"))).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.name == "Team Night")).one()
        user = session.exec(select(User).where(User.username == "rep_b1")).one()
        assert user.org_unit_id == unit.id
