"""The intake API's endpoints: per-lead answers through the one intake path, transcripts,
custom fields, batch limits, and dispatch on arrival."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from crm_core.custom_fields.definitions import define_field
from crm_core.models import FlowEvent, FollowUp, Lead, LeadFieldValue, Opportunity
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from tests.api_world import build_api_world, lead


@pytest.fixture
def world(committed_db, engine):
    clock.freeze(datetime(2027, 3, 2, 2, 0))  # 10:00 in Beijing, a Monday
    world = build_api_world(committed_db, engine)
    yield world
    world.settle()  # nothing left dispatching into the next test
    clock.reset()


def test_a_lead_is_created_and_owned_by_the_rules_rep_at_once(world, committed_db):
    answer = world.post(lead(1))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "created" and body["error"] is None
    assert len(body["opportunity_ids"]) == 1
    committed_db.expire_all()
    opportunity = committed_db.get(Opportunity, body["opportunity_ids"][0])
    team_a = {world.company.users[u].id for u in ("rep_a1", "rep_a2", "lead_a")}
    assert opportunity.pool_state == "owned" and opportunity.owner_id in team_a
    reasons = committed_db.exec(
        select(FlowEvent.reason).where(FlowEvent.opportunity_id == opportunity.id)
    ).all()
    assert list(reasons) == ["intake", "dispatch"]
    stored = committed_db.get(Lead, body["lead_id"])
    assert stored.channel == "form" and stored.landing_page == "https://example.com/kaoyan"


def test_a_lead_brings_its_e_mail_wechat_id_and_qq_number(world, committed_db):
    answer = world.post(lead(1, email="a@example.com", wechat="wx_a1", qq="10001"))
    assert answer.status_code == 201, answer.text
    committed_db.expire_all()
    stored = committed_db.get(Lead, answer.json()["lead_id"])
    assert (stored.email, stored.wechat, stored.qq) == ("a@example.com", "wx_a1", "10001")


def test_arrivals_are_dispatched_fairly_within_caps(world, committed_db):
    answer = world.batch([lead(n) for n in range(1, 7)])
    assert answer.status_code == 200, answer.text
    ids = [i for a in answer.json()["leads"] for i in a["opportunity_ids"]]
    committed_db.expire_all()
    owners = committed_db.exec(select(Opportunity.owner_id).where(Opportunity.id.in_(ids))).all()
    counts = {}
    for owner in owners:
        counts[owner] = counts.get(owner, 0) + 1
    assert None not in counts and len(counts) == 3 and set(counts.values()) == {2}


def test_every_outcome_is_answered_per_lead(world):
    world.post(lead(1))
    answer = world.batch(
        [
            lead(2),
            lead(1, business_lines=["kaoyan"]),  # the person of lead 1, line already open
            lead(2, name="Again"),  # repeats row 0
            lead(3, phone="12"),  # not a phone
            lead(4, channel="fax"),  # no such channel
        ]
    )
    assert answer.status_code == 200, answer.text
    leads = answer.json()["leads"]
    assert [a["status"] for a in leads] == [
        "created",
        "collision",
        "duplicate",
        "rejected",
        "rejected",
    ]
    assert leads[1]["collisions"][0]["business_line"] == "kaoyan"
    assert leads[1]["collisions"][0]["opportunity_id"] is not None
    assert leads[2]["duplicate_of"] == 0
    assert leads[3]["error"]["field"] == "phone"
    assert leads[3]["error"]["message"] == translate(
        "{phone} is not a valid phone number.", "en", phone="12"
    )
    assert leads[4]["error"]["field"] == "channel"
    assert answer.json()["counts"] == {
        "created": 1,
        "added_line": 0,
        "collision": 1,
        "duplicate": 1,
        "rejected": 2,
    }


def test_a_known_person_on_a_new_line_is_added_line(world, committed_db):
    admin = world.company.actor(committed_db, "admin")
    from crm_core.leads.api_keys import create_api_key

    _, token = create_api_key(
        committed_db, admin, "Both lines", ["form"], [world.company.line.id, world.other_line.id]
    )
    committed_db.commit()
    world.post(lead(1))
    answer = world.client.post(
        "/v1/leads",
        json=lead(1, business_lines=["ielts"]),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201 and answer.json()["status"] == "added_line"


def test_a_refused_single_lead_is_a_422_with_its_reason_in_chinese(world):
    answer = world.post(lead(1, phone="12"), **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "rejected",
            "message": translate("{phone} is not a valid phone number.", "zh", phone="12"),
            "field": "phone",
        }
    }


def test_a_transcript_becomes_the_first_follow_up(world, committed_db):
    chat = lead(
        1,
        channel="chat",
        transcript={"summary": "Asked about the spring class", "url": "https://chat.example/t/9"},
    )
    answer = world.post(chat)
    opportunity_id = answer.json()["opportunity_ids"][0]
    notes = committed_db.exec(
        select(FollowUp).where(FollowUp.opportunity_id == opportunity_id)
    ).all()
    assert len(notes) == 1
    assert notes[0].channel == "note" and notes[0].author_id is None
    assert notes[0].content == "Asked about the spring class\nhttps://chat.example/t/9"
    # Not the owner's follow-up: recycling for "no first follow-up" still sees none.
    committed_db.expire_all()
    assert committed_db.get(Opportunity, opportunity_id).last_follow_up_at is None


def test_custom_fields_are_read_like_an_import_and_refuse_a_bad_value(world, committed_db):
    define_field(
        committed_db,
        world.company.actor(committed_db, "admin"),
        "lead",
        code="exam_year",
        label_en="Exam year",
        label_zh="考试年份",
        kind="number",
    )
    committed_db.commit()
    good = world.post(lead(1, custom_fields={"exam_year": "2027"}))
    assert good.status_code == 201, good.text
    values = committed_db.exec(
        select(LeadFieldValue.number_value).where(LeadFieldValue.lead_id == good.json()["lead_id"])
    ).all()
    assert list(values) == [2027.0]
    bad = world.post(lead(2, custom_fields={"exam_year": "soon"}))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "custom_fields.exam_year"
    unknown = world.post(lead(3, custom_fields={"shoe_size": "42"}))
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "custom_fields.shoe_size"


def test_batch_limits(world):
    assert world.batch([]).status_code == 422
    too_many = world.batch([lead(n) for n in range(501)])
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "leads"
    full = world.batch([lead(n) for n in range(500)])
    assert full.status_code == 200
    assert full.json()["counts"]["created"] == 500


def test_health_and_the_openapi_document(world):
    assert world.client.get("/v1/health").json() == {"status": "ok", "database": True}
    document = world.client.get("/openapi.json").json()
    assert {"/v1/leads", "/v1/leads:batch", "/v1/health"} <= set(document["paths"])
