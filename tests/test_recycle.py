"""Recycling: idle opportunities go back by rule, exempt ones never, dormancy after K
recycles, and owners are warned before it happens."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.recycle import recycle_due, recycle_idle_opportunities, warn_recycles
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FlowEvent, Notice, Opportunity
from crm_core.platform import clock
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

START = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def recycle_rule(db, company, name="Idle", priority=10, unit="hq", line=None, **conditions):
    action = {
        k: conditions.pop(k)
        for k in ("target", "team_unit_id", "dormant_after", "warn_days")
        if k in conditions
    }
    conditions.setdefault("trigger", "no_follow_up")
    conditions.setdefault("after", 7)
    saved = save_rule(
        db,
        company.actor(db, "admin"),
        "recycle",
        RuleDraft(
            name=name,
            priority=priority,
            org_unit_id=company.units[unit].id,
            business_line_id=line,
            conditions=conditions,
            action=action,
        ),
    )
    db.commit()
    return saved


def owned(db, company, owner="rep_a1", tail=1, **values) -> Opportunity:
    opp = add_owned_opportunity(db, company, owner, tail)
    values.setdefault("assigned_at", START)
    db.exec(update(Opportunity).where(Opportunity.id == opp.id).values(**values))
    db.commit()
    db.refresh(opp)
    return opp


def sweep(db):
    result = recycle_idle_opportunities(db, SYSTEM)
    db.commit()
    return result


def state(db, opp) -> tuple[str, int | None, int]:
    db.refresh(opp)
    return opp.pool_state, opp.owner_id, opp.recycle_count


def test_no_follow_up_for_n_days_sends_it_to_the_pool_with_one_flow_event(db, company):
    recycle_rule(db, company, after=7)
    opp = owned(db, company)
    clock.advance(timedelta(days=6, hours=23))
    assert sweep(db).recycled == 0
    clock.advance(timedelta(hours=2))
    assert sweep(db).recycled == 1
    assert state(db, opp) == ("public", None, 1)
    assert opp.org_unit_id == company.units["team_a"].id  # the team's pool
    event = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opp.id)).one()
    assert (event.from_owner_id, event.to_owner_id, event.reason, event.to_state) == (
        company.users["rep_a1"].id,
        None,
        "recycle",
        "public",
    )


def test_a_recent_follow_up_keeps_it(db, company):
    recycle_rule(db, company, after=7)
    opp = owned(db, company, last_follow_up_at=START + timedelta(days=5))
    clock.advance(timedelta(days=8))
    assert sweep(db).recycled == 0
    clock.advance(timedelta(days=5))
    assert sweep(db).recycled == 1 and state(db, opp)[0] == "public"


def test_no_first_follow_up_within_hours(db, company):
    recycle_rule(db, company, trigger="no_first_follow_up", after=24, warn_days=0)
    worked = owned(db, company, tail=1, first_follow_up_at=START + timedelta(hours=1))
    idle = owned(db, company, tail=2)
    clock.advance(timedelta(hours=25))
    sweep(db)
    assert state(db, worked)[0] == "owned" and state(db, idle)[0] == "public"


def test_no_stage_progress_and_not_won(db, company):
    recycle_rule(db, company, name="Stuck", trigger="no_stage_progress", after=10)
    recycle_rule(db, company, name="Slow", priority=20, trigger="not_won", after=30)
    moving = owned(
        db,
        company,
        tail=1,
        stage_changed_at=START + timedelta(days=9),
        last_follow_up_at=START + timedelta(days=25),
    )
    stuck = owned(db, company, tail=2, last_follow_up_at=START + timedelta(days=9))
    clock.advance(timedelta(days=11))
    sweep(db)
    assert state(db, stuck)[0] == "public" and state(db, moving)[0] == "owned"
    clock.advance(timedelta(days=20))
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == moving.id)
        .values(stage_changed_at=clock.now() - timedelta(days=1))
    )
    db.commit()
    result = sweep(db)
    assert state(db, moving)[0] == "public"
    assert [r.recycled for r in result.rules] == [0, 1]


def test_exempt_opportunities_are_never_recycled(db, company):
    recycle_rule(db, company, after=3, exempt_from_stage="trial_booked", exempt_intentions=["A"])
    far = owned(db, company, tail=1, stage="trial_done")
    hot = owned(db, company, tail=2, intention_level="A")
    protected = owned(db, company, tail=3, protected_until=START + timedelta(days=30))
    locked = owned(db, company, tail=4, locked=True)
    plain = owned(db, company, tail=5, intention_level="B")
    clock.advance(timedelta(days=20))
    sweep(db)
    for opp in (far, hot, protected, locked):
        assert state(db, opp)[0] == "owned"
    assert state(db, plain)[0] == "public"
    clock.advance(timedelta(days=11))
    sweep(db)
    assert state(db, protected)[0] == "public"  # protection over


def test_scope_by_unit_and_business_line(db, company):
    recycle_rule(db, company, unit="team_b", after=2)
    a = owned(db, company, owner="rep_a1", tail=1)
    b = owned(db, company, owner="rep_b1", tail=2)
    clock.advance(timedelta(days=3))
    sweep(db)
    assert state(db, a)[0] == "owned" and state(db, b)[0] == "public"


def test_redispatch_excludes_the_previous_owner(db, company):
    recycle_rule(db, company, after=2, target="redispatch")
    save_rule(
        db,
        company.actor(db, "admin"),
        "dispatch",
        RuleDraft(
            name="Team A",
            org_unit_id=company.units["hq"].id,
            action={"target_user_ids": [company.users["rep_a1"].id, company.users["rep_a2"].id]},
        ),
    )
    db.commit()
    opp = owned(db, company, owner="rep_a1")
    clock.advance(timedelta(days=3))
    sweep(db)
    assert state(db, opp)[:2] == ("unassigned", None) and opp.unassigned_reason == "recycled"
    dispatch_unassigned(db, SYSTEM)
    db.commit()
    assert state(db, opp)[:2] == ("owned", company.users["rep_a2"].id)


def test_to_a_named_team_pool(db, company):
    recycle_rule(db, company, after=2, target="team", team_unit_id=company.units["team_c"].id)
    opp = owned(db, company)
    clock.advance(timedelta(days=3))
    sweep(db)
    db.refresh(opp)
    assert opp.pool_state == "public" and opp.org_unit_id == company.units["team_c"].id


def test_dormant_after_k_recycles(db, company):
    recycle_rule(db, company, after=2, dormant_after=2)
    opp = owned(db, company)
    clock.advance(timedelta(days=3))
    sweep(db)
    assert state(db, opp) == ("public", None, 1)
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == opp.id)
        .values(pool_state="owned", owner_id=company.users["rep_a2"].id, assigned_at=clock.now())
    )
    db.commit()
    clock.advance(timedelta(days=3))
    result = sweep(db)
    assert state(db, opp) == ("dormant", None, 2) and result.dormant == 1
    events = db.exec(
        select(FlowEvent.to_state).where(FlowEvent.opportunity_id == opp.id).order_by(FlowEvent.id)
    ).all()
    assert events == ["public", "dormant"]


def test_the_warning_appears_before_the_recycle(db, company):
    recycle_rule(db, company, after=7, warn_days=2)
    opp = owned(db, company)
    rep = company.actor(db, "rep_a1")
    clock.advance(timedelta(days=4))
    assert warn_recycles(db, SYSTEM) == 0 and recycle_due(db, rep) == []
    clock.advance(timedelta(days=1, hours=1))  # 5 days idle: due in under 2 days
    assert warn_recycles(db, SYSTEM) == 1
    db.commit()
    due = recycle_due(db, rep)
    assert [d.opportunity_id for d in due] == [opp.id]
    assert due[0].due_at == START + timedelta(days=7) and due[0].days_left(clock.now()) == 1
    notice = db.exec(select(Notice).where(Notice.kind == "recycle.warning")).one()
    assert notice.user_id == rep.user_id and notice.params == {"count": 1}
    assert warn_recycles(db, SYSTEM) == 0  # warned once
    assert state(db, opp)[0] == "owned"
    clock.advance(timedelta(days=2))
    sweep(db)
    assert state(db, opp)[0] == "public"


def test_a_dry_run_counts_without_changing_anything(db, company):
    recycle_rule(db, company, after=2, dormant_after=1)
    recycle_rule(db, company, name="Second", priority=20, after=1)
    owned(db, company, tail=1)
    owned(db, company, tail=2)
    clock.advance(timedelta(days=3))
    result = recycle_idle_opportunities(db, company.actor(db, "bj_manager"), dry_run=True)
    assert (result.recycled, result.dormant) == (2, 2)
    assert [r.recycled for r in result.rules] == [2, 0]  # counted once, by the first rule
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0
    assert db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one() == 2
