"""Instalment plans: a deposit and instalments that add up to the order, payments of a part
settling the earliest open parts, the opportunity won at the deposit (or when paid in full,
as configured), overdue parts for the owner and finance, refunds of a part with the reason,
and revenue credited per payment in performance, rankings and target attainment."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.performance import performance
from crm_core.commerce.instalments import PlanPart, order_plan, overdue_instalments
from crm_core.commerce.orders import cancel_order, create_order
from crm_core.commerce.payments import record_payment, refund_order
from crm_core.models import (
    AuditLog,
    Opportunity,
    OrderInstalment,
    OrderPayment,
    OrderRefund,
    SalesOrder,
)
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.settings import set_setting
from crm_core.sales.rankings import rankings
from crm_core.sales.target_attainment import actuals
from tests.factories import SYSTEM, add_owned_opportunity
from tests.test_orders import sales_company

START = datetime(2026, 3, 2, 2, 0)
MARCH = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
APRIL = DashboardFilter(start=date(2026, 4, 1), end=date(2026, 4, 30))


@pytest.fixture
def company(db):
    clock.freeze(START)
    return sales_company(db)


def plan(deposit="2000", first="4000", second="4000"):
    """A deposit due now, then two instalments a month apart."""
    return [
        PlanPart("deposit", date(2026, 3, 2), deposit),
        PlanPart("instalment", date(2026, 4, 2), first),
        PlanPart("instalment", date(2026, 5, 2), second),
    ]


def planned_order(db, company, username="rep_a1", parts=None, amount="10000", tail=None):
    tail = tail or 200 + len(db.exec(select(Opportunity.id)).all())
    opp = add_owned_opportunity(db, company, username, tail)
    order = create_order(
        db,
        company.actor(db, username),
        opp.id,
        company.product.id,
        amount,
        plan=parts if parts is not None else plan(),
    )
    db.commit()
    return order


def pay(db, company, order, ref, amount, username="fin", at=None):
    outcome = record_payment(
        db, company.actor(db, username), order.id, ref, amount=amount, paid_at=at
    )
    db.commit()
    db.refresh(order)
    return outcome


def parts_of(db, order):
    rows = db.exec(
        select(OrderInstalment)
        .where(OrderInstalment.order_id == order.id)
        .order_by(OrderInstalment.sequence)
    ).all()
    for row in rows:
        db.refresh(row)
    return [(r.kind, r.amount, r.paid_amount, r.settled_at is not None) for r in rows]


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        ([PlanPart("deposit", date(2026, 3, 2), "10000")], "at least one more"),
        (plan(second="3000"), "add up to"),
        (
            [
                PlanPart("instalment", date(2026, 3, 2), "5000"),
                PlanPart("deposit", date(2026, 4, 2), "5000"),
            ],
            "first part",
        ),
        (
            [
                PlanPart("deposit", date(2026, 4, 2), "5000"),
                PlanPart("instalment", date(2026, 3, 2), "5000"),
            ],
            "due before",
        ),
        (plan(first="0", second="8000"), "above zero"),
    ],
)
def test_a_plan_that_does_not_add_up_is_refused_with_the_reason(db, company, parts, words):
    opp = add_owned_opportunity(db, company, "rep_a1", 150)
    with pytest.raises(ValidationError) as caught:
        create_order(
            db, company.actor(db, "rep_a1"), opp.id, company.product.id, "10000", plan=parts
        )
    assert words in str(caught.value)
    db.rollback()
    assert db.exec(select(SalesOrder.id)).all() == []


def test_payments_settle_the_earliest_parts_and_the_deposit_wins(db, company):
    order = planned_order(db, company)
    assert order.instalments and order.status == "pending"
    clock.advance(timedelta(hours=1))
    assert pay(db, company, order, "DEP-1", "2000").recorded
    assert (order.status, order.paid_amount, order.payment_ref) == ("pending", 2000, "DEP-1")
    opp = db.get(Opportunity, order.opportunity_id)
    db.refresh(opp)
    assert (opp.stage, opp.amount) == ("won", Decimal("10000.00"))
    # A part smaller than the next instalment pays it partly.
    pay(db, company, order, "INS-1", "3000")
    assert parts_of(db, order) == [
        ("deposit", 2000, 2000, True),
        ("instalment", 4000, 3000, False),
        ("instalment", 4000, 0, False),
    ]
    # More than is owed is refused; the same reference again changes nothing.
    with pytest.raises(ValidationError, match="still owed"):
        pay(db, company, order, "INS-2", "5000.01")
    db.rollback()
    assert not pay(db, company, order, "INS-1", "3000").recorded
    # One payment may settle two parts.
    pay(db, company, order, "INS-2", "5000")
    assert parts_of(db, order) == [
        ("deposit", 2000, 2000, True),
        ("instalment", 4000, 4000, True),
        ("instalment", 4000, 4000, True),
    ]
    assert (order.status, order.paid_amount) == ("paid", Decimal("10000.00"))
    db.refresh(opp)
    assert opp.amount == Decimal("10000.00")  # won once, not once per payment
    payments = db.exec(select(OrderPayment.payment_ref, OrderPayment.amount)).all()
    assert sorted(payments) == [("DEP-1", 2000), ("INS-1", 3000), ("INS-2", 5000)]
    audits = db.exec(select(AuditLog.after).where(AuditLog.action == "order.pay")).all()
    assert [a["amount"] for a in audits] == ["2000.00", "3000.00", "5000.00"]
    with pytest.raises(ValidationError, match="already paid"):
        pay(db, company, order, "INS-3", "1")


def test_a_plain_order_still_takes_only_its_whole_amount(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 151)
    order = create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, "9000")
    db.commit()
    with pytest.raises(ValidationError, match="differs"):
        pay(db, company, order, "P-1", "4000")
    db.rollback()
    pay(db, company, order, "P-1", "9000")
    assert (order.status, order.paid_amount) == ("paid", Decimal("9000.00"))


def test_won_when_paid_in_full_when_so_configured(db, company):
    set_setting(db, SYSTEM, "orders.won_at", "full")
    db.commit()
    order = planned_order(db, company)
    pay(db, company, order, "DEP-1", "2000")
    opp = db.get(Opportunity, order.opportunity_id)
    db.refresh(opp)
    assert opp.stage != "won"
    pay(db, company, order, "REST-1", "8000")
    db.refresh(opp)
    assert opp.stage == "won" and order.status == "paid"
    with pytest.raises(ValidationError):
        set_setting(db, SYSTEM, "orders.won_at", "later")


def test_who_records_payments_and_who_sees_the_plan(db, company):
    order = planned_order(db, company)
    with pytest.raises(PermissionDenied):
        pay(db, company, order, "DEP-1", "2000", username="rep_a1")
    db.rollback()
    # The owner, their team lead and finance see the plan; a rep of another region does not.
    for username in ("rep_a1", "lead_a", "fin", "boss"):
        states = [r.state for r in order_plan(db, company.actor(db, username), order.id)]
        assert states == ["open", "open", "open"]
    with pytest.raises(NotFound):
        order_plan(db, company.actor(db, "rep_c1"), order.id)
    # A partly paid order is refunded rather than cancelled.
    pay(db, company, order, "DEP-1", "2000")
    with pytest.raises(ValidationError, match="partly paid"):
        cancel_order(db, company.actor(db, "rep_a1"), order.id)


def test_overdue_parts_for_the_owner_and_for_finance(db, company):
    order = planned_order(db, company)
    other = planned_order(db, company, "rep_c1")
    pay(db, company, order, "DEP-1", "2000")
    clock.freeze(datetime(2026, 4, 10, 2, 0))
    mine = overdue_instalments(db, company.actor(db, "rep_a1"), owner_id=company.users["rep_a1"].id)
    assert mine.total == 1
    row = mine.rows[0]
    assert (row.order_id, row.kind, row.due_on, row.owed) == (
        order.id,
        "instalment",
        date(2026, 4, 2),
        Decimal("4000.00"),
    )
    assert row.owner_name == company.users["rep_a1"].full_name
    # Finance sees every region's: the other order's deposit and first instalment too.
    everything = overdue_instalments(db, company.actor(db, "fin"))
    assert everything.total == 3
    assert [r.order_id for r in everything.rows].count(other.id) == 2
    # A Beijing manager sees Beijing's only; a rep of another team nothing of Rep A1's.
    assert overdue_instalments(db, company.actor(db, "bj_manager")).total == 1
    assert overdue_instalments(db, company.actor(db, "rep_b1")).total == 0
    # Paying a part of it leaves it overdue with less owed; paying the rest clears it.
    pay(db, company, order, "INS-1", "1500")
    owed = [r.owed for r in overdue_instalments(db, company.actor(db, "fin")).rows]
    assert owed == [Decimal("2000.00"), Decimal("2500.00"), Decimal("4000.00")]
    pay(db, company, order, "INS-2", "2500")
    assert [r.order_id for r in overdue_instalments(db, company.actor(db, "fin")).rows] == [
        other.id,
        other.id,
    ]
    states = [r.state for r in order_plan(db, company.actor(db, "rep_a1"), order.id)]
    assert states == ["settled", "settled", "open"]


def test_refunds_of_a_part_with_the_reason(db, company):
    order = planned_order(db, company)
    pay(db, company, order, "DEP-1", "2000")
    pay(db, company, order, "REST-1", "8000")
    fin = company.actor(db, "fin")
    with pytest.raises(ValidationError, match="why"):
        refund_order(db, fin, order.id, " ", amount="100")
    db.rollback()
    refund_order(db, fin, order.id, "Dropped one subject", amount="8500")
    db.commit()
    db.refresh(order)
    assert (order.status, order.refunded_amount) == ("paid", Decimal("8500.00"))
    # Latest payment first: 8,000 from the rest, 500 from the deposit.
    rows = db.exec(
        select(OrderRefund.amount, OrderPayment.payment_ref, OrderRefund.reason)
        .join(OrderPayment, OrderPayment.id == OrderRefund.payment_id)
        .order_by(OrderRefund.id)
    ).all()
    assert rows == [
        (Decimal("8000.00"), "REST-1", "Dropped one subject"),
        (Decimal("500.00"), "DEP-1", "Dropped one subject"),
    ]
    with pytest.raises(ValidationError, match="At most"):
        refund_order(db, fin, order.id, "More", amount="1500.01")
    db.rollback()
    with pytest.raises(PermissionDenied):
        refund_order(db, company.actor(db, "rep_a1"), order.id, "Mine", amount="1")
    db.rollback()
    refund_order(db, fin, order.id, "The rest")
    db.commit()
    db.refresh(order)
    assert (order.status, order.refunded_amount) == ("refunded", Decimal("10000.00"))
    with pytest.raises(ValidationError, match="not paid"):
        refund_order(db, fin, order.id, "Again")


def test_revenue_is_credited_per_payment_and_refunds_apart(db, company):
    """A deposit in March, two instalments in April (one before Rep A1 moves to Shanghai),
    a part refunded in April: each month and each unit gets what was paid in it."""
    order = planned_order(db, company)
    clock.freeze(datetime(2026, 4, 20, 4, 0))
    pay(db, company, order, "DEP-1", "2000", at=datetime(2026, 3, 5, 4, 0))
    pay(db, company, order, "INS-1", "4000", at=datetime(2026, 4, 3, 4, 0))
    from crm_core.org.users import update_user

    update_user(db, SYSTEM, company.users["rep_a1"].id, org_unit_id=company.units["team_c"].id)
    db.commit()
    pay(db, company, order, "INS-2", "4000", at=datetime(2026, 4, 15, 4, 0))
    refund_order(db, company.actor(db, "fin"), order.id, "One subject dropped", amount="1000")
    db.commit()
    boss = company.actor(db, "boss")
    march = performance(db, boss, MARCH).total
    assert (march.revenue, march.orders, march.won, march.refunds) == (Decimal("2000"), 1, 1, 0)
    april = performance(db, boss, APRIL)
    assert (april.total.revenue, april.total.orders, april.total.won) == (Decimal("8000"), 0, 0)
    assert (april.total.refunds, april.total.refund_count) == (Decimal("1000"), 1)
    units = {r.label: (r.revenue, r.refunds) for r in april.units}
    # The refund leaves the last payment's attribution (Shanghai, after the move).
    assert units == {
        "Beijing": (Decimal("4000"), Decimal("0")),
        "Shanghai": (Decimal("4000"), Decimal("1000")),
    }
    # A Beijing manager sees Beijing's April share only.
    beijing = performance(db, company.actor(db, "bj_manager"), APRIL).total
    assert beijing.revenue == Decimal("4000")
    # Rankings and target attainment credit each payment to whom it was credited.
    rep = company.users["rep_a1"].id
    ranked = rankings(db, boss, period="month", metric="revenue", today=date(2026, 4, 20))
    assert {r.key: r.values["revenue"] for r in ranked.reps}[rep] == Decimal("8000")
    assert {r.key: r.values["wins"] for r in ranked.reps}[rep] == 0
    march_ranked = rankings(db, boss, period="month", today=date(2026, 3, 20))
    assert {r.key: r.values["wins"] for r in march_ranked.reps}[rep] == 1
    units_now = {company.units["beijing"].id, company.units["shanghai"].id}
    by_unit, by_user = actuals(
        db, datetime(2026, 3, 31, 16), datetime(2026, 4, 30, 16), units_now, {rep}
    )
    assert by_user[rep]["revenue"] == Decimal("8000")
    assert by_unit[company.units["beijing"].id]["revenue"] == Decimal("4000")
    assert by_unit[company.units["shanghai"].id]["revenue"] == Decimal("4000")


def test_an_instalment_reference_finds_its_order_in_the_lists(db, company):
    from crm_core.commerce.order_listing import OrderFilter, paid_orders

    order = planned_order(db, company)
    pay(db, company, order, "DEP-1", "2000")
    pay(db, company, order, "INS-7", "4000")
    found = paid_orders(db, company.actor(db, "fin"), OrderFilter(search="INS-7"))
    assert [r.id for r in found.rows] == [order.id]
    assert (found.rows[0].paid_amount, found.rows[0].owed) == (
        Decimal("6000.00"),
        Decimal("4000.00"),
    )


def test_the_warnings_job_tells_owners_of_overdue_instalments_once(db, company):
    from crm_core.commerce.instalments import notify_overdue
    from crm_core.models import Notice

    planned_order(db, company)
    planned_order(db, company, "rep_c1")
    with pytest.raises(PermissionDenied):
        notify_overdue(db, company.actor(db, "rep_a1"))
    clock.freeze(datetime(2026, 4, 10, 2, 0))
    assert notify_overdue(db, SYSTEM) == 4  # each order's deposit and first instalment
    db.commit()
    notices = db.exec(
        select(Notice.user_id, Notice.params).where(Notice.kind == "instalment.overdue")
    ).all()
    owners = {company.users["rep_a1"].id, company.users["rep_c1"].id}
    assert {user for user, _ in notices} == owners
    assert all(params == {"count": 2} for _, params in notices)
    assert notify_overdue(db, SYSTEM) == 0  # told once
    clock.freeze(datetime(2026, 5, 10, 2, 0))
    assert notify_overdue(db, SYSTEM) == 2  # the second instalments, now overdue too
    db.commit()
