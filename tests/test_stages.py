"""Stage rules: forward for reps, back only for managers, what each stage needs, won only
through a paid order, and the history the funnel counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.models import FlowEvent, Opportunity, SalesOrder, StageHistory
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.sales.stages import change_stage, close_as_won, next_stages
from tests.factories import add_owned_opportunity, build_small_company

NOW = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def history(db, opportunity_id: int) -> list[tuple[str | None, str]]:
    return [
        (row.from_stage, row.to_stage)
        for row in db.exec(
            select(StageHistory)
            .where(StageHistory.opportunity_id == opportunity_id)
            .order_by(StageHistory.id)
        ).all()
    ]


def test_a_rep_moves_forward_and_may_skip_stages(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)  # contacted
    rep = company.actor(db, "rep_a1")
    change_stage(db, rep, opp.id, "qualified")
    change_stage(db, rep, opp.id, "trial_done")
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert (row.stage, row.stage_changed_at) == ("trial_done", NOW)
    assert history(db, opp.id) == [("contacted", "qualified"), ("qualified", "trial_done")]
    assert db.exec(select(StageHistory.actor_id)).all() == [company.users["rep_a1"].id] * 2


def test_a_rep_cannot_move_back_but_a_manager_can(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    change_stage(db, company.actor(db, "rep_a1"), opp.id, "qualified")
    with pytest.raises(ValidationError) as refused:
        change_stage(db, company.actor(db, "rep_a1"), opp.id, "contacted")
    assert (
        refused.value.key
        == "Stages move forward from “{stage}”; only a manager may move an opportunity back."
    )
    assert "contacted" not in next_stages(company.actor(db, "rep_a1"), "qualified")
    assert "contacted" in next_stages(company.actor(db, "lead_a"), "qualified")
    change_stage(db, company.actor(db, "bj_manager"), opp.id, "contacted")
    db.commit()
    assert history(db, opp.id) == [("contacted", "qualified"), ("qualified", "contacted")]


@pytest.mark.parametrize(
    ("to_stage", "extra", "key"),
    [
        ("won", {}, "An opportunity is won by a paid order, not by choosing the stage."),
        ("paid", {}, "“{stage}” is not a stage you can choose."),
        ("contacted", {}, "The opportunity is already at this stage."),
        ("trial_booked", {}, "A booked trial needs its date and time."),
        ("lost", {}, "Choose why the opportunity was lost."),
        ("lost", {"lost_reason": "aliens"}, "“{reason}” is not one of the lost reasons."),
    ],
)
def test_moves_that_lack_what_the_stage_needs_are_refused(db, company, to_stage, extra, key):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    with pytest.raises(ValidationError) as refused:
        change_stage(db, company.actor(db, "rep_a1"), opp.id, to_stage, **extra)
    assert refused.value.key == key
    db.rollback()
    assert history(db, opp.id) == []


def test_lost_closes_keeps_the_owner_and_cancels_unpaid_orders(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    db.add(SalesOrder(opportunity_id=opp.id, list_price=Decimal(100), amount=Decimal(90)))
    db.commit()
    change_stage(db, company.actor(db, "rep_a1"), opp.id, "lost", lost_reason="competitor")
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert (row.stage, row.pool_state, row.owner_id, row.closed_at) == (
        "lost",
        "closed",
        company.users["rep_a1"].id,
        NOW,
    )
    event = db.exec(select(FlowEvent)).one()
    assert (event.reason, event.from_state, event.to_state, event.note) == (
        "lost",
        "owned",
        "closed",
        "competitor",
    )
    order = db.exec(select(SalesOrder)).one()
    assert (order.status, order.cancelled_at) == ("cancelled", NOW)
    with pytest.raises(ValidationError):
        change_stage(db, company.actor(db, "rep_a1"), opp.id, "qualified")


def test_scope_hides_other_reps_opportunities(db, company):
    theirs = add_owned_opportunity(db, company, "rep_b1", 2)
    with pytest.raises(NotFound):
        change_stage(db, company.actor(db, "rep_a1"), theirs.id, "qualified")
    with pytest.raises(NotFound):
        change_stage(db, company.actor(db, "lead_a"), theirs.id, "qualified")  # team B
    change_stage(db, company.actor(db, "bj_manager"), theirs.id, "qualified")  # Beijing


def test_close_as_won_from_any_open_stage_and_twice(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    row = db.get(Opportunity, opp.id)
    close_as_won(db, company.actor(db, "admin"), row, Decimal("980.00"), NOW)
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert (row.stage, row.pool_state, row.amount) == ("won", "closed", Decimal("980.00"))
    assert history(db, opp.id) == [("contacted", "won")]
    close_as_won(db, company.actor(db, "admin"), row, Decimal("20.00"), NOW + timedelta(days=1))
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert row.amount == Decimal("1000.00")
    assert history(db, opp.id) == [("contacted", "won")]  # won once
    assert [e.reason for e in db.exec(select(FlowEvent)).all()] == ["won"]


def test_the_furthest_stage_follows_the_history_forward_only(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    manager = company.actor(db, "bj_manager")
    change_stage(db, manager, opp.id, "trial_booked", trial_at=NOW + timedelta(days=1))
    change_stage(db, manager, opp.id, "qualified")  # back: the furthest stays
    change_stage(db, manager, opp.id, "lost", lost_reason="price")
    db.commit()
    assert db.get(Opportunity, opp.id, populate_existing=True).furthest_stage == "trial_booked"


def test_refresh_sets_the_furthest_stage_from_bulk_written_history(db, company):
    from crm_core.sales.stages import refresh_furthest_stages

    skipped = add_owned_opportunity(db, company, "rep_a1", 1)
    lost = add_owned_opportunity(db, company, "rep_a1", 2)
    fresh = add_owned_opportunity(db, company, "rep_a1", 3)
    db.add_all(
        [
            StageHistory(opportunity_id=skipped.id, to_stage="new"),
            StageHistory(opportunity_id=skipped.id, from_stage="new", to_stage="trial_done"),
            StageHistory(opportunity_id=lost.id, to_stage="qualified"),
            StageHistory(opportunity_id=lost.id, from_stage="qualified", to_stage="lost"),
        ]
    )
    lost_row = db.get(Opportunity, lost.id)
    lost_row.stage, lost_row.pool_state = "lost", "closed"
    fresh_row = db.get(Opportunity, fresh.id)
    fresh_row.stage = "new"
    db.add_all([lost_row, fresh_row])
    db.commit()
    refresh_furthest_stages(db)
    db.commit()
    rows = db.exec(select(Opportunity).execution_options(populate_existing=True)).all()
    furthest = {o.id: o.furthest_stage for o in rows}
    assert furthest == {skipped.id: "trial_done", lost.id: "qualified", fresh.id: "new"}


def test_trial_done_waits_for_a_trial_booked_for_later(db, company):
    """A trial booked for tomorrow has not been attended: the stage cannot say so yet. Once
    the lesson's time has passed, or the trial is cancelled, the move is allowed."""
    from crm_core.sales.trials import book_trial, mark_trial

    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    trial = book_trial(db, rep, opp.id, NOW + timedelta(days=1), "Maths")
    with pytest.raises(ValidationError) as refused:
        change_stage(db, rep, opp.id, "trial_done")
    assert refused.value.key.startswith("A trial lesson is still booked for later")
    assert db.get(Opportunity, opp.id).stage == "trial_booked"
    clock.freeze(NOW + timedelta(days=1, hours=2))
    change_stage(db, rep, opp.id, "trial_done")
    assert db.get(Opportunity, opp.id).stage == "trial_done"

    other = add_owned_opportunity(db, company, "rep_a1", 2)
    later = book_trial(db, rep, other.id, clock.now() + timedelta(days=2))
    mark_trial(db, rep, later.id, "cancelled")
    change_stage(db, rep, other.id, "trial_done")
    assert db.get(Opportunity, other.id).stage == "trial_done"
    assert trial.status == "booked"
