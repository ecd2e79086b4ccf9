"""The dashboards' cache: each figure is dropped when an input it reads changes, and kept
when something it does not read changes (a phone reveal, a follow-up for the funnel)."""

from __future__ import annotations

import importlib
from datetime import date, datetime, timedelta

import pytest

from crm_core.analytics import DashboardFilter, circulation_health, funnel
from crm_core.leads.masking import reveal_phone
from crm_core.models import Opportunity
from crm_core.platform import clock
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from tests.dashboard_factories import move, open_opportunity
from tests.factories import build_small_company

# The package exports functions of the same names as these modules.
funnel_module = importlib.import_module("crm_core.analytics.funnel")
health_module = importlib.import_module("crm_core.analytics.circulation_health")
DAY0 = datetime(2026, 3, 2, 2, 0)
PERIOD = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


@pytest.fixture
def counted(db, monkeypatch):
    """A company with two opportunities, and how often each figure was computed."""
    company = build_small_company(db)
    first = open_opportunity(db, company, "rep_a1", DAY0)
    open_opportunity(db, company, "rep_a1", DAY0 + timedelta(hours=1))
    clock.freeze(DAY0 + timedelta(days=1))
    runs = {"funnel": 0, "health": 0}
    real_funnel, real_health = funnel_module._funnel, health_module._health

    def counted_funnel(*args, **kwargs):
        runs["funnel"] += 1
        return real_funnel(*args, **kwargs)

    def counted_health(*args, **kwargs):
        runs["health"] += 1
        return real_health(*args, **kwargs)

    monkeypatch.setattr(funnel_module, "_funnel", counted_funnel)
    monkeypatch.setattr(health_module, "_health", counted_health)
    return company, first, runs


def _view_both(db, actor) -> None:
    funnel(db, actor, PERIOD)
    circulation_health(db, actor, PERIOD)


def test_a_phone_reveal_leaves_every_dashboard_cached(db, counted):
    company, first, runs = counted
    boss = company.actor(db, "boss")
    _view_both(db, boss)
    assert runs == {"funnel": 1, "health": 1}

    lead_id = db.get(Opportunity, first).lead_id
    reveal_phone(db, company.actor(db, "admin"), lead_id)
    _view_both(db, boss)

    assert runs == {"funnel": 1, "health": 1}


def test_a_follow_up_drops_circulation_health_but_not_the_funnel(db, counted):
    company, first, runs = counted
    boss = company.actor(db, "boss")
    _view_both(db, boss)

    entry = FollowUpInput(
        channel="call", content="talked", next_follow_up_at=clock.now() + timedelta(days=2)
    )
    log_follow_up(db, company.actor(db, "rep_a1"), first, entry)
    db.commit()
    _view_both(db, boss)

    assert runs == {"funnel": 1, "health": 2}


def test_a_stage_change_drops_the_funnel_and_shows_at_once(db, counted):
    company, first, runs = counted
    boss = company.actor(db, "boss")
    assert funnel(db, boss, PERIOD).reached("contacted") == 0

    move(db, first, ("contacted", DAY0 + timedelta(days=1)))

    assert funnel(db, boss, PERIOD).reached("contacted") == 1
    assert runs["funnel"] == 2
