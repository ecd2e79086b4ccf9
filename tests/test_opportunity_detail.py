"""The opportunity detail: one timeline of every kind of event, the masked phone, scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crm_core.circulation.override import assign_opportunities
from crm_core.models import LearningActivity, SalesOrder
from crm_core.platform import clock
from crm_core.platform.errors import NotFound
from crm_core.sales.detail import get_opportunity_detail
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sales.stages import change_stage
from crm_core.sales.trials import book_trial
from tests.factories import add_owned_opportunity, build_small_company

NOW = datetime(2026, 12, 1, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def test_one_timeline_newest_first(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    log_follow_up(
        db,
        rep,
        opp.id,
        FollowUpInput(
            channel="call",
            content="first call",
            result="connected",
            call_duration_s=300,
            next_follow_up_at=NOW + timedelta(days=1),
        ),
    )
    clock.advance(timedelta(minutes=10))
    change_stage(db, rep, opp.id, "qualified")
    clock.advance(timedelta(minutes=10))
    book_trial(db, rep, opp.id, NOW + timedelta(days=2), "Maths")
    clock.advance(timedelta(minutes=10))
    db.add(
        SalesOrder(
            opportunity_id=opp.id,
            list_price=Decimal(1000),
            amount=Decimal(900),
            created_by_id=rep.user_id,
            created_at=clock.now(),
        )
    )
    db.add(
        LearningActivity(
            lead_id=opp.lead_id,
            course="Algebra",
            progress_pct=40,
            last_studied_on=date(2026, 11, 20),
        )
    )
    db.commit()
    clock.advance(timedelta(minutes=10))
    assign_opportunities(db, company.actor(db, "lead_a"), [opp.id], company.users["rep_a2"].id)
    db.commit()

    # The new owner reads the whole history.
    detail = get_opportunity_detail(db, company.actor(db, "rep_a2"), opp.id)
    kinds = [(e.kind, e.what) for e in detail.timeline]
    assert kinds == [
        ("trial", "booked"),  # two days ahead
        ("flow", "transfer"),
        ("order", "created"),
        ("stage", "trial_booked"),
        ("stage", "qualified"),
        ("call", "call"),
        ("learning", "studied"),
    ]
    call = next(e for e in detail.timeline if e.kind == "call")
    assert (call.text, call.params["duration_s"], call.by) == ("first call", 300, "Rep A1")
    flow = next(e for e in detail.timeline if e.kind == "flow")
    assert (flow.params["from_owner"], flow.params["to_owner"], flow.by) == (
        "Rep A1",
        "Rep A2",
        "Lead A",
    )
    assert detail.booked_trial.course == "Maths"
    assert detail.phone == "1****0001"
    assert (detail.owner_name, detail.stage, detail.is_open) == ("Rep A2", "trial_booked", True)


def test_outside_the_scope_it_does_not_exist(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    with pytest.raises(NotFound):
        get_opportunity_detail(db, company.actor(db, "rep_a2"), opp.id)
    with pytest.raises(NotFound):
        get_opportunity_detail(db, company.actor(db, "rep_c1"), opp.id)
    assert get_opportunity_detail(db, company.actor(db, "admin"), opp.id).phone == "+8613800000001"
