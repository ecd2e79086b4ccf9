"""AppTest: e-mail, WeChat id and QQ number on the lead library, the card and the opportunity
page - masked for a rep, whole for an administrator, found by the whole value, shown whole
by a logged reveal, kept by an edit form sent back as shown; a QQ number entered by hand."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import AuditLog, Lead
from crm_core.platform.i18n import translate
from tests.apptest import login
from tests.factories import add_owned_opportunity

LIBRARY = "pages/leads/library.py"
DETAIL = "pages/sales/opportunity.py"
EMAIL, WECHAT, QQ = "zhang@example.com", "wxid_abc123xyz", "123456789"


@pytest.fixture
def opportunity(app_env, db):
    """rep_a1 owns one opportunity of a lead with every contact value."""
    opp = add_owned_opportunity(db, app_env, "rep_a1", 1)
    lead = db.get(Lead, opp.lead_id)
    lead.email, lead.wechat, lead.qq = EMAIL, WECHAT, QQ
    db.add(lead)
    db.commit()
    return opp


def library(username: str):
    at = login(username)
    at.switch_page(LIBRARY).run()
    assert not at.exception, at.exception
    return at


def results(at):
    return next(d.value for d in at.dataframe if "#" in d.value.columns)


def columns(at) -> tuple:
    table = results(at)
    return tuple(table[translate(c, "zh")].iloc[0] for c in ("Email", "WeChat", "QQ"))


def test_the_library_shows_a_rep_masked_values_and_finds_the_lead_by_them(opportunity):
    at = library("rep_a1")
    assert columns(at) == ("z***@example.com", "wxi****3xyz", "1****789")
    for text in (EMAIL, WECHAT, QQ):
        at.text_input(key="leads_q_text").input(text)
        at.button(key="FormSubmitter:leads_search-搜索").click().run()
        assert not at.exception, at.exception
        assert list(results(at)["#"]) == [opportunity.lead_id]
        assert columns(at) == ("z***@example.com", "wxi****3xyz", "1****789")


def test_an_administrator_sees_them_whole(opportunity):
    assert columns(library("admin")) == (EMAIL, WECHAT, QQ)


def test_a_rep_reveals_a_wechat_id_on_the_card_and_the_look_is_logged(opportunity, db):
    lead_id = opportunity.lead_id
    at = library("rep_a1")
    at.selectbox(key="leads_open").set_value(lead_id).run()
    text = " ".join(m.value for m in at.markdown)
    assert r"wxi\*\*\*\*3xyz" in text and WECHAT not in text
    at.button(key=f"leads_reveal_wechat_{lead_id}").click().run()
    assert not at.exception, at.exception
    # Markdown source: the value is escaped (`wxid\_abc123xyz`).
    assert any(WECHAT.replace("_", r"\_") in i.value for i in at.info)
    db.expire_all()
    entry = db.exec(select(AuditLog).where(AuditLog.action == "contact.unmask")).one()
    assert (entry.target_id, entry.after) == (str(lead_id), {"field": "wechat"})
    # The other values stay masked, each with its own button.
    assert {b.key for b in at.button} >= {
        f"leads_reveal_email_{lead_id}",
        f"leads_reveal_qq_{lead_id}",
    }


def test_the_edit_form_sent_back_as_shown_keeps_the_stored_values(opportunity, db):
    lead_id = opportunity.lead_id
    at = library("rep_a1")
    at.selectbox(key="leads_open").set_value(lead_id).run()
    assert at.text_input(key=f"leads_edit_email_{lead_id}").value == "z***@example.com"
    at.text_input(key=f"leads_edit_city_{lead_id}").input("Beijing")
    at.button(key=f"FormSubmitter:leads_edit_{lead_id}-{translate('Save changes', 'zh')}").click()
    at.run()
    assert not at.exception, at.exception
    db.expire_all()
    lead = db.get(Lead, lead_id)
    assert (lead.city, lead.email, lead.wechat, lead.qq) == ("Beijing", EMAIL, WECHAT, QQ)


def test_the_opportunity_page_masks_the_wechat_id_and_reveals_it_logged(opportunity, db):
    at = login("rep_a1")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(opportunity.id)
    at.run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert r"wxi\*\*\*\*3xyz" in text and WECHAT not in text
    at.button(key="opp_reveal_wechat").click().run()
    assert not at.exception, at.exception
    assert WECHAT.replace("_", r"\_") in " ".join(m.value for m in at.markdown)
    db.expire_all()
    entry = db.exec(select(AuditLog).where(AuditLog.action == "contact.unmask")).one()
    assert entry.after == {"field": "wechat"}


def test_a_rep_enters_a_lead_with_a_qq_number(app_env, db):
    at = library("rep_a1")
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["姓名 *"].input("QQ 客户")
    form_inputs[translate("QQ", "zh")].input(" 10001 ")
    form_inputs[translate("Email", "zh")].input("qq@example.com")
    at.multiselect[0].select("kaoyan")
    at.button(key="FormSubmitter:leads_new-保存名片").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    lead = db.exec(select(Lead).where(Lead.name == "QQ 客户")).one()
    assert (lead.qq, lead.email, lead.phone) == ("10001", "qq@example.com", None)
