"""Payments and refunds: the paid order wins the opportunity and freezes the attribution,
the payment reference makes recording idempotent (also when two payments race), later
reorganisations never move past revenue, and scope holds for payers too."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm_core.commerce.order_listing import paid_orders
from crm_core.commerce.orders import cancel_order, decide_discount, order_number
from crm_core.commerce.payments import record_payment, refund_order
from crm_core.models import (
    AuditLog,
    FlowEvent,
    Notice,
    Opportunity,
    OrgUnit,
    SalesOrder,
    StageHistory,
)
from crm_core.org.access import load_actor
from crm_core.org.roles import save_role
from crm_core.org.units import move_unit
from crm_core.org.users import update_user
from crm_core.platform import clock
from crm_core.platform.errors import CrmError, NotFound, PermissionDenied, ValidationError
from tests.factories import SYSTEM
from tests.test_orders import add_user, order_for, sales_company


@pytest.fixture
def company(db):
    return sales_company(db)


def pay(db, company, order, ref="PAY-1", username="fin", **options):
    outcome = record_payment(db, company.actor(db, username), order.id, ref, **options)
    db.commit()
    db.refresh(order)
    return outcome


def test_a_paid_order_wins_the_opportunity_and_freezes_the_attribution(db, company):
    clock.freeze(clock.now().replace(microsecond=0))
    order = order_for(db, company, "rep_a1", "9500")
    clock.advance(timedelta(hours=2))
    outcome = pay(db, company, order, amount="9,500.00")
    assert outcome.recorded and not outcome.already
    rep, team_a = company.users["rep_a1"], company.units["team_a"]
    assert (order.status, order.payment_ref, order.paid_at) == ("paid", "PAY-1", clock.now())
    assert order.payment_recorded_by_id == company.users["fin"].id
    assert (order.attributed_owner_id, order.attributed_unit_id, order.attributed_org_path) == (
        rep.id,
        team_a.id,
        team_a.path,
    )
    assert order.attributed_org_path.startswith("/") and order.attributed_org_path.endswith("/")
    assert order.course_ends_at == clock.now() + timedelta(days=365)
    opp = db.get(Opportunity, order.opportunity_id)
    db.refresh(opp)
    assert (opp.stage, opp.pool_state, opp.owner_id, opp.amount, opp.closed_at) == (
        "won",
        "closed",
        rep.id,
        Decimal("9500.00"),
        clock.now(),
    )
    history = db.exec(select(StageHistory).where(StageHistory.opportunity_id == opp.id)).all()
    assert [(h.from_stage, h.to_stage) for h in history] == [("contacted", "won")]
    flows = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opp.id)).all()
    assert [(f.reason, f.from_state, f.to_state, f.to_owner_id) for f in flows] == [
        ("won", "owned", "closed", rep.id)
    ]
    paid_notice = db.exec(select(Notice).where(Notice.kind == "order.paid")).one()
    assert paid_notice.user_id == rep.id
    assert paid_notice.params["order"] == order_number(order.id)
    entry = db.exec(select(AuditLog).where(AuditLog.action == "order.pay")).one()
    assert (entry.actor_id, entry.target_id, entry.after) == (
        company.users["fin"].id,
        str(order.id),
        {"payment_ref": "PAY-1"},
    )


def test_the_same_reference_again_is_already_recorded_and_changes_nothing(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    pay(db, company, order, ref="PAY-1")
    paid_at = order.paid_at
    clock.advance(timedelta(days=1))
    again = pay(db, company, order, ref="  PAY-1 ")  # spaces around a pasted reference
    assert again.already and not again.recorded
    assert (order.status, order.paid_at) == ("paid", paid_at)
    history = db.exec(
        select(StageHistory).where(StageHistory.opportunity_id == order.opportunity_id)
    ).all()
    assert len(history) == 1
    assert len(db.exec(select(Notice).where(Notice.kind == "order.paid")).all()) == 1
    with pytest.raises(ValidationError) as other_ref:
        pay(db, company, order, ref="PAY-2")
    assert other_ref.value.key == "Order {order} is already paid (reference {ref})."


def test_a_reference_used_by_another_order_is_refused_naming_that_order(db, company):
    first = order_for(db, company, "rep_a1", "9500")
    second = order_for(db, company, "rep_a2", "9500")
    pay(db, company, first, ref="PAY-1")
    with pytest.raises(ValidationError) as refused:
        pay(db, company, second, ref="PAY-1")
    assert refused.value.key == "Payment reference {ref} is already used by order {order}."
    assert refused.value.params == {"ref": "PAY-1", "order": order_number(first.id)}
    db.rollback()
    assert db.get(SalesOrder, second.id).status == "pending"


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"amount": "9400"}, "The amount {amount} differs from order {order}'s amount {expected}."),
        ({"amount": "abc"}, "“{value}” is not an amount of money."),
        ({"ref": ""}, "A payment needs its payment reference."),
        ({"ref": "X" * 81}, "The payment reference is longer than {maximum} characters."),
        ({"paid_at": "future"}, "The payment time {paid_at} is in the future."),
        ({"paid_at": "before"}, "The payment time is before order {order} was made."),
    ],
)
def test_a_payment_must_match_the_order(db, company, options, key):
    clock.freeze(clock.now().replace(microsecond=0))
    order = order_for(db, company, "rep_a1", "9500")
    if options.get("paid_at") == "future":
        options["paid_at"] = clock.now() + timedelta(minutes=1)
    elif options.get("paid_at") == "before":
        options["paid_at"] = clock.now() - timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        pay(db, company, order, **options)
    assert refused.value.key == key
    db.rollback()
    assert db.get(SalesOrder, order.id).status == "pending"


def test_only_payable_orders_can_be_paid(db, company):
    waiting = order_for(db, company, "rep_a1", "8000")  # 20% off: waits for approval
    with pytest.raises(ValidationError) as not_approved:
        pay(db, company, waiting)
    assert (
        not_approved.value.key
        == "The discount of order {order} is not approved: it cannot be paid yet."
    )
    db.rollback()
    decide_discount(db, company.actor(db, "bj_manager"), waiting.id, True)
    db.commit()
    assert pay(db, company, waiting).recorded
    cancelled = order_for(db, company, "rep_a2", "9500")
    cancel_order(db, company.actor(db, "rep_a2"), cancelled.id)
    db.commit()
    with pytest.raises(ValidationError) as gone:
        pay(db, company, cancelled, ref="PAY-2")
    assert gone.value.key == "Order {order} was cancelled: it cannot be paid."


def test_who_may_pay_and_which_orders_they_reach(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    for username in ("rep_a1", "rep_a2", "bj_manager"):
        with pytest.raises(PermissionDenied):
            pay(db, company, order, username=username)
    # A payer whose scope is Shanghai does not reach a Beijing order, even by its id.
    save_role(
        db,
        SYSTEM,
        code="sh_cashier",
        name="Shanghai cashier",
        data_scope="subtree",
        permissions=["view_opportunities", "record_payments"],
    )
    add_user(db, company, "sh_cashier", "shanghai", ["sh_cashier"])
    with pytest.raises(NotFound):
        pay(db, company, order, username="sh_cashier")
    db.rollback()
    assert paid_orders(db, company.actor(db, "sh_cashier")).total == 0
    assert pay(db, company, order, username="admin").recorded


def test_moving_the_rep_later_never_changes_a_past_orders_attribution(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    pay(db, company, order, ref="PAY-1")
    team_a, team_c = company.units["team_a"], company.units["team_c"]
    update_user(db, SYSTEM, company.users["rep_a1"].id, org_unit_id=team_c.id)
    db.commit()
    db.refresh(order)
    assert (order.attributed_unit_id, order.attributed_org_path) == (team_a.id, team_a.path)
    # What the rep sells from now on is credited to the new team.
    later = order_for(db, company, "rep_a1", "9500", tail=900)
    pay(db, company, later, ref="PAY-2")
    assert (later.attributed_owner_id, later.attributed_unit_id, later.attributed_org_path) == (
        company.users["rep_a1"].id,
        team_c.id,
        team_c.path,
    )


def test_moving_the_unit_in_the_tree_later_never_changes_a_past_orders_path(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    pay(db, company, order, ref="PAY-1")
    old_path = order.attributed_org_path
    team_a = move_unit(db, SYSTEM, company.units["team_a"].id, company.units["shanghai"].id)
    db.commit()
    assert team_a.path != old_path and team_a.path.startswith(company.units["shanghai"].path)
    db.refresh(order)
    assert (order.attributed_unit_id, order.attributed_org_path) == (team_a.id, old_path)
    later = order_for(db, company, "rep_a1", "9500", tail=900)
    pay(db, company, later, ref="PAY-2")
    assert later.attributed_org_path == db.get(OrgUnit, team_a.id).path


def test_an_unowned_opportunity_credits_the_orders_creator(db, company):
    order = order_for(db, company, "lead_a", "9500", owner="rep_a1")
    opp = db.get(Opportunity, order.opportunity_id)
    opp.owner_id, opp.pool_state = None, "public"  # back in the pool, still in team A's reach
    db.add(opp)
    db.commit()
    pay(db, company, order)
    assert (order.attributed_owner_id, order.attributed_unit_id) == (
        company.users["lead_a"].id,
        company.units["team_a"].id,
    )
    assert db.get(Opportunity, opp.id).stage == "won"


def test_a_refund_sets_the_order_refunded_and_leaves_the_win_and_the_attribution(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    finance = company.actor(db, "fin")
    with pytest.raises(ValidationError) as unpaid:
        refund_order(db, finance, order.id, "changed mind")
    assert unpaid.value.key == "Only a paid order can be refunded; order {order} is not paid."
    pay(db, company, order)
    frozen = (order.attributed_owner_id, order.attributed_unit_id, order.attributed_org_path)
    with pytest.raises(ValidationError) as no_reason:
        refund_order(db, finance, order.id, "  ")
    assert no_reason.value.key == "Say why the order is refunded."
    with pytest.raises(PermissionDenied):
        refund_order(db, company.actor(db, "rep_a1"), order.id, "mine")
    clock.freeze(clock.now())
    refund_order(db, finance, order.id, "course cancelled")
    db.commit()
    db.refresh(order)
    assert (order.status, order.refunded_at, order.refunded_by_id, order.refund_reason) == (
        "refunded",
        clock.now(),
        company.users["fin"].id,
        "course cancelled",
    )
    assert (order.attributed_owner_id, order.attributed_unit_id, order.attributed_org_path) == (
        frozen
    )
    opp = db.get(Opportunity, order.opportunity_id)
    db.refresh(opp)
    assert (opp.stage, opp.pool_state) == ("won", "closed")
    entry = db.exec(select(AuditLog).where(AuditLog.action == "order.refund")).one()
    assert entry.after == {"payment_ref": "PAY-1", "reason": "course cancelled"}
    with pytest.raises(ValidationError):
        refund_order(db, finance, order.id, "twice")
    assert pay(db, company, order).already  # the refunded payment is still that payment
    assert [r.id for r in paid_orders(db, finance).rows] == []
    assert [r.status for r in paid_orders(db, finance, include_refunded=True).rows] == ["refunded"]


def race(engine, actor, calls) -> list[str]:
    """Run each (order id, ref) payment in its own thread and connection, all at once."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def one(order_id, ref):
        with Session(engine) as session:
            barrier.wait()
            try:
                result = record_payment(session, actor, order_id, ref)
                session.commit()
                outcomes.append("recorded" if result.recorded else "already")
            except CrmError as error:
                session.rollback()
                outcomes.append(error.key)

    threads = [threading.Thread(target=one, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_two_payments_racing_with_one_reference_never_both_succeed(db, company, engine):
    first = order_for(db, company, "rep_a1", "9500")
    second = order_for(db, company, "rep_b1", "9500")
    finance = load_actor(db, company.users["fin"].id)
    assert race(engine, finance, [(first.id, "PAY-R"), (second.id, "PAY-R")]) == [
        "Payment reference {ref} is already used by order {order}.",
        "recorded",
    ]
    db.expire_all()
    paid = db.exec(select(SalesOrder).where(SalesOrder.payment_ref == "PAY-R")).all()
    assert len(paid) == 1 and paid[0].status == "paid"
    loser = second if paid[0].id == first.id else first
    assert db.get(SalesOrder, loser.id).status == "pending"
    won = db.exec(select(Opportunity).where(Opportunity.stage == "won")).all()
    assert [o.id for o in won] == [paid[0].opportunity_id]
    # The same payment recorded twice at once: once recorded, once "already".
    third = order_for(db, company, "rep_c1", "9500")
    assert race(engine, finance, [(third.id, "PAY-S"), (third.id, "PAY-S")]) == [
        "already",
        "recorded",
    ]
    history = db.exec(
        select(StageHistory).where(StageHistory.opportunity_id == third.opportunity_id)
    ).all()
    assert len(history) == 1


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_a_payment_that_loses_the_reference_while_waiting_is_refused(db, company, engine):
    """One payment holds the reference uncommitted; the other waits for it (on PostgreSQL at
    the unique index, on SQLite at the write lock) and is refused once it commits."""
    first = order_for(db, company, "rep_a1", "9500")
    second = order_for(db, company, "rep_b1", "9500")
    finance = load_actor(db, company.users["fin"].id)
    outcome: list[str] = []

    def later():
        with Session(engine) as session:
            try:
                record_payment(session, finance, second.id, "PAY-W")
                session.commit()
                outcome.append("recorded")
            except CrmError as error:
                session.rollback()
                outcome.append(error.key)
                outcome.append(error.params.get("order"))

    with Session(engine) as holder:
        record_payment(holder, finance, first.id, "PAY-W")  # flushed, not committed
        thread = threading.Thread(target=later)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive()  # waiting on the first payment
        holder.commit()
    thread.join()
    assert outcome == [
        "Payment reference {ref} is already used by order {order}.",
        order_number(first.id),
    ]
    db.expire_all()
    assert db.get(SalesOrder, second.id).status == "pending"
