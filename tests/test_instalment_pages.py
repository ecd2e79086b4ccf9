"""AppTest: a rep makes an order with a deposit and instalments on the opportunity page and
sees its plan; finance records a payment of an amount, finds the overdue instalments and
refunds a part with the reason; the owner's workbench lists the overdue instalments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.commerce.instalments import PlanPart
from crm_core.commerce.orders import create_order, order_number
from crm_core.models import OrderInstalment, OrderRefund, SalesOrder
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from tests.factories import add_owned_opportunity
from tests.test_order_pages import _orders_section, open_page, stored
from tests.test_orders import sales_company

PAYMENTS = "pages/sales/payments.py"
WORKBENCH = "pages/sales/workbench.py"


@pytest.fixture
def env(db, app_settings):
    return sales_company(db)


def overdue_order(db, env):
    """Rep A1's order of 10,000: a deposit due 40 days ago, then two instalments, the first
    due 10 days ago."""
    today = clock.now().date()
    opp = add_owned_opportunity(db, env, "rep_a1", 7)
    parts = [
        PlanPart("deposit", today - timedelta(days=40), "2000"),
        PlanPart("instalment", today - timedelta(days=10), "4000"),
        PlanPart("instalment", today + timedelta(days=20), "4000"),
    ]
    order = create_order(db, env.actor(db, "rep_a1"), opp.id, env.product.id, "10000", plan=parts)
    db.commit()
    return order


def test_a_rep_makes_an_order_with_a_deposit_and_two_instalments(env, db):
    opp = add_owned_opportunity(db, env, "rep_a1", 1)
    at = AppTest.from_function(_orders_section, default_timeout=30)
    at.session_state["test_user_id"] = env.users["rep_a1"].id
    at.session_state["test_opportunity"] = opp.id
    at.session_state["test_line"] = env.line.id
    at.run()
    assert not at.exception, at.exception
    at.checkbox(key=f"orders_plan_{opp.id}_0_on").check().run()
    assert not at.exception, at.exception
    at.number_input(key=f"orders_plan_{opp.id}_0_deposit").set_value(3000.0).run()
    at.button(key=f"orders_create_{opp.id}").click()
    at.run()
    assert not at.exception, at.exception
    order = db.exec(select(SalesOrder).where(SalesOrder.opportunity_id == opp.id)).one()
    parts = db.exec(
        select(OrderInstalment.kind, OrderInstalment.amount)
        .where(OrderInstalment.order_id == order.id)
        .order_by(OrderInstalment.sequence)
    ).all()
    assert order.instalments
    assert [(k, str(a)) for k, a in parts] == [
        ("deposit", "3000.00"),
        ("instalment", "3500.00"),
        ("instalment", "3500.00"),
    ]
    # The plan shows under the orders, every part open.
    plan = at.dataframe[1].value
    assert list(plan[translate("Status", "zh")]) == [translate("Open", "zh")] * 3


def test_finance_records_a_part_finds_the_overdue_and_refunds_a_part(env, db):
    order = overdue_order(db, env)
    at = open_page("fin", PAYMENTS)
    at.text_input(key="payments_ref_0").input("DEP-9")
    at.number_input(key=f"payments_amount_0_{order.id}").set_value(2000.0)
    at.button(key="payments_record").click()
    at.run()
    assert not at.exception, at.exception
    paid = stored(db, order)
    assert (paid.status, str(paid.paid_amount)) == ("pending", "2000.00")
    assert any("DEP-9" not in s.value and order_number(order.id) in s.value for s in at.success)
    # The overdue tab: the first instalment, 4,000 owed.
    overdue = next(
        frame.value
        for frame in at.dataframe
        if translate("Still owed", "zh") in frame.value.columns
        and translate("Due on", "zh") in frame.value.columns
    )
    assert list(overdue[translate("Still owed", "zh")]) == ["¥4,000.00"]
    assert list(overdue[translate("Due on", "zh")]) == [
        (clock.now().date() - timedelta(days=10)).isoformat()
    ]
    # A part of what was paid is refunded, with the reason.
    at.number_input(key=f"payments_refund_amount_0_{order.id}").set_value(500.0)
    at.text_input(key="payments_reason_0").input("one subject dropped")
    at.button(key="payments_refund").click()
    at.run()
    assert not at.exception, at.exception
    refunded = stored(db, order)
    assert (refunded.status, str(refunded.refunded_amount)) == ("pending", "500.00")
    assert db.exec(select(OrderRefund.reason)).all() == ["one subject dropped"]


def test_the_owner_sees_the_overdue_instalments_on_the_workbench(env, db):
    overdue_order(db, env)
    at = open_page("rep_a1", WORKBENCH)
    heading = translate("Overdue instalments ({count})", "zh").format(count=2)
    assert any(heading in h.value for h in at.subheader)
    other = open_page("rep_b1", WORKBENCH)
    nothing = translate("Overdue instalments ({count})", "zh").format(count=0)
    assert any(nothing in h.value for h in other.subheader)
