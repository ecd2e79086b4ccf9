"""The console as people use it: what a walk through the pages found and what keeps it
fixed (codes shown by their labels, people's text shown as typed)."""

from __future__ import annotations

from crm_core.circulation.override import return_to_pool
from crm_core.platform.i18n import translate
from tests.factories import SYSTEM, add_waiting_opportunities
from tests.test_dashboard_pages import FUNNEL, open_page
from tests.test_dashboard_pages import company as company  # a fixture
from ui.text import md


def test_the_funnel_split_by_channel_names_channels_by_their_labels(company):
    at = open_page("boss", FUNNEL, start="2026-03-01", end="2026-03-31", split="channel")
    split = at.dataframe[1].value
    names = set(split[translate("Channel", "zh")])
    assert "信息流广告" in names  # the demo list's label of `feed`
    assert "feed" not in names


def test_a_landing_page_shows_without_backslashes():
    assert md("m.demo-edu.cn/kaoyan?from=sem") == "m.demo-edu.cn/kaoyan?from=sem"


def test_the_claim_message_shows_masked_numbers_as_typed(app_env, db):
    """`150****3424` inside the success message stays stars, never bold."""
    from tests.test_circulation_pages import POOL, check, ok
    from tests.test_circulation_pages import open_page as open_circulation_page

    ids = add_waiting_opportunities(db, app_env, 1)
    return_to_pool(db, SYSTEM, ids)
    db.commit()
    at = open_circulation_page("rep_a1", POOL)
    check(at, "pool_pick", ids)
    ok(at.button(key="pool_claim").click().run())
    message = at.success[0].value
    assert "\\*\\*\\*\\*" in message and "****" not in message.replace("\\*", "")


def test_checked_rows_go_back_to_the_pool_and_nothing_else(app_env, db):
    from crm_core.models import Opportunity
    from tests.apptest import login
    from tests.factories import add_owned_opportunity

    kept = add_owned_opportunity(db, app_env, "rep_a1", 1)
    returned = add_owned_opportunity(db, app_env, "rep_a1", 2)
    db.commit()
    at = login("bj_manager")
    at.switch_page("pages/sales/board.py").run()
    at.segmented_control(key="board_view").set_value("list").run()
    at.session_state["board_pick"] = [returned.id]
    at.run()
    at.button(key="board_return").click().run()
    assert not at.exception
    db.expire_all()
    assert db.get(Opportunity, returned.id).pool_state == "public"
    assert db.get(Opportunity, kept.id).pool_state == "owned"
    assert at.session_state["board_pick"] == []


def test_a_new_filter_never_keeps_rows_checked_out_of_sight(app_env, db):
    """Checked on one view, then the filter changes: the bulk actions reach nothing the
    reader no longer sees checked."""
    from tests.apptest import login
    from tests.factories import add_owned_opportunity

    mine = add_owned_opportunity(db, app_env, "rep_a1", 1)
    add_owned_opportunity(db, app_env, "rep_a2", 2)
    db.commit()
    at = login("bj_manager")
    at.switch_page("pages/sales/board.py").run()
    at.segmented_control(key="board_view").set_value("list").run()
    at.session_state["board_pick"] = [mine.id]
    at.run()
    assert at.session_state["board_pick"] == [mine.id]
    at.selectbox(key="board_f_owner").set_value(app_env.users["rep_a2"].id).run()
    assert not at.exception
    assert at.session_state["board_pick"] == []
    assert at.button(key="board_return").disabled


def test_the_funnel_list_writes_times_to_the_minute_in_company_time(company):
    from crm_core.platform.i18n import NC_

    at = open_page("boss", FUNNEL, start="2026-03-01", end="2026-03-31")
    at.selectbox(key="funnel_stage_zh").select(translate(NC_("stage", "Won"), "zh")).run()
    created = list(at.dataframe[-1].value[translate(NC_("dash.col", "Created"), "zh")])
    # Created 2 March 00:00 UTC: 08:00 in Shanghai, no seconds.
    assert created == ["2026-03-02 08:00"]
