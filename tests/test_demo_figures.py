"""The demo company as a running business on the default views: a freshly seeded demo (and
one run of every worker job) has wins and losses on the 30-day funnel, spend and ROI per
channel, amounts in the pipeline by stage; the funnel and team performance agree on what
was won in the period."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm_core.analytics import channel_roi, default_filter, funnel, performance
from crm_core.analytics.cache import set_enabled
from crm_core.circulation.jobs import JOBS, run_job
from crm_core.models import OPEN_STAGES, Opportunity, Product, User
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.company_time import to_company
from crm_core.sales.board import board_columns
from crm_core.sales.expected_value import STAGE_WEIGHTS
from crm_core.sales.workbench import pipeline_counts
from db.seed import DEFAULT_OPPORTUNITIES, seed_database
from tests.conftest import empty_database

# The size `./run.sh` seeds: at a sixth of it a channel has about four wins in thirty days,
# and one with none now and then is chance, not a broken demo.
OPPORTUNITIES = DEFAULT_OPPORTUNITIES


@pytest.fixture(scope="module")
def demo(engine):
    """A fresh demo, then every worker job once, as `./run.sh` leaves it."""
    empty_database(engine)
    seed_database(engine, opportunities=OPPORTUNITIES, seed=11)
    for job in JOBS:
        assert run_job(job, engine=engine).status == "done"
    previous = set_enabled(False)  # every read computes afresh
    yield engine
    set_enabled(previous)
    empty_database(engine)


@pytest.fixture
def s(demo):
    with Session(demo, expire_on_commit=False) as session:
        yield session


def actor_of(session: Session, username: str):
    user = session.exec(select(User).where(User.username == username)).one()
    return load_actor(session, user.id)


def thirty_days(session: Session):
    return default_filter(today=to_company(session, clock.now()).date())


def test_the_30_day_funnel_has_wins_and_losses(s):
    result = funnel(s, actor_of(s, "boss"), thirty_days(s))
    assert result.total > 0 and result.won > 0 and result.lost > 0
    assert result.won_in_period > 0 and result.lost_in_period > 0
    assert 0 < result.overall < 0.5


def test_funnel_and_performance_agree_on_won_in_the_period(s):
    for username in ("boss", "director", "manager", "teamlead"):
        me = actor_of(s, username)
        view = thirty_days(s)
        assert funnel(s, me, view).won_in_period == performance(s, me, view).total.won
        assert funnel(s, me, view).lost_in_period == performance(s, me, view).total.lost


def test_channel_roi_has_spend_and_roi_on_every_channel(s):
    result = channel_roi(s, actor_of(s, "boss"), thirty_days(s))
    assert result.spend_shown and len(result.channels) >= 8
    for row in result.channels:
        assert row.leads > 0 and row.spend > 0 and row.won > 0, row
        assert row.cost_per_lead > 0 and row.roi is not None
    # Search and feed ads cost more per lead than referrals.
    by_channel = {row.channel: row for row in result.channels}
    assert by_channel["sem"].cost_per_lead > by_channel["referral"].cost_per_lead


def test_the_pipeline_by_stage_has_amounts(s):
    rep = s.exec(
        select(User)
        .join(Opportunity, Opportunity.owner_id == User.id)
        .where(Opportunity.pool_state == "owned")
        .limit(1)
    ).first()
    pipeline = pipeline_counts(s, load_actor(s, rep.id))
    assert pipeline and all(c.amount > 0 for c in pipeline if c.stage in OPEN_STAGES)
    for c in pipeline:
        assert c.weighted == (c.amount * STAGE_WEIGHTS[c.stage]).quantize(Decimal("0.01"))
    columns = board_columns(s, actor_of(s, "boss"), cards=0)
    amounts = {c.stage: c.amount for c in columns}
    assert all(amounts[stage] > 0 for stage in OPEN_STAGES)


def test_an_open_opportunity_expects_its_order_or_its_lines_reference_price(s):
    """A rep's new opportunities: each its order's amount, else the average list price of
    its line's active products."""
    opp = s.exec(
        select(Opportunity).where(Opportunity.stage == "new", Opportunity.pool_state == "owned")
    ).first()
    reference = {}
    for line_id, price in s.exec(
        select(Product.business_line_id, Product.list_price).where(Product.active)
    ):
        reference.setdefault(line_id, []).append(price)
    owned = s.exec(
        select(Opportunity).where(
            Opportunity.owner_id == opp.owner_id,
            Opportunity.pool_state == "owned",
            Opportunity.stage == "new",
        )
    ).all()
    expected = sum(
        (
            o.amount
            if o.amount is not None
            else sum(reference[o.business_line_id]) / len(reference[o.business_line_id])
            for o in owned
        ),
        Decimal(0),
    )
    new = next(c for c in pipeline_counts(s, load_actor(s, opp.owner_id)) if c.stage == "new")
    assert new.count == len(owned)
    assert new.amount == expected.quantize(Decimal("0.01"))
