"""The public pool: who sees what, claim limits, and one winner when many click at once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, update
from sqlmodel import Session, select

from crm_core.circulation.pool import claim_allowance, claim_from_pool, count_pool, list_pool
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import ClaimRule, FlowEvent, Opportunity, Role, User, UserRole
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.errors import CrmError, ValidationError
from tests.factories import add_waiting_opportunities, build_small_company

START = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def pooled(db, company, count: int, unit: str | None = "team_a") -> list[int]:
    ids = add_waiting_opportunities(db, company, count)
    unit_id = company.units[unit].id if unit else None
    db.exec(
        update(Opportunity)
        .where(Opportunity.id.in_(ids))
        .values(pool_state="public", org_unit_id=unit_id)
    )
    db.commit()
    return ids


def claim(db, company, username, ids):
    result = claim_from_pool(db, company.actor(db, username), ids)
    db.commit()
    return result


def test_a_rep_sees_their_team_pool_the_pools_above_and_the_company_pool(db, company):
    team_a = pooled(db, company, 2, "team_a")
    beijing = pooled(db, company, 1, "beijing")
    company_wide = pooled(db, company, 1, None)
    team_c = pooled(db, company, 1, "team_c")
    rep = company.actor(db, "rep_a1")
    seen = {row.opportunity_id for row in list_pool(db, rep)}
    assert seen == set(team_a + beijing + company_wide)
    assert count_pool(db, rep) == 4
    assert team_c[0] not in {r.opportunity_id for r in list_pool(db, company.actor(db, "rep_b1"))}
    assert all("****" in row.phone for row in list_pool(db, rep))


def test_a_claim_moves_the_opportunity_with_one_flow_event(db, company):
    ids = pooled(db, company, 2)
    result = claim(db, company, "rep_a1", ids)
    assert result.claimed == ids and result.taken == []
    rep = company.users["rep_a1"]
    for opp_id in ids:
        opp = db.get(Opportunity, opp_id)
        db.refresh(opp)
        assert (opp.pool_state, opp.owner_id, opp.assigned_at) == ("owned", rep.id, START)
    events = db.exec(select(FlowEvent).where(FlowEvent.reason == "claim")).all()
    assert sorted(e.opportunity_id for e in events) == ids
    assert all(
        (e.from_state, e.to_owner_id, e.actor_id) == ("public", rep.id, rep.id) for e in events
    )


def test_what_somebody_else_claimed_first_is_reported_as_taken(db, company):
    ids = pooled(db, company, 1)
    claim(db, company, "rep_a1", ids)
    result = claim(db, company, "rep_a2", ids)
    assert result.claimed == [] and result.taken == ids
    assert db.get(Opportunity, ids[0]).owner_id == company.users["rep_a1"].id


def test_claims_outside_the_reps_pool_are_taken_not_claimed(db, company):
    ids = pooled(db, company, 1, "team_c")
    assert claim(db, company, "rep_a1", ids).taken == ids


def test_the_daily_claim_limit_of_the_units_rule(db, company):
    save_rule(
        db,
        company.actor(db, "admin"),
        "claim",
        RuleDraft(
            name="Beijing",
            org_unit_id=company.units["beijing"].id,
            action={"daily_claims": 2, "cooldown_days": 0},
        ),
    )
    db.commit()
    ids = pooled(db, company, 4)
    assert claim(db, company, "rep_a1", ids[:2]).claimed == ids[:2]
    with pytest.raises(ValidationError) as refused:
        claim(db, company, "rep_a1", ids[2:3])
    assert refused.value.key == "You reached today's claim limit ({cap})."
    db.rollback()
    clock.advance(timedelta(days=1))
    assert claim(db, company, "rep_a1", ids[2:3]).claimed == ids[2:3]


def test_a_selection_larger_than_what_is_left_is_refused_whole(db, company):
    db.add(
        ClaimRule(
            name="HQ",
            org_unit_id=company.units["hq"].id,
            action={"daily_claims": 3, "cooldown_days": 0},
        )
    )
    db.commit()
    ids = pooled(db, company, 5)
    with pytest.raises(ValidationError) as refused:
        claim(db, company, "rep_a1", ids)
    assert (
        refused.value.key == "You may claim {left} more now: select fewer."
        and refused.value.params["left"] == 3
    )
    db.rollback()
    assert db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one() == 0
    assert claim_allowance(db, company.actor(db, "rep_a1")).left == 3


def test_the_holding_cap(db, company):
    db.exec(update(User).where(User.id == company.users["rep_a1"].id).values(holding_cap=1))
    db.commit()
    ids = pooled(db, company, 2)
    claim(db, company, "rep_a1", ids[:1])
    with pytest.raises(ValidationError) as refused:
        claim(db, company, "rep_a1", ids[1:])
    assert refused.value.key == "You hold {cap} opportunities, your holding cap."


def test_the_cool_down_on_what_was_recycled_from_the_rep(db, company):
    ids = pooled(db, company, 2)
    db.add(
        FlowEvent(
            opportunity_id=ids[0],
            from_owner_id=company.users["rep_a1"].id,
            from_state="owned",
            to_state="public",
            reason="recycle",
            at=START - timedelta(days=2),
        )
    )
    db.commit()
    result = claim(db, company, "rep_a1", ids)
    assert result.cooling == [ids[0]] and result.claimed == [ids[1]]
    clock.advance(timedelta(days=6))  # default cool-down: 7 days
    assert claim(db, company, "rep_a1", ids[:1]).claimed == ids[:1]


def test_a_resigned_rep_cannot_claim(db, company):
    ids = pooled(db, company, 1)
    actor = company.actor(db, "rep_a1")
    db.exec(update(User).where(User.id == actor.user_id).values(status="resigned"))
    db.commit()
    with pytest.raises(CrmError):
        claim_from_pool(db, actor, ids)


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_many_reps_claiming_one_opportunity_at_once_make_exactly_one_winner(db, company, engine):
    """20 reps, 20 threads, 20 connections, one opportunity: one owner, one flow event."""
    rep_role = db.exec(select(Role).where(Role.code == "rep")).one()
    team = company.units["team_a"].id
    db.execute(
        insert(User),
        [
            {
                "username": f"racer{i}",
                "employee_no": f"R{i:04d}",
                "full_name": f"Racer {i}",
                "org_unit_id": team,
                "password_hash": "x",
                "status": "active",
                "enabled": True,
                "skill_tags": [],
                "dispatch_weight": 1,
                "daily_cap": 30,
                "holding_cap": 300,
                "on_shift": True,
                "language": "zh",
                "must_change_password": False,
                "failed_login_count": 0,
                "created_at": START,
            }
            for i in range(20)
        ],
    )
    racers = db.exec(select(User.id).where(User.username.like("racer%"))).all()
    db.execute(insert(UserRole), [{"user_id": u, "role_id": rep_role.id} for u in racers])
    db.commit()
    target = pooled(db, company, 1)
    actors = [load_actor(db, u) for u in racers]
    barrier = threading.Barrier(len(actors))
    outcomes: list[str] = []

    def race(actor):
        with Session(engine) as session:
            barrier.wait()
            try:
                result = claim_from_pool(session, actor, target)
                session.commit()
                outcomes.append("won" if result.claimed else "taken")
            except CrmError:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=race, args=(a,)) for a in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1 and outcomes.count("taken") == len(actors) - 1
    opp = db.get(Opportunity, target[0])
    db.refresh(opp)
    events = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opp.id)).all()
    assert len(events) == 1 and events[0].to_owner_id == opp.owner_id
    assert opp.owner_id in racers
