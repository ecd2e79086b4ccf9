"""The lead card: what it shows to whom, and editing a lead by hand."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from crm_core.leads.edit import EDITABLE_FIELDS, update_lead
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.models import (
    AuditLog,
    BusinessLine,
    Customer,
    FlowEvent,
    FollowUp,
    Lead,
    LeadTag,
    MetadataOption,
    Opportunity,
)
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import is_message, label_of
from crm_core.sales.lead_card import get_lead_detail
from tests.factories import SYSTEM, build_small_company

T0 = datetime(2024, 3, 1, 9, 0)
PHONE = "+8613812345678"


@pytest.fixture
def company(db):
    clock.freeze(T0)
    company = build_small_company(db)
    company.ielts = BusinessLine(code="ielts", name="IELTS")
    db.add(company.ielts)
    db.commit()
    return company


def new_lead(db, actor=SYSTEM, *, lines=("kaoyan",), **fields) -> int:
    values = {"name": "Wang Fang", "phone": "138 1234 5678", "channel": "sem", **fields}
    result = intake_leads(
        db, actor, [LeadInput(business_line_codes=list(lines), **values)], source="manual"
    )
    [outcome] = result.outcomes
    assert outcome.status == "created", outcome
    db.commit()
    return outcome.lead_id


def give(db, company, lead_id: int, line: BusinessLine, owner: str) -> Opportunity:
    """Hand the lead's open opportunity on `line` to `owner`, in the owner's unit."""
    opp = db.exec(
        select(Opportunity).where(
            Opportunity.lead_id == lead_id,
            Opportunity.business_line_id == line.id,
            Opportunity.pool_state != "closed",
        )
    ).one()
    user = company.users[owner]
    opp.owner_id, opp.org_unit_id, opp.pool_state = user.id, user.org_unit_id, "owned"
    opp.assigned_at = clock.now()
    db.add(opp)
    db.commit()
    return opp


def follow_up(db, company, opp: Opportunity, author: str, minutes: int, content: str) -> None:
    db.add(
        FollowUp(
            opportunity_id=opp.id,
            author_id=company.users[author].id,
            channel="call",
            content=content,
            result="reached",
            created_at=T0 + timedelta(minutes=minutes),
        )
    )
    db.commit()


def stored(db, lead_id: int) -> Lead:
    db.expire_all()
    return db.get(Lead, lead_id)


def audit_entries(db, action: str) -> list[AuditLog]:
    return list(db.exec(select(AuditLog).where(AuditLog.action == action)).all())


@contextmanager
def counting_queries(db):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- the card ------------------------------------------------------------------------------


def test_card_shows_the_lead_with_its_history_newest_first(db, company):
    admin = company.actor(db, "admin")
    lead_id = new_lead(
        db,
        admin,
        lines=("kaoyan", "ielts"),
        email="w@example.com",
        city="Beijing",
        campaign="spring",
        keyword="exam",
        external_id="ext-9",
    )
    kaoyan = give(db, company, lead_id, company.line, "rep_a1")
    ielts = give(db, company, lead_id, company.ielts, "rep_a2")
    customer = Customer(platform_user_id="u-1", name="Wang F.", registered_at=T0)
    db.add_all([customer, LeadTag(lead_id=lead_id, tag="vip"), LeadTag(lead_id=lead_id, tag="b2b")])
    db.flush()
    db.get(Lead, lead_id).customer_id = customer.id
    db.add(
        FlowEvent(
            opportunity_id=kaoyan.id,
            at=T0 + timedelta(minutes=30),
            from_state="unassigned",
            to_state="owned",
            to_owner_id=company.users["rep_a1"].id,
            reason="manual",
            actor_id=company.users["lead_a"].id,
            note="by hand",
        )
    )
    db.commit()
    follow_up(db, company, kaoyan, "rep_a1", 60, "first call")
    follow_up(db, company, ielts, "rep_a2", 120, "ielts call")
    follow_up(db, company, kaoyan, "rep_a1", 180, "second call")

    card = get_lead_detail(db, admin, lead_id)

    assert (card.id, card.name, card.phone, card.no_phone, card.external_id) == (
        lead_id,
        "Wang Fang",
        PHONE,
        False,
        "ext-9",
    )
    assert (card.email, card.city, card.channel, card.campaign, card.keyword) == (
        "w@example.com",
        "Beijing",
        "sem",
        "spring",
        "exam",
    )
    assert card.created_by_name == "Admin" and card.created_at == T0
    assert card.customer.platform_user_id == "u-1" and card.customer.registered_at == T0
    assert card.tags == ("b2b", "vip")
    assert [(o.id, o.business_line, o.owner_name, o.pool_state) for o in card.opportunities] == [
        (kaoyan.id, "Postgraduate exam", "Rep A1", "owned"),
        (ielts.id, "IELTS", "Rep A2", "owned"),
    ]
    assert card.opportunities[0].org_unit_id == company.units["team_a"].id
    assert [(f.content, f.business_line, f.author_name) for f in card.follow_ups] == [
        ("second call", "Postgraduate exam", "Rep A1"),
        ("ielts call", "IELTS", "Rep A2"),
        ("first call", "Postgraduate exam", "Rep A1"),
    ]
    newest = card.flow[0]
    assert (newest.reason, newest.from_owner_name, newest.to_owner_name, newest.actor_name) == (
        "manual",
        None,
        "Rep A1",
        "Lead A",
    )
    # The two intake events share their time; the later id comes first.
    assert [(f.reason, f.opportunity_id) for f in card.flow[1:]] == [
        ("intake", ielts.id),
        ("intake", kaoyan.id),
    ]
    assert card.merged_from == []

    short = get_lead_detail(db, admin, lead_id, history_limit=2)
    assert [f.content for f in short.follow_ups] == ["second call", "ielts call"]
    assert [f.id for f in short.flow] == [f.id for f in card.flow[:2]]


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_card_reads_a_fixed_number_of_queries_however_many_opportunities(db, company):
    admin = company.actor(db, "admin")
    small = new_lead(db, lines=("kaoyan",))
    large = new_lead(db, phone="13900000000", lines=("kaoyan", "ielts"))
    for lead_id in (small, large):
        for line in (company.line, company.ielts):
            opp = db.exec(
                select(Opportunity).where(
                    Opportunity.lead_id == lead_id, Opportunity.business_line_id == line.id
                )
            ).first()
            if opp is not None:
                follow_up(db, company, opp, "rep_a1", 5, "call")
    counts = []
    for lead_id in (small, large):
        db.expire_all()
        with counting_queries(db) as statements:
            get_lead_detail(db, admin, lead_id)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 6


def test_a_rep_sees_only_leads_and_opportunities_in_their_scope(db, company):
    lead_id = new_lead(db, lines=("kaoyan", "ielts"))
    kaoyan = give(db, company, lead_id, company.line, "rep_a1")
    ielts = give(db, company, lead_id, company.ielts, "rep_c1")
    follow_up(db, company, kaoyan, "rep_a1", 10, "kaoyan call")
    follow_up(db, company, ielts, "rep_c1", 20, "ielts call")

    def seen(username: str) -> tuple[list[int], list[str], set[int]]:
        card = get_lead_detail(db, company.actor(db, username), lead_id)
        return (
            [o.id for o in card.opportunities],
            [f.content for f in card.follow_ups],
            {f.opportunity_id for f in card.flow},
        )

    assert seen("rep_a1") == ([kaoyan.id], ["kaoyan call"], {kaoyan.id})
    assert seen("rep_c1") == ([ielts.id], ["ielts call"], {ielts.id})
    assert seen("lead_a") == ([kaoyan.id], ["kaoyan call"], {kaoyan.id})  # team A
    assert seen("bj_manager") == ([kaoyan.id], ["kaoyan call"], {kaoyan.id})  # Beijing subtree
    assert seen("admin") == (
        [kaoyan.id, ielts.id],
        ["ielts call", "kaoyan call"],
        {kaoyan.id, ielts.id},
    )
    for outsider in ("rep_a2", "rep_b1"):
        with pytest.raises(NotFound) as caught:
            get_lead_detail(db, company.actor(db, outsider), lead_id)
        assert caught.value.params == {"entity": "lead", "id": lead_id}
    with pytest.raises(NotFound):
        get_lead_detail(db, company.actor(db, "admin"), 999_999)


def test_the_creator_opens_their_lead_before_dispatch_without_seeing_the_pool(db, company):
    rep = company.actor(db, "rep_a2")
    lead_id = new_lead(db, rep)
    card = get_lead_detail(db, rep, lead_id)
    # Still unassigned, in no unit: the lead is the rep's, the opportunity is not yet.
    assert card.created_by_name == "Rep A2" and card.opportunities == [] and card.flow == []


def test_phone_is_masked_without_view_full_phone(db, company):
    lead_id = new_lead(db)
    give(db, company, lead_id, company.line, "rep_a1")
    assert get_lead_detail(db, company.actor(db, "rep_a1"), lead_id).phone == "1****5678"
    assert get_lead_detail(db, company.actor(db, "admin"), lead_id).phone == PHONE
    no_phone = new_lead(db, phone=None, external_id="ext-1")
    assert get_lead_detail(db, company.actor(db, "admin"), no_phone).phone == ""


def test_the_card_needs_view_leads(db, company):
    lead_id = new_lead(db)
    blind = dataclasses.replace(company.actor(db, "admin"), permissions=frozenset())
    with pytest.raises(PermissionDenied):
        get_lead_detail(db, blind, lead_id)


# --- editing -------------------------------------------------------------------------------


def test_edit_changes_fields_recomputes_keys_and_audits_masked_phones(db, company):
    lead_id = new_lead(db, city="Beijing", email="w@example.com")
    give(db, company, lead_id, company.line, "rep_a1")
    rep = company.actor(db, "rep_a1")
    clock.advance(timedelta(hours=2))
    lead = update_lead(
        db,
        rep,
        lead_id,
        {
            "name": "  Li   Lei ",
            "phone": "139-8765-4321",
            "city": "  ",
            "email": "w@example.com",
            "channel": "SEO",
        },
    )
    lead = stored(db, lead_id)
    assert (lead.name, lead.name_key, lead.phone, lead.phone_suffix, lead.no_phone) == (
        "Li   Lei",
        "li lei",
        "+8613987654321",
        "4321",
        False,
    )
    assert (lead.city, lead.email, lead.channel) == (None, "w@example.com", "seo")
    assert lead.updated_at == T0 + timedelta(hours=2)
    [entry] = audit_entries(db, "lead.update")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        rep.user_id,
        "lead",
        str(lead_id),
    )
    assert entry.before == {
        "name": "Wang Fang",
        "phone": "1****5678",
        "city": "Beijing",
        "channel": "sem",
    }
    assert entry.after == {"name": "Li   Lei", "phone": "1****4321", "city": None, "channel": "seo"}
    logged = str(entry.before) + str(entry.after)
    assert "12345678" not in logged and "87654321" not in logged
    found = search_leads(db, rep, LeadFilter(text="li lei")).rows
    assert [row.id for row in found] == [lead_id]
    assert [row.id for row in search_leads(db, rep, LeadFilter(text="4321")).rows] == [lead_id]


def test_editing_nothing_writes_nothing(db, company):
    lead_id = new_lead(db, city="Beijing")
    admin = company.actor(db, "admin")
    update_lead(
        db,
        admin,
        lead_id,
        {
            "name": " Wang Fang ",
            "phone": "+86 138 1234 5678",
            "city": "Beijing",
            "wechat": "",
            "channel": "sem",
        },
    )
    assert stored(db, lead_id).updated_at is None
    assert audit_entries(db, "lead.update") == []


@pytest.mark.parametrize(
    ("changes", "key", "params"),
    [
        ({"nickname": "x"}, "{field} cannot be edited on a lead.", {"field": "nickname"}),
        ({"created_by_id": "1"}, "{field} cannot be edited on a lead.", {"field": "created_by_id"}),
        ({"name": "   "}, "A name is required.", {}),
        ({"name": None}, "A name is required.", {}),
        ({"city": "x" * 81}, "{field} has at most {max} characters.", {"field": "city", "max": 80}),
        (
            {"email": "x" * 201},
            "{field} has at most {max} characters.",
            {"field": "email", "max": 200},
        ),
        (
            {"landing_page": "x" * 401},
            "{field} has at most {max} characters.",
            {"field": "landing_page", "max": 400},
        ),
        ({"phone": "138123456789"}, "{phone} is not a valid phone number.", {"phone": "****6789"}),
        ({"phone": "12345"}, "{phone} is not a valid phone number.", {"phone": "****"}),
        ({"channel": "tv"}, "Unknown or disabled channel {channel}.", {"channel": "tv"}),
        ({"channel": "feed"}, "Unknown or disabled channel {channel}.", {"channel": "feed"}),
        ({"channel": " "}, "A channel is required.", {}),
        ({"phone": ""}, "A lead needs a phone number or an external id.", {}),
    ],
)
def test_each_edit_refusal_changes_nothing(db, company, changes, key, params):
    db.exec(select(MetadataOption).where(MetadataOption.code == "feed")).one().active = False
    db.commit()
    lead_id = new_lead(db, city="Beijing")
    before = stored(db, lead_id).model_dump()
    with pytest.raises(ValidationError) as caught:
        update_lead(db, company.actor(db, "admin"), lead_id, {"city": "Shanghai", **changes})
    assert (caught.value.key, caught.value.params) == (key, params)
    assert stored(db, lead_id).model_dump() == before
    assert audit_entries(db, "lead.update") == []


def test_a_phone_or_external_id_of_another_lead_is_refused_naming_it(db, company):
    admin = company.actor(db, "admin")
    mine = new_lead(db)
    other = new_lead(db, phone="13900001111", external_id="crm-7")
    with pytest.raises(ValidationError) as caught:
        update_lead(db, admin, mine, {"phone": "139 0000 1111"})
    assert (caught.value.key, caught.value.params) == (
        "This number belongs to lead #{lead_id}. Merge the two leads instead.",
        {"lead_id": other},
    )
    with pytest.raises(ValidationError) as caught:
        update_lead(db, admin, mine, {"external_id": "crm-7"})
    assert (caught.value.key, caught.value.params) == (
        "This external id belongs to lead #{lead_id}. Merge the two leads instead.",
        {"lead_id": other},
    )
    assert stored(db, mine).phone == PHONE and stored(db, mine).external_id is None


def test_a_lead_without_phone_gains_one_and_must_keep_one_key(db, company):
    admin = company.actor(db, "admin")
    lead_id = new_lead(db, phone=None, external_id="ext-1")
    assert stored(db, lead_id).no_phone
    update_lead(db, admin, lead_id, {"phone": "13700002222"})
    lead = stored(db, lead_id)
    assert (lead.phone, lead.phone_suffix, lead.no_phone) == ("+8613700002222", "2222", False)
    update_lead(db, admin, lead_id, {"external_id": None})
    with pytest.raises(ValidationError) as caught:
        update_lead(db, admin, lead_id, {"phone": None})
    assert caught.value.key == "A lead needs a phone number or an external id."
    update_lead(db, admin, lead_id, {"external_id": "ext-2", "phone": None})
    lead = stored(db, lead_id)
    assert (lead.phone, lead.phone_suffix, lead.no_phone, lead.external_id) == (
        None,
        None,
        True,
        "ext-2",
    )


def test_a_channel_disabled_since_does_not_block_other_edits(db, company):
    lead_id = new_lead(db)
    db.exec(select(MetadataOption).where(MetadataOption.code == "sem")).one().active = False
    db.commit()
    update_lead(db, company.actor(db, "admin"), lead_id, {"channel": "sem", "city": "Xi'an"})
    assert (stored(db, lead_id).channel, stored(db, lead_id).city) == ("sem", "Xi'an")


def test_editing_needs_create_leads_and_the_lead_in_scope(db, company):
    lead_id = new_lead(db)
    give(db, company, lead_id, company.line, "rep_a1")
    with pytest.raises(PermissionDenied):
        update_lead(db, company.actor(db, "boss"), lead_id, {"city": "x"})  # executive
    with pytest.raises(NotFound):
        update_lead(db, company.actor(db, "rep_b1"), lead_id, {"city": "x"})
    with pytest.raises(NotFound):
        update_lead(db, company.actor(db, "admin"), 999_999, {"city": "x"})
    update_lead(db, company.actor(db, "lead_a"), lead_id, {"city": "Tianjin"})
    assert stored(db, lead_id).city == "Tianjin"
    assert (
        db.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "lead.update")
        ).one()
        == 1
    )


def test_editable_fields_and_keys_are_translated():
    assert "phone" in EDITABLE_FIELDS and "created_by_id" not in EDITABLE_FIELDS
    assert [f for f in EDITABLE_FIELDS if not is_message(label_of("lead_card.field", f))] == []
