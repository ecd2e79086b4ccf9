"""A marketplace's switch-over: its marketing-qualified leads (mql_id, first contact date,
landing page, origin in mixed case, some blank) come in through the lead import, then its
separate closed-deals export (mql_id, seller, who qualified = sdr_id, who closed = sr_id,
won date with its time, a declared revenue often 0 or empty, no stage column) through the
history import, in the source's zone. The funnel, channel split and team performance then
show the source's own figures: leads and wins per origin, wins per month, wins per closer
and per qualifier - and nobody is doubled.

The lead import on this branch takes no created date for the opportunity and no name/id
shared column: the MQL file is given a name column equal to its id, as a user would map it
today, and the funnel is read over all time (its cohort month is the lead import's day).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlmodel import func, select

from crm_core.analytics import DashboardFilter, funnel, performance
from crm_core.imports.history import HistoryOptions, guess_columns, run_history_import
from crm_core.imports.leads import ImportOptions, run_import
from crm_core.imports.leads import guess_columns as guess_lead_columns
from crm_core.imports.tabular import read_table
from crm_core.models import Lead, Opportunity, SalesOrder, StageHistory
from crm_core.platform.metadata import create_option
from crm_core.platform.settings import set_setting
from tests.factories import SYSTEM, build_small_company

ZONE = "America/Sao_Paulo"
ORIGINS = ["organic_search", "Paid_Search", "SOCIAL", "direct_traffic", "Email", "referral"]


def marketplace_files(seed: int = 18) -> tuple[str, str]:
    """(MQL csv, closed deals csv): 300 MQLs over Jan-May 2018, 120 of them closed."""
    rng = random.Random(seed)
    mqls, deals = [], []
    for n in range(300):
        mql_id = f"{rng.getrandbits(64):016x}"
        first = datetime(2018, 1, 1) + timedelta(days=rng.randrange(120))
        origin = rng.choice([*ORIGINS, ""])  # blank: the export's unknown origin
        mqls.append((mql_id, first.date().isoformat(), f"lp{rng.randrange(30):03d}", origin))
        if n % 5 < 2:
            won = first + timedelta(days=rng.randrange(1, 40), minutes=rng.randrange(1440))
            if n == 1:
                won = datetime(2018, 3, 31, 22, 30)  # March in Sao Paulo, April in UTC
            revenue = rng.choice(["0", "", "", str(rng.randrange(1, 50) * 1000)])
            deals.append(
                (
                    mql_id,
                    f"seller{n:04d}",
                    f"sdr{rng.randrange(5)}",
                    f"sr{rng.randrange(8)}",
                    won.isoformat(sep=" "),
                    rng.choice(["pet", "car_accessories", "home_decor"]),
                    rng.choice(["online_medium", "industry"]),
                    revenue,
                )
            )
    mql = "mql_id,first_contact_date,landing_page_id,origin\n" + "".join(
        ",".join(r) + "\n" for r in mqls
    )
    closed = (
        "mql_id,seller_id,sdr_id,sr_id,won_date,business_segment,lead_type,"
        "declared_monthly_revenue\n" + "".join(",".join(r) + "\n" for r in deals)
    )
    return mql, closed


@pytest.fixture
def marketplace(db):
    company = build_small_company(db)
    set_setting(db, SYSTEM, "company.time_zone", ZONE)
    for origin in ["organic_search", "paid_search", "social", "direct_traffic", "email"]:
        create_option(db, SYSTEM, "channel", label_en=origin, code=origin)
    create_option(db, SYSTEM, "channel", label_en="Unknown origin", code="unknown")
    db.commit()
    admin = company.actor(db, "admin")
    mql_text, closed_text = marketplace_files()
    mqls = read_table(mql_text.encode(), "olist_marketing_qualified_leads.csv")
    mqls["name"] = mqls["mql_id"]  # today's lead import needs its own name column
    lead_options = ImportOptions(
        mapping={
            **guess_lead_columns(mqls.columns),
            "external_id": "mql_id",
            "created_at": "first_contact_date",
            "channel": "origin",
        },
        default_channel="unknown",
        default_line_codes=(company.line.code,),
    )
    leads = run_import(db, admin, mqls, lead_options)
    assert leads.counts["created"] == 300 and not leads.issues
    deals = read_table(closed_text.encode(), "olist_closed_deals.csv")
    options = HistoryOptions(
        mapping=guess_columns(deals.columns),
        business_line_id=company.line.id,
        parent_unit_id=company.units["hq"].id,
        create_missing=True,
        default_stage="won",
        source="olist",
    )
    report = run_history_import(db, admin, deals, None, options)
    frames = (
        pd.read_csv(pd.io.common.StringIO(mql_text)),
        pd.read_csv(pd.io.common.StringIO(closed_text)),
    )
    return company, report, frames


def test_the_closed_deals_map_themselves(db):
    deals = read_table(marketplace_files()[1].encode(), "closed.csv")
    assert {k: v for k, v in guess_columns(deals.columns).items() if v} == {
        "external_id": "mql_id",
        "lead_id": "mql_id",
        "owner": "sr_id",
        "qualifier": "sdr_id",
        "closed_at": "won_date",
        "amount": "declared_monthly_revenue",
    }


def test_nobody_is_doubled_and_each_deal_closes_its_lead(db, marketplace):
    company, report, (mqls, deals) = marketplace
    assert (report.imported, report.rejected, report.taken_over) == (len(deals), 0, len(deals))
    assert db.exec(select(func.count()).select_from(Lead)).one() == 300
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == 300
    assert db.exec(select(func.count()).select_from(SalesOrder)).one() == len(deals)
    # Wins without a declared revenue are kept, with a notice each.
    no_amount = deals.declared_monthly_revenue.isna().sum()
    assert len(report.warnings) == no_amount > 0
    # A won deal's history: new (the lead import), qualified (it names its SDR), won.
    won = db.exec(select(Opportunity).where(Opportunity.stage == "won")).first()
    stages = db.exec(
        select(StageHistory.to_stage)
        .where(StageHistory.opportunity_id == won.id)
        .order_by(StageHistory.changed_at, StageHistory.id)
    ).all()
    assert stages == ["new", "qualified", "won"]
    assert won.furthest_stage == "qualified" and won.qualified_by_id is not None


def test_the_funnel_shows_each_origins_leads_and_wins(db, marketplace):
    company, _, (mqls, deals) = marketplace
    admin = company.actor(db, "admin")
    mqls["channel"] = mqls.origin.fillna("unknown").str.lower()
    closed = mqls[mqls.mql_id.isin(deals.mql_id)]
    view = DashboardFilter(split="channel")
    result = funnel(db, admin, view)
    by_channel = {row.key: (row.total, row.won) for row in result.rows}
    leads, wins = Counter(mqls.channel), Counter(closed.channel)
    assert by_channel == {c: (leads[c], wins.get(c, 0)) for c in leads}
    assert (result.total, result.won) == (300, len(deals))
    # No trial lesson was ever recorded: the funnel shows none.
    assert result.reached("trial_booked") == result.reached("trial_done") == 0
    assert result.reached("qualified") == len(deals)


def test_team_performance_per_closer_qualifier_and_month(db, marketplace):
    company, _, (_, deals) = marketplace
    admin = company.actor(db, "admin")
    everything = DashboardFilter()
    closers = {r.label: r.won for r in performance(db, admin, everything).reps}
    assert closers == dict(Counter(deals.sr_id))
    qualifiers = performance(db, admin, everything.with_changes(credit="qualifier")).reps
    assert {r.label: r.won for r in qualifiers} == dict(Counter(deals.sdr_id))
    revenue = performance(db, admin, everything).total.revenue
    assert revenue == int(deals.declared_monthly_revenue.fillna(0).sum())
    # Wins per month, cut in the company's (the source's) zone.
    months = Counter(pd.to_datetime(deals.won_date).dt.strftime("%Y-%m"))
    assert months["2018-03"] > 0
    for month in sorted(months):
        start = date.fromisoformat(month + "-01")
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        seen = performance(db, admin, DashboardFilter(start=start, end=end)).total
        assert seen.won == months[month], month


def test_the_funnel_counts_each_win_in_its_first_contact_month(db, marketplace):
    company, _, (mqls, deals) = marketplace
    admin = company.actor(db, "admin")
    closed = mqls[mqls.mql_id.isin(deals.mql_id)]
    months = Counter(closed.first_contact_date.str[:7])
    for month in sorted(months):
        start = date.fromisoformat(month + "-01")
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        assert funnel(db, admin, DashboardFilter(start=start, end=end)).won == months[month]
