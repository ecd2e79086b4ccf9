"""The SMS pages, in both languages: a marketing manager writes and submits a template, an
administrator approves it and sets the provider (the secret never shown again); a manager
previews and sends to a library search; a rep sends from a lead's card and records an opt-out;
the send log shows masked numbers; a rep cannot open the SMS page."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import AuditLog, Setting, SmsMessage, SmsOptOut, SmsTemplate, User
from crm_core.platform.i18n import translate
from crm_core.sms.sending import send_sms
from crm_core.sms.templates import approve_template, create_template, submit_template
from tests.apptest import assert_page_refused, signed_in
from tests.factories import SYSTEM, add_owned_opportunity

PAGE = "pages/leads/sms.py"
LIBRARY = "pages/leads/library.py"


def speaks(db, username: str, lang: str) -> None:
    user = db.exec(select(User).where(User.username == username)).one()
    user.language = lang
    db.add(user)
    db.commit()


def submit(at, form: str):
    button = next(b for b in at.button if b.key.startswith(f"FormSubmitter:{form}"))
    return button.click().run()


def open_tab(at, label: str) -> None:
    at.session_state["sms_tabs"] = label
    at.run()
    assert not at.exception, at.exception


def approved(db, name: str = "Welcome", body: str = "Hi {name}, this is {rep}.") -> int:
    template = create_template(db, SYSTEM, name=name, body=body)
    submit_template(db, SYSTEM, template.id)
    approve_template(db, SYSTEM, template.id)
    db.commit()
    return template.id


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_template_is_written_submitted_and_approved_on_the_page(app_env, db, lang):
    speaks(db, "admin", lang)
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("SMS", lang)
    open_tab(at, translate("Templates", lang))
    at.text_input(key="sms_tpl_new_name").input("Trial reminder")
    at.text_area(key="sms_tpl_new_body").input("{name}，您的试听课在 {trial_time}。")
    submit(at, "sms_tpl_new")
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [translate("Template saved as a draft.", lang)]
    # A template that cannot work is refused with the reason, nothing stored.
    at.text_input(key="sms_tpl_new_name").input("Bad")
    at.text_area(key="sms_tpl_new_body").input("Hi {nmae}")
    submit(at, "sms_tpl_new")
    assert at.error and "{nmae}" in at.error[0].value
    assert db.exec(select(SmsTemplate).where(SmsTemplate.name == "Bad")).first() is None
    at.button(key="sms_tpl_submit").click().run()
    assert [s.value for s in at.success] == [translate("Template submitted for approval.", lang)]
    at.button(key="sms_tpl_approve").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(SmsTemplate.state)).all() == ["approved"]


def test_the_provider_secret_is_stored_encrypted_and_not_shown(app_env, db):
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    open_tab(at, translate("Provider and settings", "zh"))
    form_inputs = [
        i
        for i in at.text_input
        if i.label
        == translate("Secret (stored encrypted; leave empty to keep the stored one)", "zh")
    ]
    assert form_inputs
    at.selectbox[0].set_value("http")
    at.text_input[0].input("https://sms.example.com/api")
    form_inputs[0].input("top-secret-value")
    submit(at, "sms_provider")
    assert not at.exception, at.exception
    db.expire_all()
    assert "top-secret-value" not in str(db.get(Setting, "sms.provider").value)
    at.run()
    assert all("top-secret-value" not in (i.value or "") for i in at.text_input)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_previews_and_sends_to_a_library_search(app_env, db, lang):
    for tail, owner in enumerate(("rep_a1", "rep_b1", "rep_c1"), start=1):
        add_owned_opportunity(db, app_env, owner, tail)
    template = approved(db)
    speaks(db, "bj_manager", lang)
    at = signed_in("bj_manager")
    at.switch_page(LIBRARY).run()
    assert not at.exception, at.exception
    at.button(key="leads_sms_preview_button").click().run()
    assert not at.exception, at.exception
    assert at.text and all("****" in t.value for t in at.text)  # the samples: numbers masked
    send = next(b for b in at.button if b.key == "leads_sms_send")
    send.click().run()
    assert not at.exception, at.exception
    db.expire_all()
    sent = db.exec(select(SmsMessage)).all()
    assert sent and {m.template_id for m in sent} == {template}
    # Beijing's manager reaches Team A and B, not Shanghai's lead.
    assert len(sent) == 2
    assert db.exec(select(AuditLog).where(AuditLog.action == "sms.send")).one()
    # The send log on the SMS page shows them, numbers masked.
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert len(frame) == len(sent)
    assert all("****" in phone for phone in frame[translate("Phone", lang)])


def test_a_rep_sends_from_a_card_and_records_an_opt_out(app_env, db):
    add_owned_opportunity(db, app_env, "rep_a1", 1)
    template = approved(db)
    at = signed_in("rep_a1")
    assert_page_refused(at, PAGE)
    rep = db.exec(select(User).where(User.username == "rep_a1")).one()
    from crm_core.models import Opportunity  # noqa: PLC0415

    lead_id = db.exec(select(Opportunity.lead_id).where(Opportunity.owner_id == rep.id)).first()
    at = signed_in("rep_a1")
    at.switch_page(LIBRARY).run()
    at.session_state["leads_open"] = lead_id
    at.run()
    assert not at.exception, at.exception
    at.button(key=f"card_sms_{lead_id}_preview_button").click().run()
    at.button(key=f"card_sms_{lead_id}_send").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert [m.lead_id for m in db.exec(select(SmsMessage)).all()] == [lead_id]
    at.button(key=f"sms_opt_out_{lead_id}").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.get(SmsOptOut, lead_id) is not None
    # Sending again now leaves the lead out.
    from crm_core.org.access import load_actor  # noqa: PLC0415
    from crm_core.platform.errors import ValidationError  # noqa: PLC0415

    with pytest.raises(ValidationError):
        send_sms(db, load_actor(db, rep.id), template, lead_id=lead_id)
