"""Channel ROI: leads, spend, cost per lead, won, revenue and ROI per channel and campaign
equal hand-computed values; marketing enters spend (replacing a month's figure, refused
without the permission or with a bad value); a narrower scope sees no spend; the cache
follows a new spend figure."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from crm_core.analytics import DashboardFilter, channel_roi
from crm_core.analytics.marketing_spend import delete_spend, list_spend, set_spend
from crm_core.org.users import create_user
from crm_core.platform.errors import PermissionDenied, ValidationError
from tests.dashboard_factories import open_opportunity, pay, refund
from tests.factories import PASSWORD, SYSTEM, build_small_company

MARCH = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


@pytest.fixture
def roi(db):
    """March: three SEM leads (campaign kaoyan-a: two, one won 3,000; no campaign: one),
    two feed leads (one won 1,000 and refunded), one SEO lead in April. Spend: SEM 1,200
    (kaoyan-a 900 + 300 for the channel), feed 400."""
    company = build_small_company(db)
    marketing = create_user(
        db,
        SYSTEM,
        username="mkt",
        full_name="Marketing",
        employee_no="M1",
        password=PASSWORD,
        org_unit_id=company.units["hq"].id,
        role_codes=["marketing"],
    )
    db.commit()
    company.users["mkt"] = marketing
    won = open_opportunity(db, company, "rep_a1", datetime(2026, 3, 3), campaign="kaoyan-a")
    pay(db, company, won, "3000", datetime(2026, 4, 2))
    open_opportunity(db, company, "rep_a1", datetime(2026, 3, 4), campaign="kaoyan-a")
    open_opportunity(db, company, "rep_c1", datetime(2026, 3, 5))
    refunded = open_opportunity(db, company, "rep_c1", datetime(2026, 3, 6), channel="feed")
    order = pay(db, company, refunded, "1000", datetime(2026, 3, 8))
    refund(db, order.id, datetime(2026, 3, 9))
    open_opportunity(db, company, "rep_c1", datetime(2026, 3, 7), channel="feed")
    open_opportunity(db, company, "rep_c1", datetime(2026, 4, 7), channel="seo")
    mkt = company.actor(db, "mkt")
    set_spend(db, mkt, date(2026, 3, 15), "sem", "500", campaign="kaoyan-a")
    set_spend(db, mkt, date(2026, 3, 1), "sem", "900", campaign="kaoyan-a")  # replaces 500
    set_spend(db, mkt, date(2026, 3, 1), "sem", "300")
    set_spend(db, mkt, date(2026, 3, 1), "feed", "400.00")
    set_spend(db, mkt, date(2026, 4, 1), "seo", "50")
    db.commit()
    return company


def test_figures_per_channel_and_campaign(db, roi):
    result = channel_roi(db, roi.actor(db, "mkt"), MARCH)
    channels = {
        r.channel: (r.leads, r.spend, r.cost_per_lead, r.won, r.revenue) for r in result.channels
    }
    assert channels == {
        "sem": (3, Decimal("1200"), Decimal("400.00"), 1, Decimal("3000")),
        "feed": (2, Decimal("400"), Decimal("200.00"), 0, Decimal("0")),
    }
    sem = next(r for r in result.channels if r.channel == "sem")
    assert sem.roi == pytest.approx((3000 - 1200) / 1200)
    feed = next(r for r in result.channels if r.channel == "feed")
    assert feed.roi == pytest.approx(-1.0)
    campaigns = {(r.channel, r.campaign): (r.leads, r.spend, r.won) for r in result.campaigns}
    assert campaigns == {
        ("sem", "kaoyan-a"): (2, Decimal("900"), 1),
        ("sem", ""): (1, Decimal("300"), 0),
        ("feed", ""): (2, Decimal("400"), 0),
    }
    total = result.total
    assert (total.leads, total.spend, total.revenue) == (5, Decimal("1600"), Decimal("3000"))


def test_spend_is_hidden_from_a_narrower_scope(db, roi):
    result = channel_roi(db, roi.actor(db, "bj_manager"), MARCH)
    assert not result.spend_shown
    assert {r.channel: (r.leads, r.spend, r.roi) for r in result.channels} == {
        "sem": (2, None, None)
    }


def test_spend_entry_rules_and_the_cache(db, roi):
    mkt = roi.actor(db, "mkt")
    assert channel_roi(db, mkt, MARCH).total.spend == Decimal("1600")
    with pytest.raises(PermissionDenied):
        set_spend(db, roi.actor(db, "bj_manager"), date(2026, 3, 1), "sem", "1")
    with pytest.raises(ValidationError) as error:
        set_spend(db, mkt, date(2026, 3, 1), "tv", "1")
    assert error.value.key == "Unknown channel: {channel}."
    with pytest.raises(ValidationError) as error:
        set_spend(db, mkt, date(2026, 3, 1), "sem", "-5")
    assert error.value.key == "Not an amount of money: {value}."
    rows = list_spend(db, mkt, date(2026, 3, 1), date(2026, 3, 31))
    assert sorted((r.channel, r.campaign, r.amount) for r in rows) == [
        ("feed", "", Decimal("400.00")),
        ("sem", "", Decimal("300.00")),
        ("sem", "kaoyan-a", Decimal("900.00")),
    ]
    delete_spend(db, mkt, next(r.id for r in rows if r.channel == "feed"))
    db.commit()
    assert channel_roi(db, mkt, MARCH).total.spend == Decimal("1200")


def test_a_unit_filter_counts_leads_and_revenue_through_opportunities_there(db, roi):
    beijing = MARCH.with_changes(unit_id=roi.units["beijing"].id)
    result = channel_roi(db, roi.actor(db, "mkt"), beijing)
    assert not result.spend_shown
    assert {r.channel: (r.leads, r.won, r.revenue) for r in result.channels} == {
        "sem": (2, 1, Decimal("3000"))
    }
