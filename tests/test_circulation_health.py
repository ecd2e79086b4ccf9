"""Circulation health on a small hand-built history: idle rate, holdings against caps,
recycles per rule per day, claims per day, time to first contact, the dormant and the
share contacted within 24 hours equal hand-computed values; scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.analytics import DashboardFilter, circulation_health
from crm_core.circulation.pool import claim_from_pool
from crm_core.circulation.recycle import recycle_idle_opportunities
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FlowEvent
from crm_core.org.users import update_user
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from tests.dashboard_factories import open_opportunity
from tests.factories import SYSTEM, build_small_company

T0 = datetime(2026, 3, 2, 2, 0)  # 10:00 in Beijing on 2 March
MARCH = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def follow_up(db, company, owner: str, opportunity_id: int, when: datetime) -> None:
    clock.freeze(when)
    entry = FollowUpInput(
        channel="note",
        content="Talked about the course",
        next_follow_up_at=when + timedelta(days=2),
    )
    log_follow_up(db, company.actor(db, owner), opportunity_id, entry)
    db.commit()


@pytest.fixture
def history(db):
    """Rep A1 gets four on 2 March: one worked within the hour (and again on day 9), one
    on the next day, one after five hours, one never. Rep A2 gets one on day 8, never
    worked, at noon on day 8. Rep C1 gets one on day 9, worked 30 hours later. On day 10
    the recycle rule (no first follow-up within 48 hours) takes the untouched one of Rep A1
    to the pool; Rep A2 claims it the same day."""
    company = build_small_company(db)
    a1 = [open_opportunity(db, company, "rep_a1", at()) for _ in range(4)]
    follow_up(db, company, "rep_a1", a1[0], at(hours=0.5))
    follow_up(db, company, "rep_a1", a1[1], at(days=1, hours=2))
    follow_up(db, company, "rep_a1", a1[2], at(hours=5))
    a2 = open_opportunity(db, company, "rep_a2", at(days=8.5))
    c1 = open_opportunity(db, company, "rep_c1", at(days=9))
    follow_up(db, company, "rep_c1", c1, at(days=9, hours=30))
    follow_up(db, company, "rep_a1", a1[0], at(days=9))
    clock.freeze(at(days=10))
    save_rule(
        db,
        company.actor(db, "admin"),
        "recycle",
        RuleDraft(
            name="No first call in 48 h",
            priority=10,
            org_unit_id=company.units["hq"].id,
            business_line_id=None,
            conditions={"trigger": "no_first_follow_up", "after": 48},
            action={},
        ),
    )
    db.commit()
    recycled = recycle_idle_opportunities(db, SYSTEM)
    db.commit()
    claim_from_pool(db, company.actor(db, "rep_a2"), [a1[3]])
    db.commit()
    update_user(db, SYSTEM, company.users["rep_a2"].id, holding_cap=1)
    db.commit()
    clock.freeze(at(days=10, hours=1))
    return company, a1, a2, c1, recycled


def test_figures_equal_the_hand_computed_ones(db, history):
    company, a1, a2, c1, _ = history
    health = circulation_health(db, company.actor(db, "boss"), MARCH, idle_days=7)
    # Owned now: A1 holds a1[0..2], A2 holds a2 and the claimed a1[3], C1 holds c1.
    assert health.owned == 6
    # Idle for 7 days: a1[1] (last on day 1), a1[2] (day 0, 5 h); a1[3] was just claimed,
    # a2 assigned on day 8.5, c1 and a1[0] worked on day 9 or later.
    assert health.idle == 2 and health.idle_rate == pytest.approx(2 / 6)
    holdings = {h.name: (h.held, h.cap) for h in health.holdings}
    assert holdings == {"Rep A1": (3, 300), "Rep A2": (2, 1), "Rep C1": (1, 300)}
    assert health.over_cap == 1
    assert [h.name for h in health.top_hoarders] == ["Rep A1", "Rep A2", "Rep C1"]
    assert [(day, name, n) for day, _, name, n in health.recycles] == [
        (date(2026, 3, 12), "No first call in 48 h", 1)
    ]
    assert health.claims == [(date(2026, 3, 12), 1)]
    assert health.dormant == 0
    # Assignments of March, from the current assignment: a1[0] 0.5 h, a1[1] 24 h + 2 h,
    # a1[2] 5 h, a1[3] (claimed on day 10) and a2 not yet, c1 30 h.
    assert health.first_contact == {
        "within_1h": 1,
        "within_4h": 0,
        "within_24h": 1,
        "within_3d": 2,
        "later": 0,
        "not_yet": 2,
    }
    # Created in March: six; contacted within 24 hours of creation: a1[0], a1[2].
    assert health.created == 6 and health.contacted_24h == 2
    assert health.contacted_24h_share == pytest.approx(2 / 6)


def test_a_manager_sees_their_subtree(db, history):
    company, *_ = history
    health = circulation_health(db, company.actor(db, "bj_manager"), MARCH)
    assert health.owned == 5
    assert {h.name for h in health.holdings} == {"Rep A1", "Rep A2"}
    assert health.created == 5
    team = circulation_health(
        db, company.actor(db, "boss"), MARCH.with_changes(unit_id=company.units["team_c"].id)
    )
    assert team.owned == 1 and team.recycles == [] and team.claims == []


def test_refusals(db, history):
    company, *_ = history
    with pytest.raises(PermissionDenied):
        circulation_health(db, company.actor(db, "rep_a1"), MARCH)
    with pytest.raises(ValidationError) as error:
        circulation_health(db, company.actor(db, "boss"), MARCH, idle_days=0)
    assert error.value.key == "Idle days must be at least 1."


def test_recycles_without_a_rule_beside_ones_with_a_rule_on_one_day(db, history):
    """The demo's history holds recycles with no rule; the worker's first run adds ones with
    a rule on the same day: both are listed, the rule's first (this crashed the page)."""
    company = history[0]
    first = db.exec(select(FlowEvent).where(FlowEvent.reason == "recycle")).first()
    db.add(
        FlowEvent(
            opportunity_id=first.opportunity_id,
            at=first.at,
            from_owner_id=first.from_owner_id,
            to_owner_id=None,
            from_state="owned",
            to_state="public",
            reason="recycle",
            rule_id=None,
        )
    )
    db.commit()
    health = circulation_health(db, company.actor(db, "admin"), MARCH)
    same_day = [r for r in health.recycles if r[0] == health.recycles[0][0]]
    assert [r[1] is None for r in same_day] == [False, True]
