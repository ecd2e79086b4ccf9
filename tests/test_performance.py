"""Team performance: revenue by the attribution frozen on paid orders (a rep who moves
later leaves their past revenue where it was), won, lost, win rate, average order, the
leaderboard, refunds apart; scope by frozen attribution."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from crm_core.analytics import DashboardFilter, performance
from crm_core.org.users import update_user
from crm_core.platform.errors import PermissionDenied
from tests.dashboard_factories import move, open_opportunity, pay, refund
from tests.factories import SYSTEM, build_small_company

MARCH = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
APRIL = DashboardFilter(start=date(2026, 4, 1), end=date(2026, 4, 30))


def d(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 4, 0)


@pytest.fixture
def sales(db):
    """March: Rep A1 wins 1,000 and 500, loses one; Rep B1 wins 2,000 (refunded in April);
    Rep C1 loses one. Then Rep A1 moves to Shanghai / Team C."""
    company = build_small_company(db)
    orders = {}
    for owner, amount, day in (("rep_a1", "1000", 5), ("rep_a1", "500", 6), ("rep_b1", "2000", 7)):
        opp = open_opportunity(db, company, owner, d(1))
        orders[(owner, amount)] = pay(db, company, opp, amount, d(day))
    for owner in ("rep_a1", "rep_c1"):
        opp = open_opportunity(db, company, owner, d(1))
        move(db, opp, ("lost", d(8)))
    refund(db, orders[("rep_b1", "2000")].id, d(3, 4))
    update_user(db, SYSTEM, company.users["rep_a1"].id, org_unit_id=company.units["team_c"].id)
    db.commit()
    return company, orders


def test_revenue_won_lost_and_win_rate_by_unit_and_rep(db, sales):
    company, _ = sales
    result = performance(db, company.actor(db, "boss"), MARCH)
    total = result.total
    assert total.revenue == Decimal("3500") and total.orders == 3 and total.won == 3
    assert total.lost == 2 and total.win_rate == pytest.approx(3 / 5)
    assert total.average_order == Decimal("1166.67")
    assert total.refunds == 0  # the refund was in April
    units = {r.label: (r.revenue, r.won, r.lost) for r in result.units}
    # Rep A1's March revenue stays with Beijing (frozen), and so does their closed lost one.
    assert units == {
        "Beijing": (Decimal("3500"), 3, 1),
        "Shanghai": (Decimal("0"), 0, 1),
    }
    board = [(r.label, r.revenue, r.won, r.lost) for r in result.reps]
    assert board == [
        ("Rep B1", Decimal("2000"), 1, 0),
        ("Rep A1", Decimal("1500"), 2, 1),
        ("Rep C1", Decimal("0"), 0, 1),
    ]


def test_frozen_attribution_after_moving_a_rep(db, sales):
    company, _ = sales
    beijing = performance(db, company.actor(db, "bj_manager"), MARCH)
    assert beijing.total.revenue == Decimal("3500")
    drill = performance(
        db, company.actor(db, "boss"), MARCH.with_changes(unit_id=company.units["beijing"].id)
    )
    assert {r.label: r.revenue for r in drill.units} == {
        "Team A": Decimal("1500"),
        "Team B": Decimal("2000"),
    }
    # Rep A1 now sits in Team C, whose lead sees none of Rep A1's past revenue.
    shanghai = performance(
        db, company.actor(db, "boss"), MARCH.with_changes(unit_id=company.units["shanghai"].id)
    )
    assert shanghai.total.revenue == 0 and shanghai.total.lost == 1


def test_refunds_are_shown_apart_in_their_period(db, sales):
    company, _ = sales
    april = performance(db, company.actor(db, "boss"), APRIL)
    assert april.total.revenue == 0 and april.total.refunds == Decimal("2000")
    assert april.total.refund_count == 1 and april.total.net == Decimal("-2000")
    assert [(r.label, r.refunds) for r in april.units] == [("Beijing", Decimal("2000"))]
    whole = performance(db, company.actor(db, "boss"), DashboardFilter())
    assert whole.total.revenue == Decimal("3500") and whole.total.net == Decimal("1500")


def test_scope_by_frozen_attribution(db, sales):
    company, _ = sales
    team_lead = performance(db, company.actor(db, "lead_a"), MARCH)  # Team A only
    assert team_lead.total.revenue == Decimal("1500") and team_lead.total.won == 2
    with pytest.raises(PermissionDenied):
        performance(db, company.actor(db, "rep_a1"), MARCH)


def test_a_payment_shows_at_once(db, sales):
    company, _ = sales
    boss = company.actor(db, "boss")
    assert performance(db, boss, MARCH).total.orders == 3
    opp = open_opportunity(db, company, "rep_b1", d(9))
    pay(db, company, opp, "700", d(10))
    assert performance(db, boss, MARCH).total.revenue == Decimal("4200")
