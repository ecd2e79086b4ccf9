"""Renewals by hand: the owner of the win keeps the customer (or dispatch does, when they
left), what cannot be renewed is refused with the reason, and scope holds. The helpers
here build wins with paid orders for the rule tests (tests/test_renewal_rules.py) too."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from crm_core.circulation.renewals import OWNER_GONE, open_due_renewals, open_renewal, renewals_of
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FlowEvent, Opportunity, Product, SalesOrder, StageHistory
from crm_core.org.users import update_user
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.stages import change_stage, close_as_won
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

START = datetime(2026, 3, 2, 2, 0)
COURSE_DAYS = 90


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def won(
    db,
    company,
    owner="rep_a1",
    tail=1,
    *,
    paid_at=START,
    days=COURSE_DAYS,
    status="paid",
    line=None,
) -> Opportunity:
    """A won opportunity of `owner` with one order paid at `paid_at` for a course of `days`."""
    opp = add_owned_opportunity(db, company, owner, tail)
    if line is not None:
        opp.business_line_id = line.id
    add_order(db, opp, paid_at=paid_at, days=days, status=status)
    close_as_won(db, SYSTEM, opp, Decimal("1000.00"), paid_at)
    db.commit()
    db.refresh(opp)
    return opp


def add_order(db, opp, *, paid_at, days=COURSE_DAYS, status="paid") -> SalesOrder:
    product = Product(
        business_line_id=opp.business_line_id,
        code=f"P{opp.id}-{paid_at:%j%H%M}",
        name="Course",
        list_price=Decimal("1000.00"),
        course_days=days,
    )
    db.add(product)
    db.flush()
    order = SalesOrder(
        opportunity_id=opp.id,
        product_id=product.id,
        list_price=Decimal("1000.00"),
        amount=Decimal("1000.00"),
        status=status,
        paid_at=paid_at,
        refunded_at=paid_at + timedelta(days=3) if status == "refunded" else None,
        course_ends_at=paid_at + timedelta(days=days),
        attributed_owner_id=opp.owner_id,
    )
    db.add(order)
    db.commit()
    return order


def renewal_rule(
    db, company, name="Renew", priority=10, unit="hq", line=None, days_before=30, assign_to="owner"
):
    saved = save_rule(
        db,
        company.actor(db, "admin"),
        "renewal",
        RuleDraft(
            name=name,
            priority=priority,
            org_unit_id=company.units[unit].id,
            business_line_id=line,
            conditions={"days_before": days_before},
            action={"assign_to": assign_to},
        ),
    )
    db.commit()
    return saved


def run(db, **kwargs):
    result = open_due_renewals(db, SYSTEM, **kwargs)
    db.commit()
    return result


def renewals(db, of: Opportunity | None = None) -> list[Opportunity]:
    db.expire_all()
    query = select(Opportunity).where(Opportunity.pipeline_type == "renewal")
    if of is not None:
        query = query.where(Opportunity.renewal_of_id == of.id)
    return list(db.exec(query.order_by(Opportunity.id)).all())


def count(db, model, *where) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


def refused(call) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value


# --- by hand ---------------------------------------------------------------------------


def test_the_owner_of_the_win_gets_the_renewal_with_its_history(db, company):
    win = won(db, company)
    rep = company.actor(db, "rep_a1")
    clock.advance(timedelta(days=60))
    renewal = open_renewal(db, rep, win.id)
    db.commit()
    assert (renewal.lead_id, renewal.business_line_id) == (win.lead_id, win.business_line_id)
    assert (renewal.pipeline_type, renewal.renewal_of_id, renewal.stage) == (
        "renewal",
        win.id,
        "new",
    )
    assert (renewal.pool_state, renewal.owner_id, renewal.org_unit_id) == (
        "owned",
        company.users["rep_a1"].id,
        company.units["team_a"].id,
    )
    assert renewal.assigned_at == clock.now() and renewal.unassigned_reason is None
    history = db.exec(select(StageHistory).where(StageHistory.opportunity_id == renewal.id)).one()
    assert (history.from_stage, history.to_stage, history.actor_id) == (None, "new", rep.user_id)
    event = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == renewal.id)).one()
    assert (event.reason, event.to_state, event.to_owner_id, event.actor_id, event.rule_kind) == (
        "renewal",
        "owned",
        rep.user_id,
        rep.user_id,
        None,
    )
    assert [(r.opportunity_id, r.open, r.visible) for r in renewals_of(db, rep, win.id)] == [
        (renewal.id, True, True)
    ]


def test_an_owner_who_moved_takes_the_renewal_to_their_new_unit(db, company):
    win = won(db, company)
    update_user(db, SYSTEM, company.users["rep_a1"].id, org_unit_id=company.units["team_b"].id)
    db.commit()
    renewal = open_renewal(db, company.actor(db, "bj_manager"), win.id)
    assert (renewal.owner_id, renewal.org_unit_id) == (
        company.users["rep_a1"].id,
        company.units["team_b"].id,
    )


@pytest.mark.parametrize(
    "change", [{"status": "resigned"}, {"enabled": False}, {"status": "on_leave"}]
)
def test_a_renewal_whose_owner_is_gone_waits_for_dispatch(db, company, change):
    win = won(db, company)
    update_user(db, SYSTEM, company.users["rep_a1"].id, **change)
    db.commit()
    manager = company.actor(db, "bj_manager")
    renewal = open_renewal(db, manager, win.id)
    db.commit()
    assert (renewal.pool_state, renewal.owner_id, renewal.assigned_at) == ("unassigned", None, None)
    assert renewal.unassigned_reason == OWNER_GONE
    assert renewal.org_unit_id == company.units["team_a"].id  # the win's team still sees it
    event = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == renewal.id)).one()
    assert (event.to_state, event.to_owner_id, event.actor_id) == (
        "unassigned",
        None,
        manager.user_id,
    )


def test_only_a_win_is_renewed(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    error = refused(lambda: open_renewal(db, company.actor(db, "rep_a1"), opp.id))
    assert (error.key, error.params) == (
        "Opportunity #{id} is not won: only a win can be renewed.",
        {"id": opp.id},
    )
    assert renewals(db) == []


def test_a_second_open_renewal_or_another_open_opportunity_on_the_line_is_refused(db, company):
    win = won(db, company)
    rep = company.actor(db, "rep_a1")
    first = open_renewal(db, rep, win.id)
    db.commit()
    error = refused(lambda: open_renewal(db, rep, win.id))
    assert (error.key, error.params) == (
        "This win already has an open renewal: opportunity #{id}.",
        {"id": first.id},
    )

    # Once that renewal is lost the win may be renewed again, unless the lead has another
    # open opportunity on the line.
    change_stage(db, rep, first.id, "lost", lost_reason="price")
    other = Opportunity(
        lead_id=win.lead_id, business_line_id=win.business_line_id, pool_state="public", stage="new"
    )
    db.add(other)
    db.commit()
    error = refused(lambda: open_renewal(db, rep, win.id))
    assert (error.key, error.params) == (
        "The lead already has an open opportunity on this business line (#{id}): work that one instead.",
        {"id": other.id},
    )
    db.exec(update(Opportunity).where(Opportunity.id == other.id).values(pool_state="closed"))
    db.commit()
    second = open_renewal(db, rep, win.id)
    db.commit()
    assert [r.id for r in renewals(db, win)] == [first.id, second.id]


def test_a_win_outside_the_scope_does_not_exist_and_readers_cannot_renew(db, company):
    win = won(db, company)
    with pytest.raises(NotFound):
        open_renewal(db, company.actor(db, "rep_b1"), win.id)
    with pytest.raises(NotFound):
        renewals_of(db, company.actor(db, "rep_c1"), win.id)
    with pytest.raises(PermissionDenied):
        open_renewal(db, company.actor(db, "boss"), win.id)  # the executive only reads
    assert renewals(db) == []


def test_a_renewal_given_to_another_team_is_named_but_not_opened_to_the_reader(db, company):
    win = won(db, company)
    update_user(db, SYSTEM, company.users["rep_a1"].id, org_unit_id=company.units["team_c"].id)
    db.commit()
    renewal = open_renewal(db, SYSTEM, win.id)
    db.commit()
    [link] = renewals_of(db, company.actor(db, "lead_a"), win.id)
    assert (link.opportunity_id, link.visible) == (renewal.id, False)
