"""The providers' signed callbacks through the API: SMS delivery reports and opt-out
replies, and the call centre's call events (ring, answer, hang-up with a recording) that
become a follow-up call; a request not signed with the provider's secret is refused before
anything is read."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm_core.calls.providers import save_call_provider_config
from crm_core.calls.setup import save_line, save_seat
from crm_core.models import CallRecord, FollowUp, SmsMessage, SmsOptOut
from crm_core.platform.provider_http import sign
from crm_core.sms.provider_config import save_provider_config
from crm_core.sms.sending import send_sms
from crm_core.sms.templates import approve_template, create_template, submit_template
from tests.api_world import build_api_world
from tests.factories import SYSTEM, add_owned_opportunity

SMS_SECRET, CALL_SECRET = "sms-secret", "call-secret"


@pytest.fixture
def world(committed_db, engine):
    world = build_api_world(committed_db, engine)
    db = committed_db
    world.opp = add_owned_opportunity(db, world.company, "rep_a1", 1)
    save_provider_config(
        db, SYSTEM, kind="http", base_url="https://sms.example.com", secret=SMS_SECRET
    )
    save_call_provider_config(
        db, SYSTEM, kind="http", base_url="https://calls.example.com", secret=CALL_SECRET
    )
    line = save_line(db, SYSTEM, name="Beijing", caller_number="01055550100")
    save_seat(db, SYSTEM, seat_no="8001", user_id=world.company.users["rep_a1"].id, line_id=line.id)
    template = create_template(db, SYSTEM, name="Hello", body="Hi {name}")
    submit_template(db, SYSTEM, template.id)
    approve_template(db, SYSTEM, template.id)
    send_sms(db, SYSTEM, template.id, lead_id=world.opp.lead_id)
    message = db.exec(select(SmsMessage)).one()
    message.status, message.provider_message_id = "sent", "p-1"
    db.add(message)
    db.commit()
    return world


def signed(world, path: str, payload: dict, secret: str, **headers):
    body = json.dumps(payload).encode()
    return world.client.post(
        path,
        content=body,
        headers={"Content-Type": "application/json", "X-Signature": sign(secret, body), **headers},
    )


def test_an_unsigned_or_wrongly_signed_callback_is_refused(world, committed_db):
    payload = {"reports": [{"message_id": "p-1", "status": "delivered"}]}
    for secret in ("wrong", CALL_SECRET):
        answer = signed(world, "/v1/providers/sms/reports", payload, secret)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    answer = world.client.post("/v1/providers/calls/events", json={"events": []})
    assert answer.status_code == 401
    committed_db.expire_all()
    assert committed_db.exec(select(SmsMessage.status)).one() == "sent"


def test_sms_reports_and_replies(world, committed_db):
    answer = signed(
        world,
        "/v1/providers/sms/reports",
        {
            "reports": [
                {"message_id": "p-1", "status": "delivered"},
                {"message_id": "p-x", "status": "delivered"},
            ]
        },
        SMS_SECRET,
    )
    assert answer.status_code == 200
    assert answer.json()["settled"] == 1 and answer.json()["unknown"] == ["p-x"]
    answer = signed(
        world,
        "/v1/providers/sms/replies",
        {"replies": [{"from": "13800000001", "text": "退订"}]},
        SMS_SECRET,
    )
    assert answer.json() == {"opted_out": 1}
    committed_db.expire_all()
    assert committed_db.exec(select(SmsMessage.status)).one() == "delivered"
    assert committed_db.get(SmsOptOut, world.opp.lead_id) is not None
    bad = signed(
        world, "/v1/providers/sms/replies", {"nope": []}, SMS_SECRET, **{"Accept-Language": "zh"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "replies"


def test_a_call_rings_is_answered_and_hangs_up_through_the_callback(world, committed_db):
    events = [
        {
            "call_id": "c-9",
            "event": "ringing",
            "seat": "8001",
            "callee": "13800000001",
            "started_at": "2026-03-02T10:00:00+08:00",
        },
        {"call_id": "c-9", "event": "answered", "answered_at": "2026-03-02T10:00:04+08:00"},
        {
            "call_id": "c-9",
            "event": "ended",
            "ended_at": "2026-03-02T10:02:04+08:00",
            "recording_url": "https://rec.example.com/9.mp3",
        },
    ]
    answers = [
        signed(world, "/v1/providers/calls/events", {"events": [e]}, CALL_SECRET) for e in events
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["created"] == 1 and answers[2].json()["follow_ups"] == 1
    again = signed(world, "/v1/providers/calls/events", {"events": [events[2]]}, CALL_SECRET)
    assert again.json()["repeated"] == 1
    committed_db.expire_all()
    call = committed_db.exec(select(CallRecord)).one()
    assert (call.state, call.duration_s, call.opportunity_id) == ("ended", 120, world.opp.id)
    follow_up = committed_db.exec(
        select(FollowUp).where(FollowUp.opportunity_id == world.opp.id)
    ).one()
    assert follow_up.recording_url == "https://rec.example.com/9.mp3"


def test_a_call_summary_through_the_callback_is_flagged_and_no_text_changes_nothing(
    world, committed_db
):
    from crm_core.models import QaReview  # noqa: PLC0415
    from crm_core.sms.words import add_words  # noqa: PLC0415

    add_words(committed_db, SYSTEM, "加微信")
    committed_db.commit()
    ended = {"event": "ended", "seat": "8001", "callee": "13800000001", "duration": 42}
    plain = signed(
        world, "/v1/providers/calls/events", {"events": [{**ended, "call_id": "s-0"}]}, CALL_SECRET
    )
    assert plain.status_code == 200 and plain.json()["flagged"] == 0
    committed_db.expire_all()
    assert committed_db.exec(select(QaReview)).all() == []
    answer = signed(
        world,
        "/v1/providers/calls/events",
        {"events": [{**ended, "call_id": "s-1", "summary": "客户说可以先加微信再聊"}]},
        CALL_SECRET,
    )
    assert answer.status_code == 200
    assert (answer.json()["follow_ups"], answer.json()["flagged"]) == (1, 1)
    committed_db.expire_all()
    [flag] = committed_db.exec(select(QaReview)).all()
    assert (flag.reason, flag.flagged_words) == ("flag", ["加微信"])
    assert committed_db.get(FollowUp, flag.follow_up_id).content == "客户说可以先加微信再聊"
