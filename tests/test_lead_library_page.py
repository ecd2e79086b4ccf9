"""The lead library page: search within scope with masked phones, open a card, reveal a
number (logged), enter a lead by hand, edit, tag and export the search, merge."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.models import AuditLog, Lead, LeadTag, Opportunity, User
from crm_core.org.access import load_actor
from crm_core.platform.i18n import translate
from crm_core.platform.metadata import create_option
from tests.apptest import login
from tests.factories import add_owned_opportunity

PAGE = "pages/leads/library.py"


@pytest.fixture
def leads(app_env, db):
    """rep_a1 owns leads 1 and 2, rep_b1 owns lead 3 (phones +86138000000NN)."""
    return [
        add_owned_opportunity(db, app_env, owner, tail)
        for owner, tail in (("rep_a1", 1), ("rep_a1", 2), ("rep_b1", 3))
    ]


def library(username: str) -> AppTest:
    at = login(username)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def results(at: AppTest):
    return next(d.value for d in at.dataframe if "#" in d.value.columns)


def search(at: AppTest, text: str) -> AppTest:
    at.text_input(key="leads_q_text").input(text)
    at.button(key="FormSubmitter:leads_search-搜索").click().run()
    assert not at.exception, at.exception
    return at


def test_a_rep_finds_only_their_leads_with_masked_phones(leads):
    at = library("rep_a1")
    table = results(at)
    assert sorted(table["#"]) == sorted([leads[0].lead_id, leads[1].lead_id])
    assert set(table[translate("Phone", "zh")]) == {"1****0001", "1****0002"}
    assert any("找到 2 张名片" in c.value for c in at.caption)
    search(at, "0003")  # rep_b1's lead, by its last four digits
    assert any(translate("No lead matches this search.", "zh") in i.value for i in at.info)
    search(at, "0002")
    assert list(results(at)["#"]) == [leads[1].lead_id]


def test_opening_a_card_and_revealing_the_number_is_logged(leads, db):
    at = library("rep_a1")
    at.selectbox(key="leads_open").set_value(leads[0].lead_id).run()
    assert not at.exception, at.exception
    # Markdown source: the card escapes what it shows, so the stars are literal.
    assert any(r"1\*\*\*\*0001" in m.value for m in at.markdown)
    at.button(key=f"leads_reveal_{leads[0].lead_id}").click().run()
    assert not at.exception, at.exception
    assert any("+8613800000001" in i.value for i in at.info)
    db.expire_all()
    entry = db.exec(select(AuditLog).where(AuditLog.action == "phone.unmask")).one()
    assert entry.target_id == str(leads[0].lead_id)


def test_a_rep_enters_a_lead_and_keeps_it(leads, db):
    at = library("rep_a1")
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["姓名 *"].input("新客户")
    form_inputs[translate("Phone", "zh")].input("139 1234 5678")
    at.multiselect[0].select("kaoyan")
    at.button(key="FormSubmitter:leads_new-保存名片").click().run()
    assert not at.exception, at.exception
    assert any(translate("Lead saved.", "zh") in s.value for s in at.success)
    assert "新客户" in list(results(at)[translate("Name", "zh")])
    db.expire_all()
    lead = db.exec(select(Lead).where(Lead.name == "新客户")).one()
    opp = db.exec(select(Opportunity).where(Opportunity.lead_id == lead.id)).one()
    assert (lead.phone, opp.owner_id, opp.pool_state) == (
        "+8613912345678",
        app_env_user_id(db, "rep_a1"),
        "owned",
    )


def test_a_lead_entered_for_dispatch_goes_to_the_rules_rep_at_once(leads, db):
    from crm_core.circulation.rules import RuleDraft, save_rule

    admin = app_env_actor(db, "admin")
    team_a = db.exec(select(User.org_unit_id).where(User.username == "rep_a1")).one()
    save_rule(
        db,
        admin,
        "dispatch",
        RuleDraft(
            name="All to Team A", priority=1, conditions={}, action={"target_unit_id": team_a}
        ),
    )
    db.commit()
    at = library("bj_manager")  # a manager enters it for the floor
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["姓名 *"].input("来电客户")
    form_inputs[translate("Phone", "zh")].input("139 8765 4321")
    at.multiselect[0].select("kaoyan")
    keep = translate("Keep this lead for myself", "zh")
    next(c for c in at.checkbox if c.label == keep).uncheck()
    at.button(key="FormSubmitter:leads_new-保存名片").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    lead = db.exec(select(Lead).where(Lead.name == "来电客户")).one()
    opp = db.exec(select(Opportunity).where(Opportunity.lead_id == lead.id)).one()
    assert opp.pool_state == "owned"
    assert db.get(User, opp.owner_id).org_unit_id == team_a


def app_env_actor(db, username: str):
    return load_actor(db, app_env_user_id(db, username))


def app_env_user_id(db, username: str) -> int:
    return db.exec(select(User.id).where(User.username == username)).one()


def test_a_manager_tags_the_whole_search_and_exports_it(leads, db):
    # The tag catalogue offers the tag; a manager without metadata rights cannot type one.
    create_option(
        db, app_env_actor(db, "admin"), "tag", label_en="Spring call-back", label_zh="春季回访"
    )
    db.commit()
    at = library("bj_manager")  # Beijing: Team A and Team B
    assert len(results(at)) == 3
    search(at, "0001")
    assert not any(w.key == "leads_bulk_tag_text" for w in at.text_input)
    at.selectbox(key="leads_bulk_tag_pick").set_value("Spring call-back")
    at.checkbox(key="leads_bulk_sure").check()
    at.button(key="FormSubmitter:leads_bulk_tag-添加标签").click().run()
    assert not at.exception, at.exception
    assert any("已为 1 张名片添加标签 春季回访" in s.value for s in at.success)
    db.expire_all()
    assert db.exec(select(LeadTag.lead_id, LeadTag.tag)).all() == [
        (leads[0].lead_id, "Spring call-back")
    ]
    at.button(key="leads_export_go").click().run()
    assert not at.exception, at.exception
    download = at.get("download_button")[0]
    assert "1" in download.proto.label
    assert (
        db.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "lead.export")
        ).one()
        == 1
    )


def test_a_manager_merges_two_leads(leads, db):
    keep, gone = leads[0].lead_id, leads[1].lead_id
    at = library("bj_manager")
    at.selectbox(key="leads_open").set_value(keep).run()
    at.number_input(key=f"leads_merge_other_{keep}").set_value(gone)
    at.checkbox(key=f"leads_merge_sure_{keep}").check()
    at.button(key=f"FormSubmitter:leads_merge_{keep}-合并").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.get(Lead, gone).merged_into_id == keep
    assert len(results(at)) == 2


def test_a_mistyped_phone_is_shown_as_typed_to_whoever_typed_it(leads, db):
    """The core's error masks the number (errors reach logs); the form that sent it shows
    the reader their own typing, so the slip can be seen."""
    lead_id = leads[0].lead_id
    at = library("rep_a1")
    at.selectbox(key="leads_open").set_value(lead_id).run()
    at.text_input(key=f"leads_edit_phone_{lead_id}").input("138123456789")
    at.button(key=f"FormSubmitter:leads_edit_{lead_id}-{translate('Save changes', 'zh')}").click()
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    expected = translate("{phone} is not a valid phone number.", "zh").format(phone="138123456789")
    assert expected in errors
    assert db.get(Lead, lead_id).phone == "+8613800000001"


def test_checked_rows_narrow_the_tagging_and_the_export(leads, db):
    """Rows checked on the page: the tagging and the export take those leads only."""
    create_option(
        db, app_env_actor(db, "admin"), "tag", label_en="Spring call-back", label_zh="春季回访"
    )
    db.commit()
    at = library("bj_manager")
    assert len(results(at)) == 3
    at.session_state["leads_pick"] = [leads[1].lead_id]
    at.run()
    assert any(e.label == translate("Tag the checked leads", "zh") for e in at.expander)
    at.selectbox(key="leads_bulk_tag_pick").set_value("Spring call-back")
    at.checkbox(key="leads_bulk_sure").check()
    at.button(key="FormSubmitter:leads_bulk_tag-添加标签").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(LeadTag.lead_id)).all() == [leads[1].lead_id]
    at.session_state["leads_pick"] = [leads[0].lead_id, leads[2].lead_id]
    at.run()
    at.button(key="leads_export_go").click().run()
    assert not at.exception, at.exception
    assert "2" in at.get("download_button")[0].proto.label
