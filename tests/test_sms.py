"""The SMS platform: templates and their approval, the sensitive-word list, sends to one lead
and to a search (preview, exclusions, cost, masking, scope), delivery through a provider
(a fake one on 127.0.0.1: accepting, refusing, slow, down), delivery reports and replies,
and the trial reminder the day before."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.search import LeadFilter
from crm_core.models import AuditLog, Setting, SmsMessage
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.settings import set_setting
from crm_core.sales.trials import book_trial
from crm_core.sms.delivery import deliver_queued, record_replies, record_reports
from crm_core.sms.provider_config import (
    active_provider,
    provider_config,
    provider_secret,
    save_provider_config,
)
from crm_core.sms.reminders import queue_trial_reminders
from crm_core.sms.sending import is_opted_out, opt_in, opt_out, preview_send, send_sms
from crm_core.sms.templates import (
    approve_template,
    create_template,
    list_templates,
    reject_template,
    retire_template,
    submit_template,
    update_template,
)
from crm_core.sms.texts import segments
from crm_core.sms.words import add_words, list_words, remove_word
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company
from tests.fake_sms import FakeSmsProvider

SECRET = "s3cret-shared"


@pytest.fixture
def company(db):
    """Leads 1..4 owned by rep_a1, rep_a2 (Team A), rep_b1 (Team B), rep_c1 (Team C); a
    marketing user; an approved notice template "hello"."""
    clock.freeze(datetime(2026, 3, 2, 2, 0))  # 10:00 in Shanghai
    company = build_small_company(db)
    from crm_core.org.users import create_user  # noqa: PLC0415

    company.users["mkt"] = create_user(
        db,
        SYSTEM,
        username="mkt",
        full_name="Mei Market",
        employee_no="E0100",
        password="secret123",
        org_unit_id=company.units["hq"].id,
        role_codes=["marketing"],
    )
    company.opps = {
        owner: add_owned_opportunity(db, company, owner, tail)
        for tail, owner in enumerate(("rep_a1", "rep_a2", "rep_b1", "rep_c1"), start=1)
    }
    mkt, admin = company.actor(db, "mkt"), company.actor(db, "admin")
    template = create_template(db, mkt, name="hello", body="Hi {name}, this is {rep}.")
    submit_template(db, mkt, template.id)
    approve_template(db, admin, template.id)
    company.template = template.id
    db.commit()
    yield company
    clock.reset()


def _approved(db, company, body: str, name: str, purpose: str = "notice") -> int:
    mkt, admin = company.actor(db, "mkt"), company.actor(db, "admin")
    template = create_template(db, mkt, name=name, body=body, purpose=purpose)
    submit_template(db, mkt, template.id)
    approve_template(db, admin, template.id)
    return template.id


# --- templates -------------------------------------------------------------------------


def test_a_template_is_sent_only_once_approved_by_someone_else(db, company):
    mkt, admin, rep = (company.actor(db, u) for u in ("mkt", "admin", "rep_a1"))
    draft = create_template(
        db, mkt, name="Promo", body="Spring offer for {name}", purpose="marketing"
    )
    lead = company.opps["rep_a1"].lead_id
    with pytest.raises(ValidationError) as refused:
        preview_send(db, rep, draft.id, lead_id=lead)
    assert "not approved" in refused.value.key
    submit_template(db, mkt, draft.id)
    with pytest.raises(ValidationError):
        update_template(db, mkt, draft.id, name="Promo", body="x", purpose="marketing")
    # The author cannot approve their own template, and a rep cannot approve at all.
    with pytest.raises(PermissionDenied):
        approve_template(db, rep, draft.id)
    with pytest.raises(ValidationError):
        reject_template(db, admin, draft.id, "  ")
    reject_template(db, admin, draft.id, "Say which offer")
    assert [t.review_note for t in list_templates(db, mkt) if t.id == draft.id] == [
        "Say which offer"
    ]
    update_template(
        db, mkt, draft.id, name="Promo", body="Spring offer -20% for {name}", purpose="marketing"
    )
    submit_template(db, mkt, draft.id)
    approve_template(db, admin, draft.id)
    assert preview_send(db, rep, draft.id, lead_id=lead).sendable == 1
    # A rep lists only approved templates.
    assert {t.state for t in list_templates(db, rep)} == {"approved"}
    # Editing an approved template sends it back to draft; retired ones are not sent.
    update_template(db, mkt, draft.id, name="Promo", body="Offer for {name}", purpose="marketing")
    assert [t.state for t in list_templates(db, mkt) if t.id == draft.id] == ["draft"]
    retire_template(db, mkt, company.template)
    with pytest.raises(ValidationError):
        preview_send(db, rep, company.template, lead_id=lead)
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_type == "sms_template")).all()
    assert {
        "sms_template.create",
        "sms_template.submit",
        "sms_template.reject",
        "sms_template.approve",
        "sms_template.update",
        "sms_template.retire",
    } <= set(actions)


def test_the_author_of_a_template_does_not_approve_it(db, company):
    # A marketing user who also holds the approval (e.g. by a second role).
    mkt = company.actor(db, "mkt")
    both = replace(mkt, permissions=mkt.permissions | {"approve_sms"})
    own = create_template(db, both, name="Own", body="Hello {name}")
    submit_template(db, both, own.id)
    with pytest.raises(PermissionDenied):
        approve_template(db, both, own.id)
    approve_template(db, company.actor(db, "admin"), own.id)


@pytest.mark.parametrize(
    "body",
    ["", "Hi {nmae}", "Hi {name", "x" * 501, "Hi {name.__class__}"],
)
def test_a_template_that_cannot_work_is_refused_with_the_reason(db, company, body):
    with pytest.raises(ValidationError):
        create_template(db, company.actor(db, "mkt"), name="Bad", body=body)


def test_sensitive_words_block_submitting_and_sending_and_are_named(db, company):
    mkt, admin, rep = (company.actor(db, u) for u in ("mkt", "admin", "rep_a1"))
    assert add_words(db, mkt, "加微信, 保过\n加微信") == ["加微信", "保过"]
    assert add_words(db, mkt, "保過, 保过") == [
        "保過"
    ]  # another character; the same one is kept once
    assert sorted(w.word for w in list_words(db, mkt)) == sorted(["保过", "保過", "加微信"])
    with pytest.raises(PermissionDenied):
        add_words(db, rep, "x")
    bad = create_template(db, mkt, name="Bad", body="{name}: 保过 guaranteed")
    with pytest.raises(ValidationError) as refused:
        submit_template(db, mkt, bad.id)
    assert refused.value.params["words"] == "保过"
    # A word hidden in a lead's name blocks that lead's message and is named on the preview.
    lead = company.opps["rep_a1"].lead_id
    from crm_core.models import Lead  # noqa: PLC0415

    row = db.get(Lead, lead)
    row.name = "王五 加微信"
    db.add(row)
    preview = preview_send(db, admin, company.template, lead_filter=LeadFilter())
    assert preview.excluded == {"sensitive": 1} and preview.blocked_words == ["加微信"]
    assert preview.sendable == 3
    # Words compare without case or width.
    add_words(db, mkt, "VIP")
    t2 = create_template(db, mkt, name="Vip", body="Ｖｉｐ offer for {name}")
    with pytest.raises(ValidationError):
        submit_template(db, mkt, t2.id)
    remove_word(db, mkt, next(w.id for w in list_words(db, mkt) if w.word == "VIP"))
    submit_template(db, mkt, t2.id)


# --- sending ---------------------------------------------------------------------------


def test_a_rep_sends_to_a_lead_in_reach_only(db, company):
    rep = company.actor(db, "rep_a1")
    mine, theirs = company.opps["rep_a1"].lead_id, company.opps["rep_b1"].lead_id
    preview = preview_send(db, rep, company.template, lead_id=mine)
    assert preview.sendable == 1 and preview.segments == 1
    phone, text = preview.samples[0]
    assert "****" in phone and text == "Hi Lead 1, this is Rep A1."
    with pytest.raises(NotFound):
        preview_send(db, rep, company.template, lead_id=theirs)
    with pytest.raises(PermissionDenied):  # a rep does not send to a whole search
        preview_send(db, rep, company.template, lead_filter=LeadFilter())
    result = send_sms(db, rep, company.template, lead_id=mine, expected=1)
    assert result.queued == 1
    message = db.exec(select(SmsMessage)).one()
    assert (message.status, message.phone, message.sent_by_id) == (
        "queued",
        "+8613800000001",
        company.users["rep_a1"].id,
    )
    assert db.exec(select(AuditLog).where(AuditLog.action == "sms.send")).one()


def test_a_bulk_send_previews_exactly_what_it_queues(db, company):
    manager, admin = company.actor(db, "bj_manager"), company.actor(db, "admin")
    set_setting(db, admin, "sms.signature", "【Demo Edu】")
    set_setting(db, admin, "sms.price_per_segment", 0.05)
    set_setting(db, admin, "sms.per_lead_per_day", 1)
    intake_leads(
        db,
        admin,
        [
            LeadInput(
                name="No Phone", external_id="WEB-1", channel="sem", business_line_codes=["kaoyan"]
            )
        ],
        source="manual",
    )
    opt_out(db, company.actor(db, "rep_a2"), company.opps["rep_a2"].lead_id)
    # The Beijing manager reaches Team A and B: leads 1-3; lead 2 opted out.
    preview = preview_send(db, manager, company.template, lead_filter=LeadFilter())
    assert (preview.matched, preview.sendable) == (3, 2)
    assert preview.excluded == {"opted_out": 1}
    assert preview.cost == Decimal("0.1000") and preview.segments == 2
    assert preview.samples[0][1].startswith("【Demo Edu】Hi Lead ")
    with pytest.raises(ValidationError):  # the leads changed since the preview
        send_sms(db, manager, company.template, lead_filter=LeadFilter(), expected=3)
    result = send_sms(db, manager, company.template, lead_filter=LeadFilter(), expected=2)
    assert result.queued == 2
    # One message a day per lead: the same send again reaches nobody.
    again = preview_send(db, manager, company.template, lead_filter=LeadFilter())
    assert again.sendable == 0 and again.excluded == {"opted_out": 1, "daily_cap": 2}
    with pytest.raises(ValidationError):
        send_sms(db, manager, company.template, lead_filter=LeadFilter())
    # The admin reaches the lead without a phone: it is left out with that reason.
    assert (
        preview_send(db, admin, company.template, lead_filter=LeadFilter()).excluded["no_phone"]
        == 1
    )


def test_a_send_larger_than_the_limit_is_refused(db, company):
    admin = company.actor(db, "admin")
    set_setting(db, admin, "sms.max_per_send", 2)
    with pytest.raises(ValidationError) as refused:
        preview_send(db, admin, company.template, lead_filter=LeadFilter())
    assert refused.value.params == {"limit": 2}


def test_segments_follow_the_alphabet():
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("你" * 70) == 1 and segments("你" * 71) == 2 and segments("你" * 135) == 3


def test_opting_out_and_in(db, company):
    rep = company.actor(db, "rep_a1")
    lead = company.opps["rep_a1"].lead_id
    assert opt_out(db, rep, lead) and not opt_out(db, rep, lead)
    assert is_opted_out(db, rep, lead)
    assert preview_send(db, rep, company.template, lead_id=lead).excluded == {"opted_out": 1}
    assert opt_in(db, rep, lead) and not is_opted_out(db, rep, lead)
    with pytest.raises(NotFound):
        opt_out(db, rep, company.opps["rep_b1"].lead_id)


# --- delivery --------------------------------------------------------------------------


@pytest.fixture
def fake(db, company):
    provider = FakeSmsProvider(SECRET)
    url = provider.start()
    save_provider_config(
        db,
        company.actor(db, "admin"),
        kind="http",
        base_url=url,
        account="demo",
        secret=SECRET,
        timeout_seconds=1,
    )
    db.commit()
    yield provider
    provider.stop()


def _queue_all(db, company) -> None:
    send_sms(db, company.actor(db, "admin"), company.template, lead_filter=LeadFilter())
    db.commit()


def test_the_secret_is_stored_encrypted_and_never_shown(db, company, fake):
    admin = company.actor(db, "admin")
    stored = db.get(Setting, "sms.provider").value
    assert SECRET not in str(stored)
    config = provider_config(db, admin)
    assert config.has_secret and SECRET not in repr(config)
    assert provider_secret(db) == SECRET
    # Saving without a secret keeps the stored one.
    save_provider_config(db, admin, kind="http", base_url=config.base_url, account="x")
    assert provider_secret(db) == SECRET
    with pytest.raises(PermissionDenied):
        provider_config(db, company.actor(db, "mkt"))
    with pytest.raises(ValidationError):
        save_provider_config(db, admin, kind="http", base_url="ftp://x", secret="y")
    audit = db.exec(select(AuditLog).where(AuditLog.action == "sms.provider")).all()
    assert audit and all(SECRET not in str(a.after) for a in audit)


def test_delivery_through_the_provider_and_its_reports(db, company, fake):
    fake.refused_numbers = {"+8613800000003"}
    _queue_all(db, company)
    run = deliver_queued(db, SYSTEM)
    db.commit()
    assert (run.sent, run.failed, run.waiting) == (3, 1, 0)
    assert fake.bad_signatures == 0 and len(fake.received) == 4
    by_phone = {m.phone: m for m in db.exec(select(SmsMessage)).all()}
    assert by_phone["+8613800000003"].status == "failed"
    assert by_phone["+8613800000003"].error == "blacklisted"
    sent = by_phone["+8613800000001"]
    assert sent.status == "sent" and sent.provider_message_id == f"p-{sent.id}"
    result = record_reports(
        db,
        SYSTEM,
        [
            {"message_id": sent.provider_message_id, "status": "delivered"},
            {
                "message_id": by_phone["+8613800000002"].provider_message_id,
                "status": "FAILED",
                "error": "absent",
            },
            {"message_id": "p-unknown", "status": "delivered"},
            {"message_id": "", "status": "delivered"},
        ],
    )
    assert (result.settled, result.unknown, result.bad) == (2, ["p-unknown"], 1)
    again = record_reports(
        db, SYSTEM, [{"message_id": sent.provider_message_id, "status": "failed"}]
    )
    db.expire_all()
    assert again.repeated == 1 and db.get(SmsMessage, sent.id).status == "delivered"
    # Nothing is sent twice.
    assert deliver_queued(db, SYSTEM).sent == 0 and len(fake.received) == 4


def test_a_provider_down_or_slow_keeps_messages_queued(db, company, fake):
    _queue_all(db, company)
    fake.mode = "down"
    run = deliver_queued(db, SYSTEM)
    assert run.sent == 0 and run.waiting == 4 and run.error
    fake.mode, fake.delay = "slow", 2.5
    run = deliver_queued(db, SYSTEM)  # the timeout is one second
    assert run.sent == 0 and run.waiting == 4 and run.error
    fake.mode = "accept"
    assert deliver_queued(db, SYSTEM).sent == 4


def test_the_rate_limits_each_run(db, company, fake):
    set_setting(db, company.actor(db, "admin"), "sms.per_minute", 3)
    _queue_all(db, company)
    assert deliver_queued(db, SYSTEM).sent == 3
    assert deliver_queued(db, SYSTEM).sent == 1


def test_without_a_provider_messages_wait_and_the_demo_one_delivers(db, company):
    _queue_all(db, company)
    assert active_provider(db) is None
    assert deliver_queued(db, SYSTEM).waiting == 4
    save_provider_config(db, company.actor(db, "admin"), kind="demo")
    assert deliver_queued(db, SYSTEM).sent == 4
    assert {m.status for m in db.exec(select(SmsMessage)).all()} == {"delivered"}


def test_an_opt_out_reply_stops_further_messages(db, company):
    lead = company.opps["rep_a1"].lead_id
    assert (
        record_replies(
            db, SYSTEM, [{"from": "13800000001", "text": " 退订 "}, {"from": "x", "text": "hi"}]
        )
        == 1
    )
    assert record_replies(db, SYSTEM, [{"from": "+86 138 0000 0001", "text": "TD"}]) == 0
    rep = company.actor(db, "rep_a1")
    assert preview_send(db, rep, company.template, lead_id=lead).excluded == {"opted_out": 1}


# --- trial reminders -------------------------------------------------------------------


def test_a_trial_is_reminded_once_the_day_before_from_the_set_hour(db, company):
    admin, rep = company.actor(db, "admin"), company.actor(db, "rep_a1")
    reminder = _approved(db, company, "{name}, your trial is at {trial_time}.", "Reminder")
    set_setting(db, admin, "sms.reminder_template_id", reminder)
    set_setting(db, admin, "sms.reminder_hour", 18)
    # Tomorrow 19:30 in Shanghai (11:30 UTC); a trial the day after is not reminded yet.
    book_trial(db, rep, company.opps["rep_a1"].id, datetime(2026, 3, 3, 11, 30))
    book_trial(
        db, company.actor(db, "rep_a2"), company.opps["rep_a2"].id, datetime(2026, 3, 4, 11, 30)
    )
    db.commit()
    assert queue_trial_reminders(db, SYSTEM) == 0  # 10:00, before the hour
    clock.advance(timedelta(hours=8, minutes=5))  # 18:05
    assert queue_trial_reminders(db, SYSTEM) == 1
    assert queue_trial_reminders(db, SYSTEM) == 0  # once per trial
    message = db.exec(select(SmsMessage)).one()
    assert message.body == "Lead 1, your trial is at 2026-03-03 19:30."
    assert message.event_key.startswith("trial:") and message.sent_by_id is None


def test_no_reminder_without_an_approved_template(db, company):
    book_trial(
        db, company.actor(db, "rep_a1"), company.opps["rep_a1"].id, datetime(2026, 3, 3, 11, 30)
    )
    clock.advance(timedelta(hours=10))
    assert queue_trial_reminders(db, SYSTEM) == 0
    with pytest.raises(PermissionDenied):
        queue_trial_reminders(db, company.actor(db, "rep_a1"))
