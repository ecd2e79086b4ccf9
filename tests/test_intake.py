"""Lead intake (validation, de-duplication, collisions), phone masking and revealing."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

import crm_core.leads.intake.writing  # noqa: F401  (patched below)
from crm_core.leads import intake
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.masking import display_phone, mask_phone, reveal_phone
from crm_core.models import (
    AuditLog,
    BusinessLine,
    FlowEvent,
    FollowUp,
    Lead,
    MetadataOption,
    Opportunity,
    StageHistory,
)
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import is_message
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    company = build_small_company(db)
    company.ielts = BusinessLine(code="ielts", name="IELTS")
    db.add(company.ielts)
    db.commit()
    return company


def lead_input(**overrides) -> LeadInput:
    values = dict(
        name="Wang Fang",
        phone="138 0000 1111",
        channel="sem",
        campaign="spring",
        business_line_codes=["kaoyan"],
    )
    values.update(overrides)
    return LeadInput(**values)


def count(db, model, *where) -> int:
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason", "field", "params"),
    [
        ({"name": "  "}, "A name is required.", "name", {}),
        ({"phone": "12345"}, "{phone} is not a valid phone number.", "phone", {"phone": "12345"}),
        (
            {"phone": None},
            "Give a phone number, or an external id, e-mail or WeChat id for a lead without one.",
            "phone",
            {},
        ),
        ({"channel": ""}, "A channel is required.", "channel", {}),
        ({"channel": "tv"}, "Unknown or disabled channel {channel}.", "channel", {"channel": "tv"}),
        (
            {"channel": "seo"},
            "Unknown or disabled channel {channel}.",
            "channel",
            {"channel": "seo"},
        ),
        (
            {"business_line_codes": []},
            "Choose at least one business line.",
            "business_line_codes",
            {},
        ),
        (
            {"business_line_codes": ["kaoyan", "mba"]},
            "Unknown or disabled business line {code}.",
            "business_line_codes",
            {"code": "mba"},
        ),
        (
            {"city": "x" * 81},
            "{field} has at most {max} characters.",
            "city",
            {"field": "city", "max": 80},
        ),
    ],
)
def test_each_rejection_reason(db, company, overrides, reason, field, params):
    db.exec(select(MetadataOption).where(MetadataOption.code == "seo")).one().active = False
    db.commit()
    result = intake_leads(db, SYSTEM, [lead_input(**overrides)], source="form")
    [outcome] = result.outcomes
    assert (outcome.status, outcome.reason, outcome.field, outcome.params) == (
        "rejected",
        reason,
        field,
        params,
    )
    assert count(db, Lead) == 0 and count(db, Opportunity) == 0


def test_rejection_reasons_are_translated():
    for key in intake.REASONS:
        assert is_message(key), key


def test_rejected_rows_do_not_stop_the_good_ones(db, company):
    result = intake_leads(
        db, SYSTEM, [lead_input(name=""), lead_input(phone="139 0000 2222")], source="import"
    )
    assert [o.status for o in result.outcomes] == ["rejected", "created"]
    assert result.counts["created"] == 1 and result.counts["rejected"] == 1


def test_intake_needs_create_leads_and_import_needs_import_leads(db, company):
    boss = company.actor(db, "boss")  # executive: no create_leads
    with pytest.raises(PermissionDenied):
        intake_leads(db, boss, [lead_input()], source="form")
    rep = company.actor(db, "rep_a1")  # may create, may not import
    with pytest.raises(PermissionDenied):
        intake_leads(db, rep, [lead_input()], source="import")
    assert intake_leads(db, rep, [lead_input()], source="manual").counts["created"] == 1


# --- new leads and de-duplication ----------------------------------------------------------


def test_new_lead_gets_an_unassigned_opportunity_per_line(db, company):
    admin = company.actor(db, "admin")
    result = intake_leads(
        db,
        admin,
        [lead_input(phone="+86 138-0000-1111", business_line_codes=["kaoyan", "IELTS"])],
        source="form",
    )
    db.commit()
    [outcome] = result.outcomes
    assert outcome.status == "created" and len(outcome.opportunity_ids) == 2
    lead = db.get(Lead, outcome.lead_id)
    assert (lead.phone, lead.phone_suffix, lead.no_phone, lead.channel, lead.created_by_id) == (
        "+8613800001111",
        "1111",
        False,
        "sem",
        admin.user_id,
    )
    opps = db.exec(select(Opportunity).where(Opportunity.lead_id == lead.id)).all()
    assert {(o.pool_state, o.stage, o.owner_id) for o in opps} == {("unassigned", "new", None)}
    assert {o.business_line_id for o in opps} == {company.line.id, company.ielts.id}
    history = db.exec(select(StageHistory)).all()
    assert sorted(h.opportunity_id for h in history) == sorted(outcome.opportunity_ids)
    assert {(h.from_stage, h.to_stage) for h in history} == {(None, "new")}
    assert count(db, FlowEvent, FlowEvent.to_state == "unassigned") == 2


def test_duplicates_in_one_batch_make_one_lead(db, company):
    result = intake_leads(
        db,
        SYSTEM,
        [
            lead_input(phone="13800001111"),
            lead_input(phone="+86 138 0000 1111", name="Wang F."),  # same person, same line
            lead_input(phone="0086-138-0000-1111", business_line_codes=["ielts"]),  # new line
            lead_input(phone="13900002222", name="Li Lei"),
        ],
        source="import",
    )
    statuses = [(o.status, o.duplicate_of) for o in result.outcomes]
    assert statuses == [("created", None), ("duplicate", 0), ("added_line", 0), ("created", None)]
    assert len({o.lead_id for o in result.outcomes[:3]}) == 1
    assert count(db, Lead) == 2
    assert count(db, Opportunity) == 3
    assert count(db, FollowUp) == 0


def test_external_id_dedup_and_no_phone_flag(db, company):
    first = intake_leads(
        db,
        SYSTEM,
        [
            lead_input(phone=None, external_id="chat-77"),
            lead_input(phone="", external_id="chat-77", name="Same visitor"),
        ],
        source="chat",
    )
    db.commit()
    assert [o.status for o in first.outcomes] == ["created", "duplicate"]
    lead = db.get(Lead, first.outcomes[0].lead_id)
    assert (lead.phone, lead.no_phone, lead.external_id) == (None, True, "chat-77")
    assert first.outcomes[0].no_phone

    # Later the visitor leaves a phone: same lead (by external id), the phone is filled in.
    again = intake_leads(
        db, SYSTEM, [lead_input(phone="13700003333", external_id="chat-77")], source="chat"
    )
    db.commit()
    [outcome] = again.outcomes
    assert outcome.lead_id == lead.id and outcome.status == "collision"
    db.refresh(lead)
    assert (lead.phone, lead.phone_suffix, lead.no_phone) == ("+8613700003333", "3333", False)
    assert count(db, Lead) == 1


# --- collisions ----------------------------------------------------------------------------


def test_collision_with_an_owned_opportunity_reports_owner_and_logs_a_note(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 5)  # phone +8613800000005
    admin = company.actor(db, "admin")
    result = intake_leads(
        db,
        admin,
        [lead_input(phone="138 0000 0005", channel="feed", campaign="may-ad")],
        source="import",
    )
    db.commit()
    [outcome] = result.outcomes
    assert outcome.status == "collision" and outcome.lead_id == opp.lead_id
    assert outcome.opportunity_ids == []
    [collision] = outcome.collisions
    owner = company.users["rep_a1"]
    assert (collision.opportunity_id, collision.owner_id, collision.owner_name) == (
        opp.id,
        owner.id,
        owner.full_name,
    )
    assert collision.business_line_code == "kaoyan" and collision.pool_state == "owned"
    [note] = db.exec(select(FollowUp)).all()
    assert (note.opportunity_id, note.author_id, note.channel) == (opp.id, admin.user_id, "note")
    assert "feed" in note.content and "may-ad" in note.content
    assert count(db, Opportunity) == 1 and count(db, Lead) == 1
    db.refresh(opp)
    assert opp.owner_id == owner.id and opp.last_follow_up_at is None


def test_a_new_business_line_adds_an_opportunity(db, company):
    opp = add_owned_opportunity(db, company, "rep_b1", 6)
    result = intake_leads(
        db,
        SYSTEM,
        [lead_input(phone="13800000006", business_line_codes=["kaoyan", "ielts"])],
        source="form",
    )
    db.commit()
    [outcome] = result.outcomes
    assert outcome.status == "added_line" and len(outcome.opportunity_ids) == 1
    assert [c.opportunity_id for c in outcome.collisions] == [opp.id]
    new = db.get(Opportunity, outcome.opportunity_ids[0])
    assert (new.lead_id, new.business_line_id, new.pool_state) == (
        opp.lead_id,
        company.ielts.id,
        "unassigned",
    )
    assert count(db, FollowUp) == 1


def test_a_closed_opportunity_does_not_block_a_new_one(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 7)
    opp.pool_state, opp.stage = "closed", "lost"
    db.commit()
    [outcome] = intake_leads(db, SYSTEM, [lead_input(phone="13800000007")], source="form").outcomes
    assert outcome.status == "added_line" and outcome.collisions == []


def test_an_error_leaves_nothing_behind(db, company, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(intake.writing, "translate", broken)  # fails after leads were inserted
    add_owned_opportunity(db, company, "rep_a1", 8)
    with pytest.raises(RuntimeError):
        intake_leads(
            db,
            SYSTEM,
            [lead_input(phone="13900009999"), lead_input(phone="13800000008")],
            source="form",
        )
    assert count(db, Lead) == 1 and count(db, Opportunity) == 1 and count(db, FollowUp) == 0


def test_a_large_batch_is_set_based(db, company):
    rows = [lead_input(phone=f"135{i:08d}", name=f"P{i}") for i in range(3000)]
    rows += [lead_input(phone=f"135{i:08d}", business_line_codes=["ielts"]) for i in range(10)]
    result = intake_leads(db, SYSTEM, rows, source="import")
    db.commit()
    assert result.counts["created"] == 3000 and result.counts["added_line"] == 10
    assert count(db, Opportunity) == 3010 and count(db, StageHistory) == 3010


# --- masking and revealing -----------------------------------------------------------------


def test_masking_of_mainland_and_international_numbers():
    assert mask_phone("+8613812345678") == "1****5678"
    # At most half of the national number shows (security finding 9).
    assert mask_phone("+442079460958") == "+44 2****0958"
    assert mask_phone("+12125550123") == "+1 2****0123"
    assert mask_phone(None) == "" and mask_phone("") == ""
    assert "12345678" not in mask_phone("junk12345678")


def test_a_rep_without_view_full_phone_sees_masked_numbers(db, company):
    rep = company.actor(db, "rep_a1")
    admin = company.actor(db, "admin")
    assert not rep.can("view_full_phone")
    assert display_phone(rep, "+8613812345678") == "1****5678"
    assert display_phone(admin, "+8613812345678") == "+8613812345678"
    assert display_phone(rep, None) == ""


def test_reveal_writes_an_audit_entry_and_refuses_out_of_scope_leads(db, company):
    mine = add_owned_opportunity(db, company, "rep_a1", 11)
    theirs = add_owned_opportunity(db, company, "rep_b1", 12)
    rep = company.actor(db, "rep_a1")
    assert reveal_phone(db, rep, mine.lead_id) == "+8613800000011"
    [entry] = db.exec(select(AuditLog).where(AuditLog.action == "phone.unmask")).all()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        rep.user_id,
        "lead",
        str(mine.lead_id),
    )
    assert "+8613800000011" not in str(entry.after) + str(entry.before)
    with pytest.raises(NotFound):
        reveal_phone(db, rep, theirs.lead_id)
    with pytest.raises(NotFound):
        reveal_phone(db, rep, 999_999)
    assert count(db, AuditLog, AuditLog.action == "phone.unmask") == 1


def test_reveal_needs_view_leads_and_a_phone(db, company):
    [outcome] = intake_leads(
        db, SYSTEM, [lead_input(phone=None, external_id="x-1")], source="api"
    ).outcomes
    db.commit()
    with pytest.raises(ValidationError):
        reveal_phone(db, SYSTEM, outcome.lead_id)
    no_rights = company.actor(db, "rep_a1").__class__(
        user_id=None,
        username="x",
        full_name="x",
        org_unit_id=None,
        org_path=None,
        permissions=frozenset(),
        scope=SYSTEM.scope,
    )
    with pytest.raises(PermissionDenied):
        reveal_phone(db, no_rights, outcome.lead_id)
