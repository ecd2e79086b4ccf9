"""A manager's hand: assign, transfer, return, lock, protect, re-activate, each with one
flow event, only within the manager's scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from crm_core.circulation.override import (
    assign_opportunities,
    protect_until,
    reactivate,
    return_to_pool,
    set_locked,
)
from crm_core.circulation.recycle import recycle_idle_opportunities
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FlowEvent, Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

START = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def events(db, opp_id) -> list[FlowEvent]:
    return list(
        db.exec(
            select(FlowEvent).where(FlowEvent.opportunity_id == opp_id).order_by(FlowEvent.id)
        ).all()
    )


def test_transfer_within_scope_writes_one_flow_event(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    manager = company.actor(db, "bj_manager")
    assert assign_opportunities(db, manager, [opp.id], company.users["rep_b1"].id) == 1
    db.commit()
    db.refresh(opp)
    assert opp.owner_id == company.users["rep_b1"].id
    assert opp.org_unit_id == company.units["team_b"].id
    [event] = events(db, opp.id)
    assert (event.reason, event.from_owner_id, event.to_owner_id, event.actor_id) == (
        "transfer",
        company.users["rep_a1"].id,
        company.users["rep_b1"].id,
        manager.user_id,
    )


def test_assigning_a_waiting_opportunity_is_an_assign(db, company):
    from tests.factories import add_waiting_opportunities

    [opp_id] = add_waiting_opportunities(db, company, 1)
    assign_opportunities(db, company.actor(db, "lead_a"), [opp_id], company.users["rep_a2"].id)
    db.commit()
    assert events(db, opp_id)[0].reason == "assign"
    assert db.get(Opportunity, opp_id).pool_state == "owned"


def test_a_manager_outside_the_scope_is_refused_and_nothing_changes(db, company):
    opp = add_owned_opportunity(db, company, "rep_c1", 1)
    with pytest.raises(NotFound):
        assign_opportunities(
            db, company.actor(db, "bj_manager"), [opp.id], company.users["rep_a1"].id
        )
    db.rollback()
    with pytest.raises(NotFound):  # a rep outside the manager's scope
        assign_opportunities(
            db,
            company.actor(db, "lead_a"),
            [add_owned_opportunity(db, company, "rep_a1", 2).id],
            company.users["rep_c1"].id,
        )
    db.rollback()
    with pytest.raises(PermissionDenied):
        return_to_pool(db, company.actor(db, "rep_a1"), [opp.id])
    db.rollback()
    db.refresh(opp)
    assert opp.owner_id == company.users["rep_c1"].id and events(db, opp.id) == []


def test_return_lock_and_unlock(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    manager = company.actor(db, "bj_manager")
    set_locked(db, manager, [opp.id], True)
    db.commit()
    set_locked(db, manager, [opp.id], True)  # already locked: no second event
    return_to_pool(db, manager, [opp.id])
    db.commit()
    db.refresh(opp)
    assert (opp.pool_state, opp.owner_id, opp.locked) == ("public", None, True)
    set_locked(db, manager, [opp.id], False)
    db.commit()
    assert [e.reason for e in events(db, opp.id)] == ["lock", "return", "unlock"]


def test_protection_keeps_it_from_recycling_until_the_date(db, company):
    save_rule(
        db,
        company.actor(db, "admin"),
        "recycle",
        RuleDraft(
            name="Idle",
            org_unit_id=company.units["hq"].id,
            conditions={"trigger": "no_follow_up", "after": 2},
        ),
    )
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    manager = company.actor(db, "bj_manager")
    with pytest.raises(ValidationError):
        protect_until(db, manager, [opp.id], START - timedelta(days=1))
    protect_until(db, manager, [opp.id], START + timedelta(days=10))
    db.commit()
    clock.advance(timedelta(days=5))
    assert recycle_idle_opportunities(db, SYSTEM).recycled == 0
    clock.advance(timedelta(days=6))
    assert recycle_idle_opportunities(db, SYSTEM).recycled == 1
    db.commit()
    assert [e.reason for e in events(db, opp.id)] == ["protect", "recycle"]
    assert events(db, opp.id)[0].note == "2026-03-12 02:00"


def test_reactivating_dormant_opportunities_sends_them_to_dispatch(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == opp.id)
        .values(pool_state="dormant", owner_id=None, recycle_count=3)
    )
    db.commit()
    manager = company.actor(db, "bj_manager")
    with pytest.raises(ValidationError):  # only dormant ones
        reactivate(db, manager, [add_owned_opportunity(db, company, "rep_a1", 2).id])
    db.rollback()
    reactivate(db, manager, [opp.id])
    db.commit()
    db.refresh(opp)
    assert (opp.pool_state, opp.recycle_count) == ("unassigned", 0)
    assert events(db, opp.id)[0].reason == "reactivate"


def test_the_desk_lists_what_the_manager_may_change(db, company):
    from crm_core.circulation.desk import DeskFilter, count_desk, list_desk
    from crm_core.platform.errors import PermissionDenied as Denied
    from tests.factories import add_waiting_opportunities

    mine = add_owned_opportunity(db, company, "rep_a1", 1)
    add_owned_opportunity(db, company, "rep_c1", 2)  # Shanghai: outside Beijing's scope
    waiting = add_waiting_opportunities(db, company, 2)
    manager = company.actor(db, "bj_manager")
    rows = list_desk(db, manager)
    assert {r.opportunity_id for r in rows} == {mine.id, *waiting}
    assert count_desk(db, manager, DeskFilter(pool_state="owned")) == 1
    [row] = list_desk(db, manager, DeskFilter(owner_id=company.users["rep_a1"].id))
    assert (row.owner_name, row.unit, row.lead_name) == ("Rep A1", "Team A", "Lead 1")
    assert "****" in row.phone
    assert count_desk(db, manager, DeskFilter(name="lead ")) == 1
    with pytest.raises(Denied):
        list_desk(db, company.actor(db, "rep_a1"))
