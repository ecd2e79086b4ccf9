"""Browser: marketing's path through the lead library - upload a file, fix a column the
guess got wrong, import, then find the new lead by the last four digits of its phone."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm_core.models import Lead
from crm_core.platform.i18n import translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

FILE = (
    "联系人姓名,手机号,渠道,业务线\r\n"  # "联系人姓名" is no header the guess knows
    "赵小雨,139-1234-5678,搜索广告,kaoyan\r\n"
    "钱多多,12345,sem,kaoyan\r\n"
).encode("gbk")


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    with app_with_company(engine, database_url, tmp_path_factory.mktemp("leads")) as url:
        yield url


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label`."""
    page.get_by_label(label, exact=True).first.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).first.click()


def test_upload_fix_the_mapping_import_and_find_the_lead(app_url, engine, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    upload = tmp_path / "名单.csv"
    upload.write_bytes(FILE)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        sign_in(page, app_url, "admin", PASSWORD)
        expect(page.get_by_role("heading", name="欢迎,Admin")).to_be_visible(timeout=30_000)

        page.get_by_role("link", name=translate("Import leads", "zh")).click()
        expect(page.get_by_role("heading", name=translate("Import leads", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        page.locator("input[type=file]").set_input_files(str(upload))
        expect(
            page.get_by_text(translate("Choose the column that holds the name.", "zh"))
        ).to_be_visible(timeout=30_000)
        idle(page)
        choose(page, "姓名 *", "联系人姓名")
        expect(page.get_by_text("1 行无法导入")).to_be_visible(timeout=30_000)
        idle(page)
        page.get_by_role("button", name="导入(1 行)").click()
        expect(page.get_by_text("导入完成:2 行中有 1 行新增了名片或业务线。")).to_be_visible(
            timeout=60_000
        )

        page.get_by_role("link", name=translate("Lead library", "zh"), exact=True).click()
        expect(page.get_by_role("heading", name=translate("Lead library", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        page.get_by_label(
            translate("Name, phone, last 4 digits, external id, e-mail, WeChat or QQ", "zh")
        ).fill("5678")
        page.get_by_role("button", name=translate("Search", "zh")).click()
        expect(page.get_by_text("找到 1 张名片。")).to_be_visible(timeout=30_000)
        idle(page)
        # The result table is drawn on a canvas: open the lead through the picker below it.
        page.get_by_label(translate("Open a lead", "zh"), exact=True).click()
        page.keyboard.type("赵小雨")
        page.get_by_role("option").filter(has_text="赵小雨").first.click()
        expect(page.get_by_role("heading").filter(has_text="赵小雨")).to_be_visible(timeout=30_000)
        browser.close()

    with Session(engine) as session:
        lead = session.exec(select(Lead).where(Lead.name == "赵小雨")).one()
        assert (lead.phone, lead.channel) == ("+8613912345678", "sem")
