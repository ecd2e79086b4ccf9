"""Lead intake beyond the basics: dry runs, keeping a lead for oneself, merged leads,
customer links, tags, migrated dates and progress."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.models import Customer, FlowEvent, Lead, LeadTag, Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def lead_input(**overrides) -> LeadInput:
    values = dict(name="Li Lei", phone="13900001111", channel="sem", business_line_codes=["kaoyan"])
    values.update(overrides)
    return LeadInput(**values)


def count(db, model, *where) -> int:
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_dry_run_answers_like_the_real_run_and_stores_nothing(db, company):
    add_owned_opportunity(db, company, "rep_a1", 5)
    batch = [
        lead_input(),
        lead_input(name="Again"),  # same phone: duplicate of row 0
        lead_input(phone="+8613800000005"),  # owned by rep_a1: collision
        lead_input(phone="123"),  # bad phone
    ]
    dry = intake_leads(db, SYSTEM, batch, source="import", dry_run=True)
    assert count(db, Lead) == 1 and count(db, Opportunity) == 1
    real = intake_leads(db, SYSTEM, batch, source="import")
    db.commit()
    assert dry.dry_run and not real.dry_run
    shape = lambda result: [  # noqa: E731
        (o.status, o.reason, o.duplicate_of, [(c.owner_name, c.pool_state) for c in o.collisions])
        for o in result.outcomes
    ]
    assert shape(dry) == shape(real)
    assert [row[0] for row in shape(real)] == ["created", "duplicate", "collision", "rejected"]
    assert shape(real)[2][3] == [("Rep A1", "owned")]
    assert count(db, Lead) == 2


def test_keep_for_self_makes_the_rep_the_owner(db, company):
    rep = company.actor(db, "rep_a1")
    clock.freeze(datetime(2026, 5, 4, 10, 0))
    result = intake_leads(db, rep, [lead_input()], source="manual", keep_for_self=True)
    db.commit()
    [opp] = db.exec(select(Opportunity)).all()
    assert (opp.owner_id, opp.org_unit_id, opp.pool_state) == (
        rep.user_id,
        rep.org_unit_id,
        "owned",
    )
    assert opp.assigned_at == datetime(2026, 5, 4, 10, 0)
    flow = db.exec(select(FlowEvent)).one()
    assert (flow.to_state, flow.to_owner_id, flow.reason) == ("owned", rep.user_id, "intake")
    assert result.outcomes[0].opportunity_ids == [opp.id]


def test_keep_for_self_needs_work_opportunities(db, company):
    marketing_like = company.actor(db, "boss")  # executives do not work opportunities
    with pytest.raises(PermissionDenied):
        intake_leads(db, marketing_like, [lead_input()], source="manual", keep_for_self=True)


def test_a_rep_sees_the_lead_they_entered_even_before_dispatch(db, company):
    from crm_core.leads.search import count_leads

    rep = company.actor(db, "rep_a1")
    other = company.actor(db, "rep_a2")
    intake_leads(db, rep, [lead_input()], source="manual")
    db.commit()
    assert count_leads(db, rep) == 1 and count_leads(db, other) == 0


def test_a_number_of_a_merged_lead_reaches_the_lead_it_went_into(db, company):
    kept = add_owned_opportunity(db, company, "rep_a1", 1)
    gone = Lead(
        name="Old card",
        name_key="old card",
        phone="+8613900002222",
        phone_suffix="2222",
        channel="sem",
        merged_into_id=kept.lead_id,
    )
    db.add(gone)
    db.commit()
    result = intake_leads(
        db,
        SYSTEM,
        [
            lead_input(phone="13900002222"),
            lead_input(phone="13900002222", name="x", business_line_codes=["kaoyan"]),
        ],
        source="form",
    )
    db.commit()
    first, second = result.outcomes
    assert first.status == "collision" and first.lead_id == kept.lead_id
    assert first.collisions[0].opportunity_id == kept.id
    assert second.status == "duplicate"
    assert count(db, Lead) == 2 and count(db, Opportunity) == 1


def test_two_numbers_of_one_merged_person_open_one_opportunity(db, company):
    kept = Lead(
        name="Kept", name_key="kept", phone="+8613900003333", phone_suffix="3333", channel="sem"
    )
    db.add(kept)
    db.flush()
    db.add(
        Lead(
            name="Gone",
            name_key="gone",
            phone="+8613900004444",
            phone_suffix="4444",
            channel="sem",
            merged_into_id=kept.id,
        )
    )
    db.commit()
    result = intake_leads(
        db,
        SYSTEM,
        [lead_input(phone="13900003333"), lead_input(phone="13900004444")],
        source="form",
    )
    db.commit()
    assert [o.status for o in result.outcomes] == ["added_line", "duplicate"]
    assert count(db, Opportunity) == 1


def test_a_new_lead_links_to_the_customer_with_its_phone(db, company):
    customer = Customer(platform_user_id="u1", phone="+8613900001111")
    db.add(customer)
    db.commit()
    result = intake_leads(
        db, SYSTEM, [lead_input(), lead_input(phone="13900009999")], source="form"
    )
    db.commit()
    linked = db.get(Lead, result.outcomes[0].lead_id).customer_id
    unlinked = db.get(Lead, result.outcomes[1].lead_id).customer_id
    assert (linked, unlinked) == (customer.id, None)


def test_tags_go_onto_new_and_known_leads_once(db, company):
    known = add_owned_opportunity(db, company, "rep_a1", 7)
    db.add(LeadTag(lead_id=known.lead_id, tag="vip"))
    db.commit()
    result = intake_leads(
        db,
        SYSTEM,
        [
            lead_input(tags=["vip", " spring  fair ", "vip"]),
            lead_input(phone="+8613800000007", tags=["vip", "returning"]),
        ],
        source="import",
    )
    db.commit()
    tags = set(db.exec(select(LeadTag.lead_id, LeadTag.tag)).all())
    new_id = result.outcomes[0].lead_id
    assert tags == {
        (new_id, "vip"),
        (new_id, "spring fair"),
        (known.lead_id, "vip"),
        (known.lead_id, "returning"),
    }


def test_a_migrated_record_keeps_its_date_but_not_a_future_one(db, company):
    when = datetime(2024, 3, 1, 9, 30)
    result = intake_leads(
        db,
        SYSTEM,
        [
            lead_input(created_at=when),
            lead_input(phone="13900002222", created_at=clock.now() + timedelta(days=1)),
        ],
        source="import",
    )
    db.commit()
    first, second = result.outcomes
    assert db.get(Lead, first.lead_id).created_at == when
    assert (second.status, second.reason, second.field) == (
        "rejected",
        "The date lies in the future.",
        "created_at",
    )


def test_progress_rises_to_one(db, company):
    seen: list[float] = []
    batch = [lead_input(phone=f"137{i:08d}", name=f"P{i}") for i in range(4500)]
    intake_leads(db, SYSTEM, batch, source="import", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
    assert count(db, Lead) == 4500
