"""Collaborators on an opportunity: who may add them, what they reach, what they may do."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.circulation.collaborators import (
    add_collaborator,
    candidates,
    change_access,
    list_collaborators,
    may_manage,
    my_access,
    remove_collaborator,
    shared_with_me,
)
from crm_core.circulation.opportunities import count_by, get_opportunity, list_opportunities
from crm_core.circulation.override import return_to_pool
from crm_core.leads.edit import update_lead
from crm_core.leads.search import count_leads
from crm_core.models import AuditLog, FollowUp, Notice, Opportunity
from crm_core.org.users import create_user, update_user
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.board import BoardFilter, count_board, list_board
from crm_core.sales.detail import get_opportunity_detail
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up, set_intention
from crm_core.sales.lead_card import get_lead_detail
from crm_core.sales.transfers import request_transfer
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company

NOW = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    company = build_small_company(db)
    company.users["sh_manager"] = create_user(
        db,
        SYSTEM,
        username="sh_manager",
        full_name="Sh Manager",
        employee_no="E0099",
        password=PASSWORD,
        org_unit_id=company.units["shanghai"].id,
        role_codes=["sales_manager"],
    )
    db.commit()
    return company


def note(text: str = "Called") -> FollowUpInput:
    return FollowUpInput(channel="call", content=text, next_follow_up_at=NOW + timedelta(days=1))


def test_owner_adds_a_colleague_of_another_region_who_then_reads_it(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    owner, teacher = company.actor(db, "rep_a1"), company.actor(db, "rep_c1")
    with pytest.raises(NotFound):
        get_opportunity(db, teacher, opp.id)
    assert may_manage(db, owner, opp.id)
    assert company.users["rep_c1"].id in dict(candidates(db, owner, opp.id))
    add_collaborator(db, owner, opp.id, company.users["rep_c1"].id, "read")
    db.commit()
    # The actor of the colleague's next request reaches it.
    teacher = company.actor(db, "rep_c1")
    assert teacher.collaborates
    assert get_opportunity(db, teacher, opp.id).id == opp.id
    assert get_opportunity_detail(db, teacher, opp.id).id == opp.id
    assert get_lead_detail(db, teacher, opp.lead_id).id == opp.lead_id
    assert [r.opportunity_id for r in list_board(db, teacher, BoardFilter())] == [opp.id]
    assert count_board(db, teacher, BoardFilter()) == 1
    assert my_access(db, teacher, opp.id) == "read"
    assert [(r.opportunity_id, r.access, r.owner) for r in shared_with_me(db, teacher)] == [
        (opp.id, "read", "Rep A1")
    ]
    [row] = list_collaborators(db, owner, opp.id)
    assert (row.name, row.access, row.added_by) == ("Rep C1", "read", "Rep A1")
    told = db.exec(select(Notice).where(Notice.user_id == company.users["rep_c1"].id)).one()
    assert (told.kind, told.params) == (
        "collaborator.added",
        {"opportunity": opp.id, "name": "Rep A1"},
    )
    entry = db.exec(select(AuditLog).where(AuditLog.action == "opportunity.collaborator_add")).one()
    assert entry.target_id == str(opp.id)
    assert entry.after["access"] == "read"


def test_a_read_collaborator_is_refused_every_write_with_the_reason(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    add_collaborator(db, company.actor(db, "rep_a1"), opp.id, company.users["rep_c1"].id)
    db.commit()
    teacher = company.actor(db, "rep_c1")
    with pytest.raises(PermissionDenied) as refused:
        log_follow_up(db, teacher, opp.id, note())
    assert "read access" in refused.value.key
    with pytest.raises(PermissionDenied):
        set_intention(db, teacher, opp.id, "A")
    with pytest.raises(PermissionDenied):
        request_transfer(db, teacher, opp.id, "Not mine")
    with pytest.raises(NotFound):
        update_lead(db, teacher, opp.lead_id, {"name": "Renamed"})
    with pytest.raises(PermissionDenied):
        add_collaborator(db, teacher, opp.id, company.users["rep_b1"].id)
    assert not may_manage(db, teacher, opp.id)
    assert db.exec(select(FollowUp)).all() == []


def test_a_follow_up_collaborator_logs_follow_ups_and_nothing_more(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    add_collaborator(
        db, company.actor(db, "rep_a1"), opp.id, company.users["rep_c1"].id, "follow_up"
    )
    db.commit()
    adviser = company.actor(db, "rep_c1")
    entry = log_follow_up(db, adviser, opp.id, note("Explained the course"))
    set_intention(db, adviser, opp.id, "B")
    db.commit()
    assert entry.author_id == company.users["rep_c1"].id
    assert db.get(Opportunity, opp.id).owner_id == company.users["rep_a1"].id
    with pytest.raises(PermissionDenied) as refused:
        log_follow_up(db, adviser, opp.id, FollowUpInput(channel="call", content="x", stage="lost"))
    assert "log follow-ups" in refused.value.key
    with pytest.raises(PermissionDenied):
        request_transfer(db, adviser, opp.id, "Give it to me")
    with pytest.raises(PermissionDenied):
        remove_collaborator(db, adviser, opp.id, company.users["rep_c1"].id)
    # A manager added as a collaborator outside their region still may not move it.
    add_collaborator(
        db, company.actor(db, "rep_a1"), opp.id, company.users["sh_manager"].id, "follow_up"
    )
    db.commit()
    sh_manager = company.actor(db, "sh_manager")
    assert not may_manage(db, sh_manager, opp.id)
    with pytest.raises(NotFound):
        return_to_pool(db, sh_manager, [opp.id])
    with pytest.raises(PermissionDenied):
        add_collaborator(db, sh_manager, opp.id, company.users["rep_b1"].id)


def test_removing_is_immediate(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    owner = company.actor(db, "rep_a1")
    add_collaborator(db, owner, opp.id, company.users["rep_c1"].id, "follow_up")
    db.commit()
    teacher = company.actor(db, "rep_c1")
    assert get_opportunity(db, teacher, opp.id).id == opp.id
    remove_collaborator(db, owner, opp.id, company.users["rep_c1"].id)
    db.commit()
    # The same actor object, loaded before the removal: the next read refuses.
    with pytest.raises(NotFound):
        get_opportunity(db, teacher, opp.id)
    with pytest.raises(NotFound):
        get_lead_detail(db, teacher, opp.lead_id)
    with pytest.raises(NotFound):
        log_follow_up(db, teacher, opp.id, note())
    assert list_board(db, teacher, BoardFilter()) == []
    assert shared_with_me(db, teacher) == []
    actions = db.exec(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["opportunity.collaborator_add", "opportunity.collaborator_remove"]


def test_who_may_add_change_and_remove(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep_c1 = company.users["rep_c1"].id
    # A colleague of the same team without assign_opportunities does not reach it.
    with pytest.raises(NotFound):
        add_collaborator(db, company.actor(db, "rep_a2"), opp.id, rep_c1)
    assert not may_manage(db, company.actor(db, "rep_a2"), opp.id)
    # A manager of another region does not reach it either.
    with pytest.raises(NotFound):
        add_collaborator(db, company.actor(db, "rep_c1"), opp.id, company.users["rep_b1"].id)
    # The team lead (assign_opportunities over the team) may.
    lead_a = company.actor(db, "lead_a")
    assert may_manage(db, lead_a, opp.id)
    add_collaborator(db, lead_a, opp.id, rep_c1, "read")
    change_access(db, company.actor(db, "bj_manager"), opp.id, rep_c1, "follow_up")
    db.commit()
    assert my_access(db, company.actor(db, "rep_c1"), opp.id) == "follow_up"
    entry = db.exec(
        select(AuditLog).where(AuditLog.action == "opportunity.collaborator_access")
    ).one()
    assert (entry.before["access"], entry.after["access"]) == ("read", "follow_up")
    with pytest.raises(ValidationError):
        add_collaborator(db, lead_a, opp.id, rep_c1, "read")  # already there
    with pytest.raises(ValidationError):
        add_collaborator(db, lead_a, opp.id, company.users["rep_a1"].id)  # the owner
    with pytest.raises(ValidationError):
        add_collaborator(db, lead_a, opp.id, company.users["rep_b1"].id, "write")
    with pytest.raises(NotFound):
        change_access(db, lead_a, opp.id, company.users["rep_b1"].id, "read")


def test_the_colleague_must_be_active_and_allowed_to_see_opportunities(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    owner = company.actor(db, "rep_a1")
    clerk = create_user(
        db,
        SYSTEM,
        username="clerk",
        full_name="Clerk",
        employee_no="E0100",
        password=PASSWORD,
        org_unit_id=company.units["hq"].id,
        role_codes=["finance"],
    )
    db.commit()
    # Finance views opportunities (read) but does not work them (follow-up).
    with pytest.raises(ValidationError):
        add_collaborator(db, owner, opp.id, clerk.id, "follow_up")
    add_collaborator(db, owner, opp.id, clerk.id, "read")
    update_user(db, SYSTEM, company.users["rep_b1"].id, status="resigned")
    db.commit()
    with pytest.raises(ValidationError):
        add_collaborator(db, owner, opp.id, company.users["rep_b1"].id)
    names = dict(candidates(db, owner, opp.id))
    assert clerk.id not in names and company.users["rep_b1"].id not in names
    assert company.users["rep_a1"].id not in names


def test_counts_over_the_scope_parts_count_a_shared_opportunity_once(db, company):
    mine = add_owned_opportunity(db, company, "rep_a1", 1)
    theirs = add_owned_opportunity(db, company, "rep_c1", 2)
    same_team = add_owned_opportunity(db, company, "rep_a2", 3)
    add_collaborator(db, company.actor(db, "rep_c1"), theirs.id, company.users["bj_manager"].id)
    add_collaborator(db, company.actor(db, "rep_a2"), same_team.id, company.users["rep_a1"].id)
    # A collaborator who became the owner later is counted once, as the owner.
    add_collaborator(db, company.actor(db, "rep_c1"), theirs.id, company.users["rep_a1"].id)
    db.commit()
    theirs.owner_id = company.users["rep_a1"].id
    db.add(theirs)
    db.commit()
    for username in ("rep_a1", "bj_manager", "lead_a"):
        actor = company.actor(db, username)
        listed = {o.id for o in list_opportunities(db, actor, limit=100)}
        assert sum(count_by(db, actor, Opportunity.stage).values()) == len(listed)
        assert count_board(db, actor, BoardFilter()) == len(listed)
        assert count_leads(db, actor) == len(
            {o.lead_id for o in list_opportunities(db, actor, limit=100)}
        )
    assert {o.id for o in list_opportunities(db, company.actor(db, "rep_a1"))} == {
        mine.id,
        theirs.id,
        same_team.id,
    }
    assert theirs.id in {
        o.id for o in list_opportunities(db, company.actor(db, "bj_manager"), limit=100)
    }


def test_a_collaborator_finds_the_lead_and_sees_contacts_as_their_role_allows(db, company):
    from crm_core.custom_fields.values import set_values
    from crm_core.leads.masking import reveal_phone
    from crm_core.leads.search import LeadFilter, search_leads

    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    add_collaborator(db, company.actor(db, "rep_a1"), opp.id, company.users["rep_c1"].id)
    db.commit()
    teacher = company.actor(db, "rep_c1")
    page = search_leads(db, teacher, LeadFilter(text="Lead 1"))
    assert [r.id for r in page.rows] == [opp.lead_id]
    # A rep's role masks the phone; a reveal is theirs to make, and is logged.
    detail = get_opportunity_detail(db, teacher, opp.id)
    assert detail.phone != "+8613800000001"
    assert reveal_phone(db, teacher, opp.lead_id) == "+8613800000001"
    db.commit()
    assert db.exec(
        select(AuditLog).where(
            AuditLog.action == "phone.unmask", AuditLog.actor_id == teacher.user_id
        )
    ).first()
    # Writes on the lead and the opportunity's fields stay with the owner's side.
    with pytest.raises(NotFound):
        set_values(db, teacher, "opportunity", opp.id, {})
    # Another rep of the owner's team, collaborating on nothing, still reaches nothing.
    with pytest.raises(NotFound):
        get_opportunity(db, company.actor(db, "rep_b1"), opp.id)
