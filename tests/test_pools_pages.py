"""The pools of item 8 through the real app (AppTest), in both languages: a manager returns
picked opportunities to another team's pool from the desk, and a pool outside the scope is
not offered."""

from __future__ import annotations

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.models import FlowEvent, Opportunity, User
from crm_core.platform.i18n import ntranslate, translate
from crm_core.platform.i18n.labels import NOTICE_PLURALS
from tests.apptest import signed_in
from tests.factories import add_owned_opportunity

DESK = "pages/circulation/desk.py"


def speaks(db, username: str, lang: str) -> None:
    user = db.exec(select(User).where(User.username == username)).one()
    user.language = lang
    db.add(user)
    db.commit()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_returns_to_another_team_pool_from_the_desk(app_env, db, lang):
    opp = add_owned_opportunity(db, app_env, "rep_a1", 1)
    speaks(db, "bj_manager", lang)
    at = signed_in("bj_manager")
    ok(at.switch_page(DESK).run())
    pool = at.selectbox(key="desk_pool")
    team_b = app_env.units["team_b"].id
    labels = list(pool.options)  # AppTest shows the labels
    assert labels == [translate("Their own unit", lang), "Beijing", "Team A", "Team B"]
    assert translate("The whole company", lang) not in labels  # Beijing's scope only
    assert not any("Team C" in label for label in labels)
    at.session_state["desk_pick"] = [opp.id]
    ok(at.run())
    ok(at.selectbox(key="desk_pool").set_value(team_b).run())
    ok(at.button(key="desk_return").click().run())
    db.expire_all()
    moved = db.get(Opportunity, opp.id)
    assert (moved.pool_state, moved.org_unit_id) == ("public", team_b)
    event = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opp.id)).one()
    assert event.reason == "return"


LEAD_IMPORT = "pages/leads/lead_import.py"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_lead_import_lands_its_new_opportunities_in_a_chosen_pool(app_env, db, lang):
    from tests.test_lead_import import csv_bytes

    speaks(db, "bj_manager", lang)
    at = signed_in("bj_manager")
    ok(at.switch_page(LEAD_IMPORT).run())
    header = ["Name", "Mobile", "Source", "Business line"]
    rows = [["王芳", "13800001111", "sem", "kaoyan"], ["李雷", "13800002222", "sem", "kaoyan"]]
    at.file_uploader[0].upload("leads.csv", csv_bytes(rows, header), "text/csv")
    ok(at.run())
    pool = at.selectbox(key="lead_import_pool")
    assert pool.options[0] == translate("Dispatch, as the rules say", lang)
    assert not any("Team C" in label for label in pool.options)
    team_b = app_env.units["team_b"].id
    ok(pool.set_value(team_b).run())
    ok(at.button(key="lead_import_import").click().run())
    db.expire_all()
    states = db.exec(select(Opportunity.pool_state, Opportunity.org_unit_id)).all()
    assert sorted(states) == [("public", team_b), ("public", team_b)]


RULES = "pages/circulation/rules.py"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_recycle_dry_run_shows_the_per_team_counts_against_the_threshold(app_env, db, lang):
    from datetime import timedelta

    from crm_core.platform import clock
    from crm_core.platform.settings import set_setting
    from tests.factories import SYSTEM

    set_setting(db, SYSTEM, "recycle.warn_over", 1)
    for tail in (1, 2):
        add_owned_opportunity(db, app_env, "rep_a1", tail)
    add_owned_opportunity(db, app_env, "rep_b1", 3)
    db.commit()
    speaks(db, "bj_manager", lang)
    clock.freeze(clock.now() + timedelta(days=10))
    try:
        at = signed_in("bj_manager")
        ok(at.switch_page(RULES).run())
        gen = at.session_state["rules_recycle_gen"]
        at.text_input(key=f"rules_recycle_name_{gen}").input("Idle")
        at.number_input(key=f"rules_recycle_after_{gen}").set_value(3)
        ok(at.button(key="rules_recycle_dry").click().run())
    finally:
        clock.reset()
    teams = next(d.value for d in at.dataframe if translate("Team", lang) in d.value.columns)
    assert list(teams[translate("Team", lang)]) == ["Team A", "Team B"]
    assert list(teams[translate("Over the threshold", lang)]) == [translate("Yes", lang), ""]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_lead_import_updates_stored_leads_listing_each_change(app_env, db, lang):
    from crm_core.models import Lead
    from tests.test_lead_import import csv_bytes

    opp = add_owned_opportunity(db, app_env, "rep_a1", 1)
    db.commit()
    speaks(db, "bj_manager", lang)
    at = signed_in("bj_manager")
    ok(at.switch_page(LEAD_IMPORT).run())
    header = ["Name", "Mobile", "Source", "Business line", "City"]
    rows = [["Lead One", "13800000001", "sem", "kaoyan", "北京"]]
    at.file_uploader[0].upload("leads.csv", csv_bytes(rows, header), "text/csv")
    ok(at.run())
    ok(at.selectbox(key="lead_import_update").set_value(True).run())
    changes = next(
        d.value for d in at.dataframe if translate("After the import", lang) in d.value.columns
    )
    assert list(changes[translate("After the import", lang)]) == ["Lead One", "北京"]
    assert list(changes[translate("Now", lang)]) == ["Lead 1", ""]
    go = at.button(key="lead_import_import")
    assert not go.disabled
    ok(go.click().run())
    db.expire_all()
    lead = db.get(Lead, opp.lead_id)
    assert (lead.name, lead.city) == ("Lead One", "北京")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_reads_the_big_recycle_notice_on_home(app_env, db, lang):
    from datetime import timedelta

    from crm_core.circulation.recycle_teams import warn_team_managers
    from crm_core.circulation.rules import RuleDraft, save_rule
    from crm_core.platform import clock
    from crm_core.platform.settings import set_setting
    from tests.factories import SYSTEM

    set_setting(db, SYSTEM, "recycle.warn_over", 1)
    save_rule(
        db,
        SYSTEM,
        "recycle",
        RuleDraft(
            name="Idle",
            priority=10,
            org_unit_id=app_env.units["hq"].id,
            conditions={"trigger": "no_follow_up", "after": 3},
            action={},
        ),
    )
    for tail in (1, 2):
        add_owned_opportunity(db, app_env, "rep_a1", tail)
    db.commit()
    clock.freeze(clock.now() + timedelta(days=2, hours=12))
    try:
        assert warn_team_managers(db, SYSTEM) == 2  # Team A's lead and Beijing's manager
        db.commit()
    finally:
        clock.reset()
    speaks(db, "lead_a", lang)
    at = signed_in("lead_a")
    ok(at.switch_page("pages/workspace/home.py").run())
    wanted = ntranslate(*NOTICE_PLURALS["recycle.team_warning"], 2, lang, unit="Team A", limit=1)
    assert any(wanted in i.value for i in at.info), [i.value for i in at.info]
