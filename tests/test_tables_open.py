"""AppTest: rows of the dashboards, home, workbench and lead card open their records. A
click on a table's cell is what the browser does (tests/test_browser_tables.py); here the
click's effect, the row the table's callback keeps under `<key>_open`, is set and the page
runs: the app must land on the row's record, filtered to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.apptest import login
from tests.factories import SYSTEM, add_owned_opportunity, add_waiting_opportunities
from tests.test_circulation_pages import team_b_rule
from tests.test_dashboard_pages import (  # `company` is a fixture
    FUNNEL,
    HEALTH,
    PERFORMANCE,
    ROI,
    metric,
    ok,
    open_page,
)
from tests.test_dashboard_pages import (
    company as company,
)

BOARD = "pages/sales/board.py"
HOME = "pages/workspace/home.py"
LIBRARY = "pages/leads/library.py"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


def click(at: AppTest, key: str, row: int) -> AppTest:
    """The row `row` of the table kept under `key` was clicked (see ui.tables)."""
    at.session_state[f"{key}_open"] = at.session_state[f"{key}_shown"][row]
    return ok(at.run())


def title(at: AppTest) -> str:
    return at.title[0].value


def board_leads(at: AppTest) -> list[str]:
    return sorted(at.dataframe[0].value[translate("Lead", "zh")])


def test_a_unit_of_team_performance_opens_its_funnel_for_the_same_days(company):
    at = open_page("boss", PERFORMANCE, **MARCH)
    shown = at.session_state["perf_units_shown"]
    beijing = company.units["beijing"].id
    assert beijing in shown
    at = click(at, "perf_units", shown.index(beijing))
    assert title(at) == translate("Funnel", "zh")
    assert at.query_params["unit"] == str(beijing)
    assert at.query_params["start"] == "2026-03-01" and at.query_params["end"] == "2026-03-31"
    # Beijing's two opportunities of March, not Shanghai's.
    assert metric(at, translate("Cohort", "zh")) == "2"


def test_a_rep_of_the_leaderboard_opens_the_board_on_their_opportunities(company, db):
    # The board lists what is open (and this month's closed): rep_a1 also holds an open one.
    add_owned_opportunity(db, company, "rep_a1", 7)
    at = open_page("boss", PERFORMANCE, **MARCH)
    rep = company.users["rep_a1"].id
    shown = at.session_state["perf_reps_shown"]
    at = click(at, "perf_reps", shown.index(rep))
    assert title(at) == translate("Opportunity board", "zh")
    assert at.session_state["board_f_owner"] == rep
    assert board_leads(at) == ["Lead 7"]
    # The link is taken once: the filters are the reader's again.
    assert "owner" not in at.query_params
    # (AppTest follows a page switched to in the script for that run only.)
    at.switch_page(BOARD)
    at.selectbox(key="board_f_owner").set_value(None).run()
    assert at.session_state["board_f_owner"] is None
    assert len(ok(at).dataframe[0].value) > 1


def test_a_channel_of_channel_roi_opens_its_funnel(company):
    at = open_page("boss", ROI, **MARCH)
    shown = at.session_state["roi_channels_shown"]
    at = click(at, "roi_channels", shown.index("feed"))
    assert title(at) == translate("Funnel", "zh")
    assert at.query_params["channel"] == "feed"
    assert metric(at, translate("Cohort", "zh")) == "1"


def test_a_hoarder_of_circulation_health_opens_the_board_on_their_opportunities(company):
    at = open_page("boss", HEALTH, **MARCH)
    shown = at.session_state["health_holdings_shown"]
    rep = company.users["rep_c1"].id
    at = click(at, "health_holdings", shown.index(rep))
    assert title(at) == translate("Opportunity board", "zh")
    assert set(at.dataframe[0].value[translate("Owner", "zh")]) == {"Rep C1"}


def test_rows_stay_plain_where_the_reader_may_not_open_the_record(company):
    """Marketing reads the dashboards but not opportunities: its rows open nothing."""
    at = open_page("mkt", PERFORMANCE, **MARCH)
    assert "perf_reps_shown" not in at.session_state
    assert "perf_units_shown" in at.session_state  # the funnel is theirs
    at = open_page("mkt", FUNNEL, **MARCH)
    at.selectbox(key="funnel_stage_zh").select(translate(NC_("stage", "Won"), "zh")).run()
    assert len(ok(at).dataframe[-1].value) == 1
    assert "funnel_list_shown" not in at.session_state
    assert translate("Click a row to open the opportunity.", "zh") not in [
        c.value for c in at.caption
    ]


@pytest.fixture
def held(app_env, db):
    """rep_a1 holds two opportunities (contacted), rep_a2 one."""
    first = add_owned_opportunity(db, app_env, "rep_a1", 1)
    second = add_owned_opportunity(db, app_env, "rep_a1", 2)
    other = add_owned_opportunity(db, app_env, "rep_a2", 3)
    db.commit()
    return first, second, other


def test_the_workbench_pipeline_and_backlog_open_the_board(app_env, held):
    at = ok(login("bj_manager"))
    rep = app_env.users["rep_a2"].id
    at = click(at, "bench_team", at.session_state["bench_team_shown"].index(rep))
    assert title(at) == translate("Opportunity board", "zh")
    assert board_leads(at) == ["Lead 3"]

    rep_view = ok(login("rep_a1"))
    assert rep_view.session_state["bench_pipeline_shown"] == ["contacted"]
    rep_view = click(rep_view, "bench_pipeline", 0)
    assert title(rep_view) == translate("Opportunity board", "zh")
    assert rep_view.session_state["board_f_stage"] == "contacted"
    assert board_leads(rep_view) == ["Lead 1", "Lead 2"]


def test_a_stage_on_home_opens_the_board_on_it(app_env, held, db):
    at = ok(login("bj_manager"))
    at.switch_page(HOME).run()
    assert ok(at).session_state["home_stage_shown"] == ["contacted"]
    at = click(at, "home_stage", 0)
    assert title(at) == translate("Opportunity board", "zh")
    assert board_leads(at) == ["Lead 1", "Lead 2", "Lead 3"]


def test_the_lead_cards_rows_open_their_opportunity(app_env, held):
    first = held[0]
    at = ok(login("rep_a1"))
    at.switch_page(LIBRARY).run()
    at.selectbox(key="leads_open").set_value(first.lead_id).run()
    assert ok(at).session_state["lead_card__opportunities_shown"] == [first.id]
    at = click(at, "lead_card__opportunities", 0)
    assert title(at).startswith(f"#{first.id} ")
    assert at.query_params["id"] == str(first.id)


def test_a_bad_owner_in_the_boards_link_is_said_and_dropped(app_env, held):
    at = ok(login("bj_manager"))
    at.query_params["owner"] = "12x"
    at.switch_page(BOARD).run()
    assert ok(at).error  # the link's number is refused
    assert at.session_state["board_view"] == "board"


def test_home_due_rows_open_their_opportunity(app_env, db):
    """A recycle rule will take rep_b1's two opportunities back: each due row opens one."""
    add_waiting_opportunities(db, app_env, 2)
    team_b_rule(db, app_env)
    dispatch_unassigned(db, SYSTEM)
    save_rule(
        db,
        app_env.actor(db, "bj_manager"),
        "recycle",
        RuleDraft(
            name="Idle three days",
            org_unit_id=app_env.units["beijing"].id,
            conditions={"trigger": "no_follow_up", "after": 3},
            action={"warn_days": 2},
        ),
    )
    db.commit()
    clock.advance(timedelta(days=1, hours=1))
    at = ok(login("rep_b1"))
    at.switch_page(HOME).run()
    due = ok(at).session_state["home_due_shown"]
    assert len(due) == 2
    at = click(at, "home_due", 1)
    assert title(at).startswith(f"#{due[1]} ")


def test_a_customer_opens_the_card_of_their_linked_lead(app_env, db):
    from tests.test_customers import GOOD, apply_customer_import, csv_bytes, preview

    lead = add_owned_opportunity(db, app_env, "rep_a1", 12345678).lead_id  # U1's phone
    admin = app_env.actor(db, "admin")
    apply_customer_import(db, admin, preview(db, admin, csv_bytes(GOOD)), "good_rows")
    db.commit()
    at = ok(login("admin"))
    at.switch_page("pages/workspace/customers.py").run()
    shown = ok(at).session_state["customers_rows_shown"]
    assert lead in shown and None in shown  # U2 has no lead
    at = click(at, "customers_rows", shown.index(lead))
    assert title(at) == translate("Lead library", "zh")
    assert at.session_state["leads_open"] == lead
    assert any(f"#{lead}" in h.value for h in at.subheader)
    assert "lead" not in at.query_params
