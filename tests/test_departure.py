"""Departure: a resigned rep's open opportunities move by their unit's rule, set-based,
each with one flow event; a rep on leave keeps theirs."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, insert
from sqlmodel import select

from crm_core.models import DepartureRule, FlowEvent, Lead, Opportunity
from crm_core.org.units import set_unit_head
from crm_core.org.users import update_user
from crm_core.platform import clock
from tests.factories import SYSTEM, build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def give_opportunities(db, company, owner: str, count: int, closed: int = 0) -> None:
    """`count` open and `closed` won opportunities for `owner`, inserted in bulk."""
    user = company.users[owner]
    base = db.exec(select(func.count()).select_from(Lead)).one()
    total = count + closed
    db.execute(
        insert(Lead),
        [
            {
                "name": f"L{base + i}",
                "phone": f"+86139{base + i:08d}",
                "channel": "sem",
                "created_at": clock.now(),
            }
            for i in range(total)
        ],
    )
    lead_ids = db.exec(select(Lead.id).order_by(Lead.id.desc()).limit(total)).all()
    db.execute(
        insert(Opportunity),
        [
            {
                "lead_id": lead_id,
                "business_line_id": company.line.id,
                "owner_id": user.id,
                "org_unit_id": user.org_unit_id,
                "pool_state": "owned" if i < count else "closed",
                "stage": "contacted" if i < count else "won",
                "created_at": clock.now(),
                "locked": False,
                "recycle_count": 0,
                "pipeline_type": "new",
            }
            for i, lead_id in enumerate(lead_ids)
        ],
    )
    db.commit()


def owned_by(db, user_id):
    return db.exec(
        select(func.count()).where(
            Opportunity.owner_id == user_id, Opportunity.pool_state == "owned"
        )
    ).one()


def add_rule(db, company, unit: str, target: str) -> DepartureRule:
    rule = DepartureRule(
        name=f"{unit} -> {target}", org_unit_id=company.units[unit].id, action={"target": target}
    )
    db.add(rule)
    db.commit()
    return rule


def test_without_a_rule_they_go_to_the_public_pool(db, company):
    give_opportunities(db, company, "rep_a1", 3, closed=2)
    change = update_user(db, SYSTEM, company.users["rep_a1"].id, status="resigned")
    db.commit()
    assert (change.departure.target, change.departure.moved) == ("public_pool", 3)
    states = dict(
        db.exec(select(Opportunity.pool_state, func.count()).group_by(Opportunity.pool_state)).all()
    )
    assert states == {"public": 3, "closed": 2}
    # Won opportunities keep their owner: revenue stays credited.
    assert (
        db.exec(
            select(func.count()).where(Opportunity.owner_id == company.users["rep_a1"].id)
        ).one()
        == 2
    )


def test_team_lead_rule_from_an_ancestor_unit(db, company):
    rule = add_rule(db, company, "beijing", "team_lead")
    set_unit_head(db, SYSTEM, company.units["team_a"].id, company.users["lead_a"].id)
    give_opportunities(db, company, "rep_a1", 4)
    change = update_user(db, SYSTEM, company.users["rep_a1"].id, status="resigned")
    db.commit()
    assert change.departure.rule_id == rule.id
    assert owned_by(db, company.users["lead_a"].id) == 4
    events = db.exec(select(FlowEvent)).all()
    assert len(events) == 4
    assert {(e.reason, e.from_owner_id, e.to_owner_id, e.rule_id) for e in events} == {
        ("departure", company.users["rep_a1"].id, company.users["lead_a"].id, rule.id)
    }


def test_team_lead_rule_without_a_lead_falls_back_to_the_pool(db, company):
    add_rule(db, company, "team_b", "team_lead")
    give_opportunities(db, company, "rep_b1", 2)
    change = update_user(db, SYSTEM, company.users["rep_b1"].id, status="resigned")
    assert change.departure.fell_back and change.departure.target == "public_pool"


def test_redispatch_rule_returns_them_unassigned(db, company):
    add_rule(db, company, "team_c", "redispatch")
    give_opportunities(db, company, "rep_c1", 2)
    update_user(db, SYSTEM, company.users["rep_c1"].id, status="resigned")
    db.commit()
    rows = db.exec(select(Opportunity)).all()
    assert {(o.pool_state, o.owner_id, o.unassigned_reason) for o in rows} == {
        ("unassigned", None, "departure")
    }


def test_nearest_rule_wins(db, company):
    add_rule(db, company, "hq", "redispatch")
    add_rule(db, company, "team_a", "public_pool")
    give_opportunities(db, company, "rep_a1", 1)
    assert (
        update_user(db, SYSTEM, company.users["rep_a1"].id, status="resigned").departure.target
        == "public_pool"
    )


def test_on_leave_keeps_the_opportunities(db, company):
    give_opportunities(db, company, "rep_a1", 3)
    change = update_user(db, SYSTEM, company.users["rep_a1"].id, status="on_leave")
    db.commit()
    assert change.departure is None
    assert owned_by(db, company.users["rep_a1"].id) == 3
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0


def test_departure_of_a_rep_holding_5000(db, company):
    add_rule(db, company, "team_a", "team_lead")
    set_unit_head(db, SYSTEM, company.units["team_a"].id, company.users["lead_a"].id)
    give_opportunities(db, company, "rep_a2", 5000, closed=100)
    started = time.perf_counter()
    change = update_user(db, SYSTEM, company.users["rep_a2"].id, status="resigned")
    db.commit()
    elapsed = time.perf_counter() - started
    print(f"\ndeparture of 5,000 opportunities on {db.bind.dialect.name}: {elapsed:.3f}s")
    assert change.departure.moved == 5000
    assert owned_by(db, company.users["lead_a"].id) == 5000
    assert (
        db.exec(
            select(func.count()).select_from(FlowEvent).where(FlowEvent.reason == "departure")
        ).one()
        == 5000
    )
    # exactly one event per moved opportunity
    assert db.exec(select(func.count(func.distinct(FlowEvent.opportunity_id)))).one() == 5000


def test_unit_departure_rule_set_from_the_org_services(db, company):
    from crm_core.org.departure import set_unit_departure_target, unit_departure_target

    manager = company.actor(db, "bj_manager")
    set_unit_departure_target(db, manager, company.units["beijing"].id, "redispatch")
    assert unit_departure_target(db, manager, company.units["team_a"].id) == (None, "redispatch")
    set_unit_departure_target(db, manager, company.units["team_a"].id, "public_pool")
    assert unit_departure_target(db, manager, company.units["team_a"].id) == (
        "public_pool",
        "public_pool",
    )
    set_unit_departure_target(db, manager, company.units["team_a"].id, None)
    assert unit_departure_target(db, manager, company.units["team_a"].id)[1] == "redispatch"
    from crm_core.platform.errors import NotFound

    with pytest.raises(NotFound):
        set_unit_departure_target(db, manager, company.units["team_c"].id, "public_pool")
