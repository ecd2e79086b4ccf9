"""The funnel on small hand-built histories: the counts per stage equal hand-computed
values, with an opportunity that skipped a stage, one that went back and lost ones; the
cohort is chosen by creation date; splits; listing a stage; scope; the cache."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from crm_core.analytics import FUNNEL_STAGES, DashboardFilter, funnel, funnel_opportunities
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.dashboard_factories import move, open_opportunity
from tests.factories import build_small_company

DAY0 = datetime(2026, 3, 2, 2, 0)  # 10:00 in Beijing
PERIOD = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


def at(days: float) -> datetime:
    return DAY0 + timedelta(days=days)


@pytest.fixture
def history(db):
    """Team A: won straight through; skipped contacted then lost; went back then on to a
    trial; only new; lost at once. Team C: one qualified. One before the period."""
    company = build_small_company(db)
    ids = {}
    ids["won"] = open_opportunity(db, company, "rep_a1", at(0))
    move(
        db,
        ids["won"],
        ("contacted", at(1)),
        ("qualified", at(2)),
        ("trial_booked", at(3)),
        ("trial_done", at(4)),
        ("won", at(5)),
    )
    ids["skipped_lost"] = open_opportunity(db, company, "rep_a1", at(1))
    move(db, ids["skipped_lost"], ("qualified", at(2)), ("lost", at(3)))
    ids["went_back"] = open_opportunity(db, company, "rep_a2", at(2))
    move(
        db,
        ids["went_back"],
        ("contacted", at(3)),
        ("qualified", at(4)),
        ("contacted", at(5)),
        ("trial_booked", at(6)),
    )
    ids["only_new"] = open_opportunity(db, company, "rep_a2", at(3))
    ids["lost_new"] = open_opportunity(db, company, "rep_a2", at(4))
    move(db, ids["lost_new"], ("lost", at(5)))
    ids["shanghai"] = open_opportunity(db, company, "rep_c1", at(5), channel="feed")
    move(db, ids["shanghai"], ("contacted", at(6)), ("qualified", at(7)))
    ids["before"] = open_opportunity(db, company, "rep_a1", datetime(2026, 2, 10))
    move(db, ids["before"], ("contacted", datetime(2026, 2, 11)))
    return company, ids


def test_counts_per_stage_equal_the_hand_computed_ones(db, history):
    company, _ = history
    result = funnel(db, company.actor(db, "boss"), PERIOD)
    # new: 6; contacted: won, skipped (passed it), went back (once), shanghai = 4;
    # qualified: the same 4; trial_booked: won, went back; trial_done and won: won.
    assert [s.reached for s in result.steps] == [6, 4, 4, 2, 1, 1]
    assert result.lost == 2
    assert result.total == 6 and result.won == 1
    assert result.overall == pytest.approx(1 / 6)
    conversion = [s.from_previous for s in result.steps]
    assert conversion == [None, pytest.approx(4 / 6), 1.0, 0.5, 0.5, 1.0]
    assert [s.from_first for s in result.steps][-1] == pytest.approx(1 / 6)


def test_the_funnel_never_grows_downwards_and_lost_counts_where_it_got(db, history):
    company, ids = history
    result = funnel(db, company.actor(db, "boss"), PERIOD)
    reached = [s.reached for s in result.steps]
    assert reached == sorted(reached, reverse=True)
    lost = funnel_opportunities(db, company.actor(db, "boss"), PERIOD, "lost")
    assert sorted(o.id for o in lost) == sorted([ids["skipped_lost"], ids["lost_new"]])
    qualified = {
        o.id for o in funnel_opportunities(db, company.actor(db, "boss"), PERIOD, "qualified")
    }
    assert qualified == {ids["won"], ids["skipped_lost"], ids["went_back"], ids["shanghai"]}


def test_the_period_chooses_the_cohort_by_creation_date(db, history):
    company, ids = history
    boss = company.actor(db, "boss")
    february = funnel(db, boss, DashboardFilter(start=date(2026, 2, 1), end=date(2026, 2, 28)))
    assert [s.reached for s in february.steps] == [1, 1, 0, 0, 0, 0]
    everything = funnel(db, boss, DashboardFilter())
    assert everything.total == 7
    # A local day: created at 02:00 UTC on 2 March is 2 March in Beijing.
    one_day = funnel(db, boss, DashboardFilter(start=date(2026, 3, 2), end=date(2026, 3, 2)))
    assert one_day.total == 1


def test_splits_by_unit_rep_channel_and_business_line(db, history):
    company, _ = history
    boss = company.actor(db, "boss")
    by_unit = funnel(db, boss, PERIOD.with_changes(split="unit"))
    rows = {r.label: r.reached for r in by_unit.rows}
    assert rows == {"Beijing": (5, 3, 3, 2, 1, 1), "Shanghai": (1, 1, 1, 0, 0, 0)}
    beijing = company.units["beijing"].id
    drill = funnel(db, boss, PERIOD.with_changes(split="unit", unit_id=beijing))
    assert {r.label: r.total for r in drill.rows} == {"Team A": 5}
    assert drill.total == 5
    by_rep = funnel(db, boss, PERIOD.with_changes(split="rep"))
    assert {r.label: (r.total, r.lost) for r in by_rep.rows} == {
        "Rep A1": (2, 1),
        "Rep A2": (3, 1),
        "Rep C1": (1, 0),
    }
    by_channel = funnel(db, boss, PERIOD.with_changes(split="channel"))
    assert {r.key: r.total for r in by_channel.rows} == {"sem": 5, "feed": 1}
    feed = funnel(db, boss, PERIOD.with_changes(channel="feed"))
    assert [s.reached for s in feed.steps] == [1, 1, 1, 0, 0, 0]
    line = funnel(
        db, boss, PERIOD.with_changes(split="business_line", business_line_id=company.line.id)
    )
    assert [(r.label, r.total) for r in line.rows] == [("Postgraduate exam", 6)]
    assert funnel(db, boss, PERIOD.with_changes(business_line_id=company.line.id + 99)).total == 0


def test_a_manager_sees_their_subtree_and_a_rep_none(db, history):
    company, ids = history
    manager = company.actor(db, "bj_manager")
    result = funnel(db, manager, PERIOD)
    assert [s.reached for s in result.steps] == [5, 3, 3, 2, 1, 1]
    listed = {o.id for o in funnel_opportunities(db, manager, PERIOD, "new")}
    assert ids["shanghai"] not in listed and len(listed) == 5
    with pytest.raises(NotFound):
        funnel(db, manager, PERIOD.with_changes(unit_id=company.units["shanghai"].id))
    lead = company.actor(db, "lead_a")  # team scope: Team A only
    assert funnel(db, lead, PERIOD).total == 5
    with pytest.raises(PermissionDenied):
        funnel(db, company.actor(db, "rep_a1"), PERIOD)


def test_a_new_stage_change_shows_at_once_through_the_cache(db, history):
    company, ids = history
    boss = company.actor(db, "boss")
    assert funnel(db, boss, PERIOD).reached("trial_done") == 1
    move(db, ids["went_back"], ("trial_done", at(8)))
    assert funnel(db, boss, PERIOD).reached("trial_done") == 2


def test_bad_requests_are_refused(db, history):
    company, _ = history
    boss = company.actor(db, "boss")
    with pytest.raises(ValidationError) as error:
        funnel_opportunities(db, boss, PERIOD, "paid")
    assert error.value.key == "Unknown stage: {stage}."
    with pytest.raises(ValidationError) as error:
        funnel(db, boss, DashboardFilter(start=date(2026, 3, 5), end=date(2026, 3, 1)))
    assert error.value.key == "The period ends before it starts."
    assert FUNNEL_STAGES[-1] == "won"
