"""Browser: the executive opens the funnel, filters one business line, downloads the
funnel's CSV and the file holds that line's counts (UTF-8 with a byte-order mark)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from crm_core.models import BusinessLine
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.dashboard_factories import move, open_opportunity
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def two_lines(session, company) -> None:
    """Postgraduate: three opportunities, one qualified; English: two, both contacted."""
    session.add(BusinessLine(code="english", name="English courses"))
    session.commit()
    start = clock.now() - timedelta(days=3)
    first = open_opportunity(session, company, "rep_a1", start)
    move(session, first, ("contacted", start), ("qualified", start + timedelta(hours=1)))
    open_opportunity(session, company, "rep_a1", start)
    open_opportunity(session, company, "rep_b1", start)
    for _ in range(2):
        other = open_opportunity(session, company, "rep_c1", start, line_code="english")
        move(session, other, ("contacted", start + timedelta(hours=2)))
    clock.reset()


@pytest.fixture(scope="module")
def app_url(engine, database_url, tmp_path_factory):
    require_chromium()
    if database_url.startswith("postgresql"):
        pytest.skip("the browser test runs on SQLite")
    with app_with_company(
        engine, database_url, tmp_path_factory.mktemp("dashboards"), populate=two_lines
    ) as url:
        yield url


def test_the_executive_filters_the_funnel_and_downloads_its_csv(app_url, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(
            viewport={"width": 1500, "height": 1200}, accept_downloads=True
        ).new_page()
        sign_in(page, app_url, "boss", PASSWORD)
        expect(page.get_by_role("heading", name="欢迎,Boss")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name=translate("Funnel", "zh")).click()
        expect(page.get_by_role("heading", name=translate("Funnel", "zh"))).to_be_visible(
            timeout=30_000
        )
        idle(page)
        cohort = page.get_by_test_id("stMetric").filter(has_text=translate("Cohort", "zh"))
        expect(cohort).to_contain_text("5", timeout=30_000)

        page.get_by_label(translate("Business line", "zh"), exact=True).first.click()
        page.get_by_role("option", name="English courses", exact=True).click()
        idle(page)
        expect(cohort).to_contain_text("2", timeout=30_000)
        # The filter is in the link, so the view can be shared.
        expect(page).to_have_url(re.compile(r"business_line=\d+"), timeout=30_000)

        with page.expect_download(timeout=30_000) as caught:
            page.get_by_test_id("stDownloadButton").first.get_by_role("button").click()
        target = tmp_path / "funnel.csv"
        caught.value.save_as(target)
        browser.close()

    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [
        translate("Stage", "zh"),
        translate("Reached", "zh"),
        translate("From the stage before", "zh"),
        translate("Of the cohort", "zh"),
    ]
    assert [(r[0], r[1]) for r in rows[1:]] == [
        (translate(NC_("stage", "New"), "zh"), "2"),
        (translate("Contacted", "zh"), "2"),
        (translate("Qualified", "zh"), "0"),
        (translate("Trial booked", "zh"), "0"),
        (translate("Trial attended", "zh"), "0"),
        (translate(NC_("stage", "Won"), "zh"), "0"),
    ]
