"""Merging two leads of one person: opportunities, tags, fields, numbers, chains, rights."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from crm_core.leads.edit import update_lead
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.merge import MergeResult, merge_leads
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.models import (
    AuditLog,
    BusinessLine,
    Customer,
    FlowEvent,
    FollowUp,
    Lead,
    LeadTag,
    Opportunity,
)
from crm_core.platform import audit, clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.lead_card import get_lead_detail
from tests.factories import SYSTEM, build_small_company

T0 = datetime(2024, 5, 1, 8, 0)


@pytest.fixture
def company(db):
    clock.freeze(T0)
    company = build_small_company(db)
    company.ielts = BusinessLine(code="ielts", name="IELTS")
    db.add(company.ielts)
    db.commit()
    return company


def new_lead(db, *, lines=("kaoyan",), tags=(), **fields) -> int:
    values = {"name": "Wang Fang", "channel": "sem", **fields}
    [outcome] = intake_leads(
        db, SYSTEM, [LeadInput(business_line_codes=list(lines), **values)], source="manual"
    ).outcomes
    assert outcome.status == "created", outcome
    db.add_all(LeadTag(lead_id=outcome.lead_id, tag=tag) for tag in tags)
    db.commit()
    return outcome.lead_id


def opportunity(db, lead_id: int, line: BusinessLine) -> Opportunity:
    return db.exec(
        select(Opportunity).where(
            Opportunity.lead_id == lead_id,
            Opportunity.business_line_id == line.id,
            Opportunity.pool_state != "closed",
        )
    ).one()


def give(db, company, lead_id: int, line: BusinessLine, owner: str, stage="contacted") -> int:
    opp = opportunity(db, lead_id, line)
    user = company.users[owner]
    opp.owner_id, opp.org_unit_id, opp.pool_state, opp.stage = (
        user.id,
        user.org_unit_id,
        "owned",
        stage,
    )
    db.add(opp)
    db.commit()
    return opp.id


def fresh(db, model, key):
    db.expire_all()
    return db.get(model, key)


def tags_of(db, lead_id: int) -> list[str]:
    return list(db.exec(select(LeadTag.tag).where(LeadTag.lead_id == lead_id).order_by("tag")))


def snapshot(db) -> list:
    """Every row merging may touch, to compare before and after a refused merge."""
    db.expire_all()
    return [
        [row.model_dump() for row in db.exec(select(model).order_by(*key)).all()]
        for model, key in (
            (Lead, [Lead.id]),
            (Opportunity, [Opportunity.id]),
            (LeadTag, [LeadTag.lead_id, LeadTag.tag]),
            (FlowEvent, [FlowEvent.id]),
            (AuditLog, [AuditLog.id]),
        )
    ]


def test_merge_moves_opportunities_closes_the_duplicate_and_unites_tags(db, company):
    keep = new_lead(db, phone="13800000001", tags=("vip",))
    merge = new_lead(db, phone="13800000002", lines=("kaoyan", "ielts"), tags=("vip", "hot"))
    kept_opp = give(db, company, keep, company.line, "rep_a1")
    duplicate = give(db, company, merge, company.line, "rep_a2", stage="qualified")
    moving = give(db, company, merge, company.ielts, "rep_a2", stage="trial_booked")
    # An old, closed opportunity of the merged lead on the kept lead's line.
    old = Opportunity(
        lead_id=merge,
        business_line_id=company.line.id,
        pool_state="closed",
        stage="lost",
        lost_reason="price",
        closed_at=T0,
    )
    db.add(old)
    db.add(
        FollowUp(
            opportunity_id=moving,
            author_id=company.users["rep_a2"].id,
            channel="call",
            content="booked a trial",
            created_at=T0,
        )
    )
    db.commit()
    manager = company.actor(db, "bj_manager")
    clock.advance(timedelta(hours=1))

    result = merge_leads(db, manager, keep, merge)

    assert result == MergeResult(
        kept_id=keep, merged_id=merge, moved_opportunities=3, closed_duplicates=1, moved_tags=1
    )
    now = T0 + timedelta(hours=1)
    opps = {o.id: o for o in (fresh(db, Opportunity, i) for i in (kept_opp, duplicate, moving))}
    assert {o.lead_id for o in opps.values()} == {keep}
    assert fresh(db, Opportunity, old.id).lead_id == keep
    assert (opps[moving].owner_id, opps[moving].stage, opps[moving].pool_state) == (
        company.users["rep_a2"].id,
        "trial_booked",
        "owned",
    )
    closed = opps[duplicate]
    assert (closed.pool_state, closed.closed_at, closed.lost_reason, closed.owner_id) == (
        "closed",
        now,
        "merged",
        company.users["rep_a2"].id,
    )
    [flow] = db.exec(select(FlowEvent).where(FlowEvent.reason == "merge")).all()
    assert (flow.opportunity_id, flow.from_state, flow.to_state, flow.at) == (
        duplicate,
        "owned",
        "closed",
        now,
    )
    assert flow.from_owner_id == flow.to_owner_id == company.users["rep_a2"].id
    assert flow.actor_id == manager.user_id and f"#{keep}" in flow.note
    assert opps[kept_opp].pool_state == "owned"
    assert tags_of(db, keep) == ["hot", "vip"]
    merged = fresh(db, Lead, merge)
    assert (merged.merged_into_id, merged.updated_at) == (keep, now)

    card = get_lead_detail(db, company.actor(db, "admin"), keep)
    assert [o.id for o in card.opportunities] == sorted([kept_opp, duplicate, moving, old.id])
    assert [f.content for f in card.follow_ups] == ["booked a trial"]
    assert card.flow[0].reason == "merge"
    assert card.merged_from == [(merge, "Wang Fang")]
    with pytest.raises(NotFound):
        get_lead_detail(db, manager, merge)
    with pytest.raises(NotFound):
        update_lead(db, manager, merge, {"city": "x"})

    [entry] = db.exec(select(AuditLog).where(AuditLog.action == "lead.merge")).all()
    assert (entry.target_type, entry.target_id, entry.actor_id) == (
        "lead",
        str(keep),
        manager.user_id,
    )
    assert entry.after["closed_duplicates"] == 1 and entry.after["moved_opportunities"] == 3
    assert entry.before["merged"]["phone"] == "1****0002"
    assert "+86" not in str(entry.before) + str(entry.after)


def test_the_kept_lead_fills_only_its_empty_fields(db, company):
    customer = Customer(platform_user_id="u-9")
    db.add(customer)
    db.commit()
    keep = new_lead(db, phone="13800000001", city="Beijing", email=None)
    merge = new_lead(
        db,
        phone="13800000002",
        city="Shanghai",
        email="w@example.com",
        wechat="wf88",
        campaign="autumn",
        keyword="mba",
    )
    db.get(Lead, merge).customer_id = customer.id
    db.commit()
    merge_leads(db, SYSTEM, keep, merge)
    kept = fresh(db, Lead, keep)
    assert (kept.city, kept.email, kept.wechat, kept.campaign, kept.keyword) == (
        "Beijing",
        "w@example.com",
        "wf88",
        "autumn",
        "mba",
    )
    assert (kept.customer_id, kept.name, kept.phone) == (customer.id, "Wang Fang", "+8613800000001")


def test_number_and_external_id_move_to_a_kept_lead_without_them(db, company):
    keep = new_lead(db, phone=None, external_id="web-1")
    merge = new_lead(db, phone="13800005678", external_id="web-2")
    merge_leads(db, SYSTEM, keep, merge)
    kept, merged = fresh(db, Lead, keep), fresh(db, Lead, merge)
    assert (kept.phone, kept.phone_suffix, kept.no_phone, kept.external_id) == (
        "+8613800005678",
        "5678",
        False,
        "web-1",
    )
    assert (merged.phone, merged.phone_suffix, merged.external_id) == (None, None, "web-2")
    found = search_leads(db, SYSTEM, LeadFilter(text="138 0000 5678")).rows
    assert [row.id for row in found] == [keep]

    other_keep = new_lead(db, phone="13800001111")
    other_merge = new_lead(db, phone=None, external_id="web-3")
    merge_leads(db, SYSTEM, other_keep, other_merge)
    assert fresh(db, Lead, other_keep).external_id == "web-3"
    assert fresh(db, Lead, other_merge).external_id is None


def test_a_merged_lead_keeps_its_number_when_the_kept_lead_has_one(db, company):
    keep = new_lead(db, phone="13800000001")
    merge = new_lead(db, phone="13800000002")
    third = new_lead(db, phone="13800000003")
    merge_leads(db, SYSTEM, keep, merge)
    assert fresh(db, Lead, merge).phone == "+8613800000002"
    # Its number now finds the person where they live on: the kept lead.
    found = search_leads(db, SYSTEM, LeadFilter(text="13800000002")).rows
    assert [row.id for row in found] == [keep]
    # The number is still taken: an edit names the surviving lead, not the merged row.
    with pytest.raises(ValidationError) as caught:
        update_lead(db, SYSTEM, third, {"phone": "13800000002"})
    assert (caught.value.key, caught.value.params) == (
        "This number belongs to lead #{lead_id}. Merge the two leads instead.",
        {"lead_id": keep},
    )
    with pytest.raises(ValidationError) as caught:
        update_lead(db, SYSTEM, keep, {"phone": "13800000002"})
    assert (caught.value.key, caught.value.params) == (
        "This number belongs to lead #{lead_id}, which was merged into this one.",
        {"lead_id": merge},
    )


def test_the_merged_lead_leaves_search(db, company):
    keep = new_lead(db, name="Zhao Lei", phone="13800000001")
    merge = new_lead(db, name="Zhao Leilei", phone="13800000002")
    admin = company.actor(db, "admin")
    assert {r.id for r in search_leads(db, admin, LeadFilter(text="zhao")).rows} == {keep, merge}
    merge_leads(db, admin, keep, merge)
    assert [r.id for r in search_leads(db, admin, LeadFilter(text="zhao")).rows] == [keep]
    assert search_leads(db, admin, LeadFilter(text="zhao leilei")).rows == []


def test_chains_are_flattened_to_one_hop(db, company):
    a = new_lead(db, phone="13800000001")
    b = new_lead(db, phone="13800000002")
    c = new_lead(db, phone="13800000003")
    merge_leads(db, SYSTEM, b, a)
    merge_leads(db, SYSTEM, c, b)
    assert (fresh(db, Lead, a).merged_into_id, fresh(db, Lead, b).merged_into_id) == (c, c)
    card = get_lead_detail(db, SYSTEM, c)
    assert sorted(card.merged_from) == [(a, "Wang Fang"), (b, "Wang Fang")]
    [entry, _] = db.exec(
        select(AuditLog).where(AuditLog.action == "lead.merge").order_by(AuditLog.id.desc())
    ).all()
    assert entry.after["repointed_lead_ids"] == [a]


def test_merge_needs_the_right_and_both_leads_in_scope(db, company):
    keep = new_lead(db, phone="13800000001")
    merge = new_lead(db, phone="13800000002")
    far = new_lead(db, phone="13800000003")
    give(db, company, keep, company.line, "rep_a1")
    give(db, company, merge, company.line, "rep_b1")
    give(db, company, far, company.line, "rep_c1")
    before = snapshot(db)
    with pytest.raises(PermissionDenied):
        merge_leads(db, company.actor(db, "rep_a1"), keep, merge)
    with pytest.raises(PermissionDenied):
        merge_leads(db, company.actor(db, "lead_a"), keep, merge)
    manager = company.actor(db, "bj_manager")  # Beijing: teams A and B, not Shanghai's C
    with pytest.raises(NotFound) as caught:
        merge_leads(db, manager, keep, far)
    assert caught.value.params == {"entity": "lead", "id": far}
    with pytest.raises(NotFound):
        merge_leads(db, manager, far, keep)
    with pytest.raises(NotFound):
        merge_leads(db, manager, keep, 999_999)
    with pytest.raises(ValidationError) as caught:
        merge_leads(db, manager, keep, keep)
    assert caught.value.key == "A lead cannot be merged into itself."
    assert snapshot(db) == before
    assert merge_leads(db, manager, keep, merge).closed_duplicates == 1


def test_already_merged_leads_cannot_be_merged_again(db, company):
    a = new_lead(db, phone="13800000001")
    b = new_lead(db, phone="13800000002")
    c = new_lead(db, phone="13800000003")
    merge_leads(db, SYSTEM, a, b)
    for keep_id, merge_id in ((c, b), (b, c)):
        with pytest.raises(ValidationError) as caught:
            merge_leads(db, SYSTEM, keep_id, merge_id)
        assert (caught.value.key, caught.value.params) == (
            "Lead #{lead_id} was already merged into another lead.",
            {"lead_id": b},
        )


def test_a_merge_failing_at_the_end_changes_nothing(db, company, monkeypatch):
    keep = new_lead(db, phone=None, external_id="web-1", tags=("vip",))
    merge = new_lead(
        db, phone="13800000002", lines=("kaoyan", "ielts"), tags=("hot",), email="w@example.com"
    )
    give(db, company, keep, company.line, "rep_a1")
    give(db, company, merge, company.line, "rep_a2")
    before = snapshot(db)

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    # The audit entry is the last write: every other statement has run by then.
    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        merge_leads(db, SYSTEM, keep, merge)
    assert snapshot(db) == before
    monkeypatch.undo()
    assert merge_leads(db, SYSTEM, keep, merge).moved_opportunities == 2


def test_merge_runs_a_fixed_number_of_statements_however_much_it_moves(db, company):
    def statements_for(tag_count: int, closed_count: int, base: int) -> int:
        keep = new_lead(db, phone=f"1380000{base:04d}", tags=("a",))
        merge = new_lead(
            db,
            phone=f"1380000{base + 1:04d}",
            lines=("kaoyan", "ielts"),
            tags=[f"t{i}" for i in range(tag_count)],
        )
        db.add_all(
            Opportunity(lead_id=merge, business_line_id=company.line.id, pool_state="closed")
            for _ in range(closed_count)
        )
        db.commit()
        seen: list[str] = []
        engine = db.get_bind()

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            result = merge_leads(db, SYSTEM, keep, merge)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert (result.moved_tags, result.moved_opportunities) == (tag_count, closed_count + 2)
        return len(seen)

    assert statements_for(1, 1, 10) == statements_for(30, 20, 20)
