"""The call centre: lines and seats, click-to-call through a vendor (a fake one on
127.0.0.1: ringing, refusing, slow, down), the vendor's call events (answer, hang-up with a
recording) becoming follow-up calls that the recycle rules count, calls dialled outside the
console matched by seat and number, unknown numbers and repeated events reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.calls.dialing import call_status, place_call, start_call
from crm_core.calls.log import list_calls
from crm_core.calls.providers import save_call_provider_config
from crm_core.calls.records import record_call_events
from crm_core.calls.setup import list_seats, save_line, save_seat
from crm_core.models import AuditLog, CallRecord, FollowUp, Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company
from tests.fake_call_centre import FakeCallCentre

SECRET = "call-secret"


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    company.opps = {
        owner: add_owned_opportunity(db, company, owner, tail)
        for tail, owner in enumerate(("rep_a1", "rep_b1"), start=1)
    }
    admin = company.actor(db, "admin")
    line = save_line(db, admin, name="Beijing line", caller_number="010 5555 0100")
    save_seat(db, admin, seat_no="8001", user_id=company.users["rep_a1"].id, line_id=line.id)
    db.commit()
    yield company
    clock.reset()


@pytest.fixture
def vendor(db, company):
    fake = FakeCallCentre(SECRET)
    url = fake.start()
    save_call_provider_config(
        db,
        company.actor(db, "admin"),
        kind="http",
        base_url=url,
        account="acme",
        secret=SECRET,
        timeout_seconds=1,
    )
    db.commit()
    yield fake
    fake.stop()


def test_lines_and_seats_are_set_by_the_call_centre_administrator(db, company):
    admin, manager = company.actor(db, "admin"), company.actor(db, "bj_manager")
    with pytest.raises(PermissionDenied):
        save_line(db, manager, name="x", caller_number="01055550101")
    with pytest.raises(ValidationError):
        save_line(db, admin, name="Bad", caller_number="call us")
    [seat] = list_seats(db, admin)
    assert (seat.seat_no, seat.line_name) == ("8001", "Beijing line")
    # A seat moves to another user; a user has one seat.
    save_seat(db, admin, seat_no="8001", user_id=company.users["rep_b1"].id, line_id=seat.line_id)
    assert [(s.seat_no, s.user_id) for s in list_seats(db, admin)] == [
        ("8001", company.users["rep_b1"].id)
    ]
    actions = set(db.exec(select(AuditLog.action)).all())
    assert {"call_line.save", "call_seat.save"} <= actions


def test_click_to_call_rings_the_seat_then_the_customer(db, company, vendor):
    rep = company.actor(db, "rep_a1")
    opp = company.opps["rep_a1"]
    call_id = start_call(db, rep, opp.id)
    db.commit()
    status = place_call(db, rep, call_id)
    db.commit()
    assert status.state == "ringing" and vendor.bad_signatures == 0
    # The start is audited on the opportunity, without the customer's number.
    [entry] = db.exec(select(AuditLog).where(AuditLog.action == "call.start")).all()
    assert (entry.actor_id, entry.target_id) == (rep.user_id, str(opp.id))
    assert entry.after == {"call_id": call_id, "seat": "8001"}
    assert "13800000001" not in str(entry.after)
    [sent] = vendor.requests
    assert sent == {
        "account": "acme",
        "seat": "8001",
        "caller": "+861055550100",
        "callee": "+8613800000001",
        "client_id": str(call_id),
    }
    # The vendor reports the answer and the hang-up with the recording.
    report = record_call_events(
        db,
        SYSTEM,
        [
            {
                "call_id": f"c-{call_id}",
                "event": "answered",
                "answered_at": "2026-03-02T10:00:05+08:00",
            },
            {
                "call_id": f"c-{call_id}",
                "event": "ended",
                "ended_at": "2026-03-02T10:03:17+08:00",
                "recording_url": "https://rec.example.com/c1.mp3",
            },
        ],
    )
    db.commit()
    assert (report.created, report.follow_ups, report.bad) == (0, 1, [])
    status = call_status(db, rep, call_id)
    assert (status.state, status.result, status.duration_s) == ("ended", "answered", 192)
    follow_up = db.exec(select(FollowUp).where(FollowUp.opportunity_id == opp.id)).one()
    assert (follow_up.channel, follow_up.call_duration_s, follow_up.result) == (
        "call",
        192,
        "connected",
    )
    assert follow_up.recording_url == "https://rec.example.com/c1.mp3"
    db.expire_all()
    assert db.get(Opportunity, opp.id).last_follow_up_at == datetime(2026, 3, 2, 2, 3, 17)
    # The same hang-up again is reported, not counted twice.
    again = record_call_events(db, SYSTEM, [{"call_id": f"c-{call_id}", "event": "ended"}])
    assert again.repeated == 1 and again.follow_ups == 0
    [row] = list_calls(db, rep, opportunity_id=opp.id)
    assert row.duration_s == 192 and "****" in row.phone


def test_an_event_before_the_vendors_answer_finds_its_call_by_our_id(db, company, vendor):
    rep = company.actor(db, "rep_a1")
    call_id = start_call(db, rep, company.opps["rep_a1"].id)
    db.commit()
    record_call_events(
        db, SYSTEM, [{"call_id": "c-early", "client_id": str(call_id), "event": "ringing"}]
    )
    db.commit()
    assert db.get(CallRecord, call_id).provider_call_id == "c-early"


def test_click_to_call_is_refused_with_the_reason(db, company, vendor):
    with pytest.raises(ValidationError) as no_seat:
        start_call(db, company.actor(db, "rep_b1"), company.opps["rep_b1"].id)
    assert "seat" in no_seat.value.key
    with pytest.raises(NotFound):  # another rep's opportunity
        start_call(db, company.actor(db, "rep_a1"), company.opps["rep_b1"].id)
    save_call_provider_config(db, company.actor(db, "admin"), kind="none")
    with pytest.raises(ValidationError):
        start_call(db, company.actor(db, "rep_a1"), company.opps["rep_a1"].id)


@pytest.mark.parametrize("mode", ["refuse", "slow", "down"])
def test_a_failing_vendor_fails_the_call_with_its_reason(db, company, vendor, mode):
    vendor.mode, vendor.delay = mode, 2.5
    rep = company.actor(db, "rep_a1")
    call_id = start_call(db, rep, company.opps["rep_a1"].id)
    db.commit()
    status = place_call(db, rep, call_id)
    assert status.state == "failed" and status.error
    if mode == "refuse":
        assert status.error == "seat offline"


def test_calls_dialled_outside_the_console_are_matched_and_unknown_numbers_kept(db, company):
    opp = company.opps["rep_a1"]
    before = db.get(Opportunity, opp.id).last_follow_up_at
    report = record_call_events(
        db,
        SYSTEM,
        [
            {
                "call_id": "soft-1",
                "event": "ended",
                "seat": "8001",
                "callee": "13800000001",
                "started_at": "2026-03-02T01:00:00Z",
                "answered_at": "2026-03-02T01:00:10Z",
                "ended_at": "2026-03-02T01:01:10Z",
            },
            {
                "call_id": "soft-2",
                "event": "ended",
                "seat": "8001",
                "callee": "13999999999",
                "duration": 30,
            },
            {"call_id": "", "event": "ended"},
            {"call_id": "soft-3", "event": "exploded"},
            {"call_id": "soft-4", "event": "ended", "recording_url": "javascript:alert(1)"},
        ],
        source="callback",
    )
    db.commit()
    assert report.created == 2 and report.follow_ups == 1
    assert report.unknown_numbers == ["+8613999999999"]
    assert [index for index, _ in report.bad] == [2, 3, 4]
    matched = db.exec(select(CallRecord).where(CallRecord.provider_call_id == "soft-1")).one()
    assert (matched.opportunity_id, matched.user_id, matched.duration_s) == (
        opp.id,
        company.users["rep_a1"].id,
        60,
    )
    db.expire_all()
    after = db.get(Opportunity, opp.id).last_follow_up_at
    assert after == datetime(2026, 3, 2, 1, 1, 10) and after != before
    unknown = list_calls(db, company.actor(db, "admin"), unknown_numbers=True)
    assert len(unknown) == 1 and "****" not in unknown[0].phone  # the admin sees numbers
    with pytest.raises(PermissionDenied):
        list_calls(db, company.actor(db, "rep_a1"), unknown_numbers=True)
    with pytest.raises(PermissionDenied):  # only the vendor's callback or an administrator
        record_call_events(db, company.actor(db, "rep_a1"), [{"call_id": "z", "event": "ended"}])


def test_a_call_counts_as_a_follow_up_for_the_recycle_rules(db, company):
    from crm_core.circulation.recycle import recycle_idle_opportunities  # noqa: PLC0415
    from crm_core.circulation.rules import RuleDraft, save_rule  # noqa: PLC0415

    admin = company.actor(db, "admin")
    save_rule(
        db,
        admin,
        "recycle",
        RuleDraft(
            name="Idle 2 days",
            priority=1,
            conditions={"trigger": "no_follow_up", "after": 2},
            action={"target": "public_pool"},
        ),
    )
    db.commit()
    clock.advance(timedelta(days=2))
    record_call_events(
        db,
        SYSTEM,
        [
            {
                "call_id": "x-1",
                "event": "ended",
                "seat": "8001",
                "callee": "13800000001",
                "duration": 45,
            }
        ],
    )
    db.commit()
    clock.advance(timedelta(days=1))
    moved = recycle_idle_opportunities(db, admin)
    db.commit()
    db.expire_all()
    assert db.get(Opportunity, company.opps["rep_a1"].id).pool_state == "owned"
    assert db.get(Opportunity, company.opps["rep_b1"].id).pool_state == "public", moved


def test_a_call_summary_with_a_sensitive_word_is_flagged_for_qa(db, company):
    """The ended event's summary (or transcript) is the follow-up's text and is flagged like
    a note; a call without text, or with a clean one, changes nothing in the QA queue."""
    from crm_core.models import QaReview  # noqa: PLC0415
    from crm_core.sms.words import add_words  # noqa: PLC0415

    add_words(db, SYSTEM, "保证通过\nguarantee")
    call = {"event": "ended", "seat": "8001", "callee": "13800000001", "duration": 60}
    report = record_call_events(
        db,
        SYSTEM,
        [
            {**call, "call_id": "t-1", "summary": "Told her we GUARANTEE a pass."},
            {**call, "call_id": "t-2", "transcript": "坐席：报名就保证通过。"},
            {**call, "call_id": "t-3", "summary": "Booked a trial on Friday."},
            {**call, "call_id": "t-4"},
        ],
    )
    db.commit()
    assert (report.follow_ups, report.flagged) == (4, 2)
    texts = {
        f.id: f.content for f in db.exec(select(FollowUp).where(FollowUp.channel == "call")).all()
    }
    assert sorted(texts.values()) == sorted(
        ["Told her we GUARANTEE a pass.", "坐席：报名就保证通过。", "Booked a trial on Friday.", ""]
    )
    flags = db.exec(select(QaReview.follow_up_id, QaReview.flagged_words, QaReview.rep_id)).all()
    assert sorted((texts[f], words, rep) for f, words, rep in flags) == [
        ("Told her we GUARANTEE a pass.", ["guarantee"], company.users["rep_a1"].id),
        ("坐席：报名就保证通过。", ["保证通过"], company.users["rep_a1"].id),
    ]
    # The hang-up reported again adds no follow-up and no second flag.
    again = record_call_events(db, SYSTEM, [{**call, "call_id": "t-1", "summary": "guarantee"}])
    assert (again.repeated, again.follow_ups, again.flagged) == (1, 0, 0)
    assert len(db.exec(select(QaReview)).all()) == 2
