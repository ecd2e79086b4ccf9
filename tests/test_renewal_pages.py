"""Renewals and study activity through the real app (AppTest): the rule editor's renewal
tab saves, refuses and dry-runs renewal rules and runs the renewals job; the study
activity import page checks a file, refuses all-or-nothing and imports the good rows with
phones masked; the opportunity detail helpers open a renewal and show the talking points."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import LearningActivity, Opportunity, RenewalRule, RuleVersion
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity
from tests.test_learning import NOW, apply_learning_import
from tests.test_learning import preview as learning_preview
from tests.test_renewals import COURSE_DAYS, START, won

RULES = "pages/circulation/rules.py"
IMPORT = "pages/leads/learning_import.py"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def open_page(username: str, page: str) -> AppTest:
    at = login(username)
    return ok(at.switch_page(page).run())


def field(at: AppTest, name: str) -> str:
    return f"rules_renewal_{name}_{at.session_state['rules_renewal_gen']}"


def count(db, model, *where) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


def frame_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture
def course_ending(app_env, db):
    """A win of rep_a1 whose course ends in ten days (the clock is moved there)."""
    clock.freeze(START)
    opp = won(db, app_env)
    clock.freeze(START + timedelta(days=COURSE_DAYS - 10))
    yield opp
    clock.reset()


# --- the rule editor's renewal tab -------------------------------------------------------


def test_a_manager_saves_a_renewal_rule_after_a_refusal(app_env, db):
    at = open_page("bj_manager", RULES)
    assert translate("Renewal", "zh") in [tab.label for tab in at.tabs]
    at.text_input(key=field(at, "name")).input("Renew a month ahead")
    at.number_input(key=field(at, "days_before")).set_value(0)
    ok(at.button(key="rules_renewal_save").click().run())
    assert any("课程结束前天数:不能小于 1" in e.value for e in at.error)
    assert count(db, RenewalRule) == 0

    at.number_input(key=field(at, "days_before")).set_value(30)
    at.selectbox(key=field(at, "assign_to")).set_value("dispatch")
    ok(at.button(key="rules_renewal_save").click().run())
    assert any("规则“Renew a month ahead”已保存(版本 1)" in s.value for s in at.success)
    rule = db.exec(select(RenewalRule)).one()
    assert (rule.conditions, rule.action, rule.org_unit_id) == (
        {"days_before": 30},
        {"assign_to": "dispatch"},
        app_env.units["beijing"].id,
    )
    assert count(db, RuleVersion, RuleVersion.rule_kind == "renewal") == 1
    assert "Renew a month ahead" in list(
        frame_with(at, translate(NC_("org", "Name"), "zh"))[translate(NC_("org", "Name"), "zh")]
    )


def test_a_dry_run_of_a_renewal_draft_and_the_run_now_button(app_env, db, course_ending):
    at = open_page("bj_manager", RULES)
    at.text_input(key=field(at, "name")).input("Try renewals")
    ok(at.button(key="rules_renewal_dry").click().run())
    metrics = {m.label: m.value for m in at.metric}
    assert (
        metrics[translate("Renewal opened", "zh")],
        metrics[translate("To the owner", "zh")],
        metrics[translate("To dispatch", "zh")],
    ) == ("1", "1", "0")
    assert "Try renewals (本草稿)" in list(
        frame_with(at, translate("Renewal opened", "zh"))[translate("Rule", "zh")]
    )
    assert count(db, Opportunity, Opportunity.pipeline_type == "renewal") == 0
    assert count(db, RenewalRule) == 0

    save_rule(
        db,
        app_env.actor(db, "bj_manager"),
        "renewal",
        RuleDraft(name="Renew", org_unit_id=app_env.units["beijing"].id),
    )
    db.commit()
    at = open_page("bj_manager", RULES)
    ok(at.button(key="rules_run_renewals").click().run())
    assert any(s.value.startswith("续费完成") and "开启续费 1" in s.value for s in at.success)
    assert (
        count(
            db,
            Opportunity,
            Opportunity.pipeline_type == "renewal",
            Opportunity.renewal_of_id == course_ending.id,
        )
        == 1
    )
    assert translate("Renewal", "zh") in list(
        frame_with(at, translate("Started by", "zh"))[translate("Job", "zh")]
    )


# --- the study activity import page ------------------------------------------------------

HEADER_ZH = "手机号,学员ID,课程名称,学习进度,最近学习日期\n"


def test_marketing_imports_study_activity_through_the_page(app_env, db):
    clock.freeze(NOW)
    lead_id = add_owned_opportunity(db, app_env, "rep_a1", 1).lead_id
    body = HEADER_ZH + "13800000001,,考研数学,80%,2026-11-29\n13800000099,,考研英语,30,2026-11-20\n"
    at = open_page("admin", IMPORT)
    assert at.title[0].value == translate("Study activity import", "zh")
    at.file_uploader[0].upload("学习.csv", body.encode("gb18030"), "text/csv")
    ok(at.run())
    boxes = {s.key: s.value for s in at.selectbox if (s.key or "").startswith("learning_map_")}
    assert sorted(v for v in boxes.values() if v) == sorted(HEADER_ZH.strip().split(","))
    metrics = {m.label: m.value for m in at.metric}
    assert (
        metrics[translate("Add product", "zh")],
        metrics[translate(NC_("learning.category", "Rejected"), "zh")],
    ) == ("1", "1")
    bad = frame_with(at, translate("Reason", "zh"))
    assert list(bad[translate("Row", "zh")]) == [3]
    assert list(bad[translate("Reason", "zh")]) == [
        "没有手机号为 +8613800000099 的名片。"
    ]  # admin sees numbers

    at.radio(key="learning_mode").set_value("all_or_nothing")
    ok(at.button(key="learning_import").click().run())
    assert any("未导入任何数据" in w.value for w in at.warning)
    assert count(db, LearningActivity) == 0

    at.radio(key="learning_mode").set_value("good_rows")
    ok(at.button(key="learning_import").click().run())
    assert any("已导入:新增 1" in s.value for s in at.success)
    stored = db.exec(select(LearningActivity)).one()
    assert (stored.lead_id, stored.course, stored.progress_pct) == (lead_id, "考研数学", 80)
    assert at.file_uploader[0].value is None  # a fresh uploader after importing


def test_a_marketing_reader_sees_masked_phones_and_a_rep_cannot_open_the_page(app_env, db):
    create_user(
        db,
        SYSTEM,
        username="mkt",
        full_name="Mkt",
        employee_no="E0100",
        password=PASSWORD,
        org_unit_id=app_env.units["hq"].id,
        role_codes=["marketing"],
    )
    db.commit()
    at = open_page("mkt", IMPORT)
    at.file_uploader[0].upload(
        "study.csv", (HEADER_ZH + "13800000099,,Math,30,\n").encode(), "text/csv"
    )
    ok(at.run())
    assert list(frame_with(at, translate("Reason", "zh"))[translate("Reason", "zh")]) == [
        "没有手机号为 1****0099 的名片。"
    ]
    assert_page_refused(signed_in("rep_a1"), IMPORT)


# --- the helpers of the opportunity detail view ------------------------------------------


def _detail_script() -> None:
    import streamlit as st
    from sqlmodel import Session

    from crm_core.models import Opportunity
    from crm_core.org.access import load_actor
    from ui.db import engine
    from ui.renewals import show_learning, show_renewal_action

    with Session(engine()) as s:
        me = load_actor(s, st.session_state["detail_user"])
        opportunity = s.get(Opportunity, st.session_state["detail_opportunity"])
    show_renewal_action(me, opportunity)
    show_learning(me, opportunity.lead_id)


def detail(db, company, username: str, opportunity_id: int) -> AppTest:
    at = AppTest.from_function(_detail_script, default_timeout=30)
    at.session_state["detail_user"] = company.users[username].id
    at.session_state["detail_opportunity"] = opportunity_id
    return ok(at.run())


def test_the_detail_helpers_open_the_renewal_and_show_the_talking_points(
    app_env, db, course_ending
):
    at = detail(db, app_env, "rep_a1", course_ending.id)
    assert any(
        translate("No study activity has been imported for this lead.", "zh") in c.value
        for c in at.caption
    )
    ok(at.button(key=f"renewal_open_{course_ending.id}").click().run())
    renewal = db.exec(
        select(Opportunity).where(Opportunity.renewal_of_id == course_ending.id)
    ).one()
    assert renewal.owner_id == app_env.users["rep_a1"].id
    assert any(f"续费商机 #{renewal.id} 已开启" in s.value for s in at.success)
    captions = [c.value for c in at.caption]
    # Opened 02:00 UTC: shown in company time (Asia/Shanghai).
    assert f"续费商机 #{renewal.id}:新商机,私海,开启于 2026-05-21 10:00。" in captions
    assert not [b for b in at.button if b.key == f"renewal_open_{course_ending.id}"]

    admin = app_env.actor(db, "admin")
    text = "13800000001,,Math,85,2026-05-02\n"  # the clock says 2026-05-21
    apply_learning_import(db, admin, learning_preview(db, app_env, text, user="admin"), "good_rows")
    at = detail(db, app_env, "rep_a1", course_ending.id)
    [bar] = at.get("progress")
    assert bar.value == 85
    assert any(
        "最近学习于 2026-05-02,19 天前。" in c.value
        and translate("Nearly finished: a good moment to talk about the next course.", "zh")
        in c.value
        for c in at.caption
    )
