"""Dispatch: the first matching rule gives waiting opportunities to active reps with room,
fairly, within caps, and says why the rest still wait."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from crm_core.circulation.dispatch import dispatch_unassigned, waiting_reasons
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import DispatchRule, FlowEvent, Notice, Opportunity, User
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from tests.factories import SYSTEM, add_waiting_opportunities, build_small_company


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))  # 10:00 in Beijing, a Monday
    yield build_small_company(db)
    clock.reset()


def rule(db, company, name="Team A", priority=10, conditions=None, line=None, **action):
    action.setdefault("target_unit_id", company.units["team_a"].id)
    saved = save_rule(
        db,
        company.actor(db, "admin"),
        "dispatch",
        RuleDraft(
            name=name,
            priority=priority,
            org_unit_id=company.units["hq"].id,
            business_line_id=line,
            conditions=conditions or {},
            action=action,
        ),
    )
    db.commit()
    return saved


def run(db):
    result = dispatch_unassigned(db, SYSTEM)
    db.commit()
    return result


def owners(db, ids=None) -> Counter:
    query = select(Opportunity.owner_id).where(Opportunity.pool_state == "owned")
    if ids is not None:
        query = query.where(Opportunity.id.in_(ids))
    return Counter(db.exec(query).all())


def set_user(db, user: User, **values) -> None:
    db.exec(update(User).where(User.id == user.id).values(**values))
    db.commit()


def test_round_robin_gives_each_rep_of_the_unit_a_fair_share_with_a_flow_event(db, company):
    rule(db, company)
    ids = add_waiting_opportunities(db, company, 9)
    result = run(db)
    a1, a2, lead = (company.users[n].id for n in ("rep_a1", "rep_a2", "lead_a"))
    assert result.assigned == 9
    assert owners(db) == {a1: 3, a2: 3, lead: 3}
    events = db.exec(select(FlowEvent).where(FlowEvent.reason == "dispatch")).all()
    assert sorted(e.opportunity_id for e in events) == ids
    assert all(e.from_state == "unassigned" and e.to_state == "owned" for e in events)
    assert all(e.rule_kind == "dispatch" and e.rule_id is not None for e in events)
    opp = db.get(Opportunity, ids[0])
    db.refresh(opp)
    assert opp.org_unit_id == company.units["team_a"].id and opp.assigned_at == clock.now()


def test_each_rep_gets_a_notice_of_what_they_received(db, company):
    rule(db, company)
    add_waiting_opportunities(db, company, 4)
    run(db)
    notices = db.exec(select(Notice).where(Notice.kind == "dispatch.received")).all()
    assert sum(n.params["count"] for n in notices) == 4
    assert len({n.user_id for n in notices}) == 3


def test_resigned_on_leave_off_shift_and_zero_cap_reps_get_nothing(db, company):
    rule(db, company, target_unit_id=company.units["beijing"].id)
    set_user(db, company.users["rep_a1"], status="resigned", enabled=False)
    set_user(db, company.users["rep_a2"], status="on_leave")
    set_user(db, company.users["lead_a"], daily_cap=0)
    set_user(db, company.users["bj_manager"], on_shift=False)
    add_waiting_opportunities(db, company, 6)
    run(db)
    assert owners(db) == {company.users["rep_b1"].id: 6}


def test_only_reps_and_team_leads_receive_dispatch(db, company):
    """The executive, the admin and the sales manager sit in the target units but hold no
    role with `receive_dispatch`."""
    rule(db, company, target_unit_id=company.units["hq"].id)
    add_waiting_opportunities(db, company, 20)
    run(db)
    receivers = {company.users[n].id for n in ("lead_a", "rep_a1", "rep_a2", "rep_b1", "rep_c1")}
    assert set(owners(db)) == receivers


def test_a_rep_at_the_daily_or_holding_cap_gets_nothing_and_the_rest_waits_with_a_reason(
    db, company
):
    saved = rule(db, company, target_user_ids=[company.users["rep_a1"].id], target_unit_id=None)
    set_user(db, company.users["rep_a1"], daily_cap=3, holding_cap=100)
    add_waiting_opportunities(db, company, 5)
    result = run(db)
    assert result.assigned == 3 and result.no_room == 2
    assert waiting_reasons(db, company.actor(db, "admin")) == {f"no_room:{saved.id}": 2}
    assert run(db).assigned == 0  # same day: the cap holds across runs
    clock.advance(timedelta(days=1))
    set_user(db, company.users["rep_a1"], holding_cap=4)
    assert run(db).assigned == 1  # a new day, but only one place left under the holding cap


def test_won_lost_and_owned_opportunities_are_never_dispatched(db, company):
    rule(db, company)
    ids = add_waiting_opportunities(db, company, 4)
    db.exec(
        update(Opportunity).where(Opportunity.id == ids[0]).values(pool_state="closed", stage="won")
    )
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == ids[1])
        .values(pool_state="closed", stage="lost")
    )
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == ids[2])
        .values(pool_state="owned", owner_id=company.users["rep_c1"].id)
    )
    db.commit()
    result = run(db)
    assert result.considered == 1 and result.assigned == 1
    assert db.get(Opportunity, ids[2]).owner_id == company.users["rep_c1"].id
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 1


def test_locked_waiting_opportunities_stay_put(db, company):
    rule(db, company)
    ids = add_waiting_opportunities(db, company, 2)
    db.exec(update(Opportunity).where(Opportunity.id == ids[0]).values(locked=True))
    db.commit()
    assert run(db).assigned == 1
    assert db.get(Opportunity, ids[0]).pool_state == "unassigned"


def test_fairness_over_thirty_daily_runs(db, company):
    """Reps of equal weight under one rule never differ by more than one."""
    rule(db, company, target_unit_id=company.units["beijing"].id)
    reps = [company.users[n].id for n in ("lead_a", "rep_a1", "rep_a2", "rep_b1")]
    for day in range(30):
        add_waiting_opportunities(db, company, 1 + (day * 7) % 11)
        run(db)
        given = owners(db)
        counts = [given.get(r, 0) for r in reps]
        assert max(counts) - min(counts) <= 1, (day, counts)
        clock.advance(timedelta(days=1))
    assert sum(owners(db).values()) == sum(1 + (d * 7) % 11 for d in range(30))


def test_the_round_robin_position_survives_between_runs(db, company):
    saved = rule(db, company)
    add_waiting_opportunities(db, company, 1)
    run(db)
    first = next(iter(owners(db)))
    db.refresh(saved)
    assert saved.rr_position == first
    add_waiting_opportunities(db, company, 1)
    run(db)
    assert set(owners(db).values()) == {1} and len(owners(db)) == 2


def test_weighted_shares_follow_the_weights_across_runs(db, company):
    rule(
        db,
        company,
        target_unit_id=None,
        strategy="weighted",
        target_user_ids=[company.users["rep_a1"].id, company.users["rep_b1"].id],
    )
    set_user(db, company.users["rep_a1"], dispatch_weight=3)
    for _ in range(4):
        add_waiting_opportunities(db, company, 5)
        run(db)
    assert owners(db) == {company.users["rep_a1"].id: 15, company.users["rep_b1"].id: 5}


def test_least_loaded_fills_the_emptiest_rep_first(db, company):
    from tests.factories import add_owned_opportunity

    for tail in range(4):
        add_owned_opportunity(db, company, "rep_a1", 100 + tail)
    rule(
        db,
        company,
        target_unit_id=None,
        strategy="least_loaded",
        target_user_ids=[company.users["rep_a1"].id, company.users["rep_a2"].id],
    )
    ids = add_waiting_opportunities(db, company, 6)
    run(db)
    assert owners(db, ids) == {company.users["rep_a2"].id: 5, company.users["rep_a1"].id: 1}


def test_preferred_skill_tag_goes_first_and_the_others_take_the_overflow(db, company):
    set_user(db, company.users["rep_a2"], skill_tags=["ielts"], daily_cap=2)
    rule(db, company, skill_tag="ielts")
    ids = add_waiting_opportunities(db, company, 5)
    run(db)
    given = owners(db, ids)
    assert given[company.users["rep_a2"].id] == 2
    assert sum(given.values()) == 5


def test_a_required_skill_tag_limits_the_rule_to_those_reps(db, company):
    set_user(db, company.users["rep_a2"], skill_tags=["ielts"], daily_cap=2)
    rule(db, company, skill_tag="ielts", skill_required=True)
    add_waiting_opportunities(db, company, 5)
    result = run(db)
    assert owners(db) == {company.users["rep_a2"].id: 2} and result.no_room == 3


def test_the_first_matching_rule_wins_and_conditions_select(db, company):
    rule(
        db,
        company,
        name="Douyin to B",
        priority=1,
        conditions={"channels": ["douyin"], "regions": ["北京"]},
        target_unit_id=company.units["team_b"].id,
    )
    rule(
        db,
        company,
        name="Hot to C",
        priority=2,
        conditions={"intention_levels": ["A"]},
        target_unit_id=company.units["team_c"].id,
    )
    douyin = add_waiting_opportunities(db, company, 2, channel="douyin", region="北京")
    douyin_sh = add_waiting_opportunities(db, company, 1, channel="douyin", region="上海")
    hot = add_waiting_opportunities(db, company, 1, channel="douyin", region="北京", intention="A")
    run(db)
    b1 = company.users["rep_b1"].id  # the hot one matched the first rule too
    assert owners(db, douyin + hot) == {b1: 3}
    assert db.get(Opportunity, douyin_sh[0]).pool_state == "unassigned"
    assert waiting_reasons(db, company.actor(db, "admin")) == {"no_rule": 1}


def test_campaign_prefix_and_business_line_match(db, company):
    rule(db, company, conditions={"campaign_prefix": "2026-spring"}, line=company.line.id)
    spring = add_waiting_opportunities(db, company, 2, campaign="2026-spring-sem")
    autumn = add_waiting_opportunities(db, company, 1, campaign="2025-autumn")
    run(db)
    assert all(db.get(Opportunity, i).pool_state == "owned" for i in spring)
    assert db.get(Opportunity, autumn[0]).pool_state == "unassigned"


def test_time_of_day_is_company_local_time(db, company):
    rule(db, company, conditions={"hours_from": "09:00", "hours_to": "18:00"})
    add_waiting_opportunities(db, company, 1)
    clock.freeze(datetime(2026, 3, 2, 11, 0))  # 19:00 in Beijing
    assert run(db).no_rule == 1
    clock.freeze(datetime(2026, 3, 3, 1, 30))  # 09:30 in Beijing
    assert run(db).assigned == 1


def test_never_back_to_the_rep_who_lost_it_within_the_window(db, company):
    rule(
        db,
        company,
        target_unit_id=None,
        no_return_days=7,
        target_user_ids=[company.users["rep_a1"].id, company.users["rep_a2"].id],
    )
    ids = add_waiting_opportunities(db, company, 1)
    db.add(
        FlowEvent(
            opportunity_id=ids[0],
            from_owner_id=company.users["rep_a1"].id,
            from_state="owned",
            to_state="unassigned",
            reason="recycle",
            at=clock.now() - timedelta(days=2),
        )
    )
    db.commit()
    run(db)
    assert db.get(Opportunity, ids[0]).owner_id == company.users["rep_a2"].id


def test_a_dry_run_changes_nothing(db, company):
    rule(db, company)
    add_waiting_opportunities(db, company, 3)
    result = dispatch_unassigned(db, company.actor(db, "bj_manager"), dry_run=True)
    db.commit()
    assert result.assigned == 3 and result.dry_run
    assert owners(db) == {}
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0
    assert db.exec(select(DispatchRule.rr_position)).one() == 0


def test_running_dispatch_needs_the_run_jobs_permission(db, company):
    with pytest.raises(PermissionDenied):
        dispatch_unassigned(db, company.actor(db, "rep_a1"))
    with pytest.raises(PermissionDenied):
        dispatch_unassigned(db, company.actor(db, "lead_a"), dry_run=True)


def test_a_new_rep_joins_the_rotation(db, company):
    rule(db, company)
    add_waiting_opportunities(db, company, 3)
    run(db)
    newcomer = create_user(
        db,
        SYSTEM,
        username="rep_a3",
        full_name="Rep A3",
        employee_no="E0100",
        password="secret123",
        org_unit_id=company.units["team_a"].id,
        role_codes=["rep"],
    )
    db.commit()
    add_waiting_opportunities(db, company, 4)
    run(db)
    assert set(owners(db).values()) == {2, 1} and owners(db)[newcomer.id] == 1
