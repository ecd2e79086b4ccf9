"""The dashboard pages through the real app (AppTest): each renders its figures for the
executive and a manager, filters come from the link's query parameters, marketing enters
spend, a manager imports history; a rep cannot open any of them."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from crm_core.models.dashboards import MarketingSpend
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.dashboard_factories import move, open_opportunity, pay

FUNNEL = "pages/dashboards/funnel.py"
HEALTH = "pages/dashboards/circulation_health.py"
PERFORMANCE = "pages/dashboards/performance.py"
ROI = "pages/dashboards/channel_roi.py"
HISTORY = "pages/admin/history_import.py"
PAGES = (FUNNEL, HEALTH, PERFORMANCE, ROI)
NOW = datetime(2026, 3, 20, 4, 0)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def company(app_env, db):
    """Beijing: one won (3,000) and one lost; Shanghai: one new. All created in March."""
    won = open_opportunity(db, app_env, "rep_a1", datetime(2026, 3, 2))
    move(db, won, ("contacted", datetime(2026, 3, 3)), ("qualified", datetime(2026, 3, 4)))
    pay(db, app_env, won, "3000", datetime(2026, 3, 5))
    lost = open_opportunity(db, app_env, "rep_b1", datetime(2026, 3, 3))
    move(db, lost, ("lost", datetime(2026, 3, 6)))
    open_opportunity(db, app_env, "rep_c1", datetime(2026, 3, 4), channel="feed")
    create_user(
        db,
        app_env.actor(db, "admin"),
        username="mkt",
        full_name="Marketing",
        employee_no="M1",
        password="secret123",
        org_unit_id=app_env.units["hq"].id,
        role_codes=["marketing"],
    )
    db.commit()
    clock.freeze(NOW)
    return app_env


def open_page(username: str, page: str, **params: str) -> AppTest:
    at = login(username)
    for key, value in params.items():
        at.query_params[key] = value
    return ok(at.switch_page(page).run())


def test_the_funnel_shows_the_cohort_and_lists_a_stage(company):
    at = open_page("boss", FUNNEL, start="2026-03-01", end="2026-03-31")
    assert metric(at, translate("Cohort", "zh")) == "3"
    assert (
        metric(at, translate("Cohort won", "zh")) == "1"
        and metric(at, translate("Cohort lost", "zh")) == "1"
    )
    # Paid on 5 March and lost on 6 March: in the period as on team performance.
    assert metric(at, translate("Won in the period", "zh")) == "1"
    assert metric(at, translate("Lost in the period", "zh")) == "1"
    steps = at.dataframe[0].value
    assert steps[translate("Reached", "zh")].tolist() == [3, 1, 1, 1, 1, 1]
    assert len(at.get("plotly_chart")) == 1
    at.selectbox(key="funnel_stage_zh").select(translate(NC_("stage", "Won"), "zh")).run()
    listed = ok(at).dataframe[-1].value
    assert listed["#"].tolist() == [1]
    # The filters went back into the link.
    assert at.query_params["start"] == "2026-03-01"


def test_the_funnel_split_and_filter_come_from_the_link(company):
    line = company.line.id
    at = open_page(
        "boss", FUNNEL, start="2026-03-01", end="2026-03-31", split="unit", business_line=str(line)
    )
    split = at.dataframe[1].value
    assert dict(
        zip(
            split[translate("Org unit", "zh")],
            split[translate(NC_("stage", "New"), "zh")],
            strict=True,
        )
    ) == {"Beijing": 2, "Shanghai": 1}
    at.selectbox(key="funnel_channel_zh").select("信息流广告").run()
    assert metric(ok(at), translate("Cohort", "zh")) == "1"
    assert at.query_params["channel"] == "feed"


def test_a_manager_sees_their_subtree(company):
    at = open_page("bj_manager", FUNNEL, start="2026-03-01", end="2026-03-31")
    assert metric(at, translate("Cohort", "zh")) == "2"
    at = open_page("bj_manager", PERFORMANCE, start="2026-03-01", end="2026-03-31")
    assert (
        metric(at, translate("Revenue", "zh")) == "¥3,000"
        and metric(at, translate("Win rate", "zh")) == "50.0%"
    )


def test_performance_health_and_roi_render(company):
    at = open_page("boss", PERFORMANCE, start="2026-03-01", end="2026-03-31")
    units = at.dataframe[0].value
    assert dict(
        zip(units[translate("Org unit", "zh")], units[translate("Revenue", "zh")], strict=True)
    ) == {"Beijing": 3000.0}
    board = at.dataframe[1].value
    assert board[translate("Rep", "zh")].tolist() == ["Rep A1", "Rep B1"]
    at = open_page("boss", HEALTH, start="2026-03-01", end="2026-03-31")
    assert metric(at, translate("Owned now", "zh")) == "1"
    at = open_page("boss", ROI, start="2026-03-01", end="2026-03-31")
    channels = at.dataframe[0].value
    assert channels[translate(NC_("dash.col", "Leads"), "zh")].tolist() == [2, 1]
    assert not at.get("form")  # no spend form without manage_marketing_spend


def test_marketing_enters_spend(company, db):
    at = open_page("mkt", ROI, start="2026-03-01", end="2026-03-31")
    form = at.get("form")[0]
    assert form is not None
    at.date_input(key="spend_month").set_value(date(2026, 3, 1))
    at.selectbox(key="spend_channel_zh").select("搜索广告")
    at.text_input(key="spend_amount").input("1200")
    at.get("form_submit_button")[0].click()
    ok(at.run())
    assert db.exec(select(func.count()).select_from(MarketingSpend)).one() == 1
    channels = at.dataframe[0].value
    # A number in the table (it sorts and exports as one), shown as money.
    assert 1200.0 in channels[translate("Spend", "zh")].tolist()
    assert metric(at, translate("Spend", "zh")) == "¥1,200"


def test_a_manager_opens_the_history_import(company):
    at = open_page("bj_manager", HISTORY)
    # The pipeline file first; the team file is asked for beside the file's options.
    assert len(at.get("file_uploader")) == 1


@pytest.mark.parametrize("page", [*PAGES, HISTORY])
def test_a_rep_cannot_open_them(company, page):
    at = signed_in("rep_a1")
    assert_page_refused(at, page)


def test_every_page_opens_on_an_empty_period_and_on_all_time(company):
    for page in PAGES:
        open_page("boss", page, start="2025-01-01", end="2025-01-31")
        open_page("admin", page, start="", end="")
    at = open_page("boss", FUNNEL, start="2025-01-01", end="2025-01-31")
    assert translate("Nothing in this view.", "zh") in [i.value for i in at.info]


def test_marketing_deletes_one_spend_entry(company, db):
    at = open_page("mkt", ROI, start="2026-03-01", end="2026-03-31")
    for channel, amount in (("搜索广告", "1200"), ("信息流广告", "800")):
        at.date_input(key="spend_month").set_value(date(2026, 3, 1))
        at.selectbox(key="spend_channel_zh").select(channel)
        at.text_input(key="spend_amount").input(amount)
        at.get("form_submit_button")[0].click()
        ok(at.run())
    assert db.exec(select(func.count()).select_from(MarketingSpend)).one() == 2
    entries = at.dataframe[-1].value
    assert sorted(entries[translate("Amount", "zh")].tolist()) == [800.0, 1200.0]
    doomed = next(o for o in at.selectbox(key="spend_doomed_zh").options if "1,200" in o)
    at.selectbox(key="spend_doomed_zh").select(doomed)
    at.button(key="spend_delete").click()
    ok(at.run())
    db.expire_all()
    assert [s.amount for s in db.exec(select(MarketingSpend)).all()] == [800]
