"""AppTest: the payments, discount approvals and products pages, the orders section the
opportunity page embeds, the role editor's discount field, and who may open which page."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.commerce.orders import order_number
from crm_core.commerce.payments import record_payment
from crm_core.models import Product, Role, SalesOrder
from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.test_orders import order_for, sales_company

PAYMENTS = "pages/sales/payments.py"
APPROVALS = "pages/sales/approvals.py"
PRODUCTS = "pages/admin/products.py"


@pytest.fixture
def env(db, app_settings):
    return sales_company(db)


def open_page(username: str, page: str) -> AppTest:
    at = login(username)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def stored(db, order) -> SalesOrder:
    db.expire_all()
    return db.get(SalesOrder, order.id)


def test_finance_records_a_payment_and_refunds_it_through_the_page(env, db):
    order = order_for(db, env, "rep_a1", "9500")
    at = open_page("fin", PAYMENTS)
    assert at.title[0].value == translate("Payments", "zh")
    assert order_number(order.id) in list(
        at.dataframe[0].value[translate(NC_("orders.table", "Order"), "zh")]
    )
    at.text_input(key="payments_ref_0").input("PAY-777")
    at.button(key="payments_record").click()
    at.run()
    assert not at.exception, at.exception
    assert any(order_number(order.id) in s.value and "已登记" in s.value for s in at.success)
    paid = stored(db, order)
    assert (paid.status, paid.payment_ref, paid.payment_recorded_by_id) == (
        "paid",
        "PAY-777",
        env.users["fin"].id,
    )
    assert any(
        translate("No order is waiting for payment.", "zh") in i.value for i in at.info
    )  # nothing left to pay

    at.text_input(key="payments_reason_0").input("moved abroad")
    at.button(key="payments_refund").click()
    at.run()
    assert not at.exception, at.exception
    assert any(translate("Refunded", "zh") in s.value for s in at.success)
    assert (stored(db, order).status, stored(db, order).refund_reason) == (
        "refunded",
        "moved abroad",
    )


def test_a_refused_payment_shows_why_and_changes_nothing(env, db):
    first = order_for(db, env, "rep_a1", "9500")
    second = order_for(db, env, "rep_a2", "9500")
    record_payment(db, env.actor(db, "fin"), first.id, "PAY-1")
    db.commit()
    at = open_page("fin", PAYMENTS)
    at.selectbox(key="payments_record_order").set_value(second.id)
    at.text_input(key="payments_ref_0").input("PAY-1")
    at.button(key="payments_record").click()
    at.run()
    assert not at.exception, at.exception
    assert any(f"已被订单 {order_number(first.id)} 使用" in e.value for e in at.error)
    assert stored(db, second).status == "pending"


def test_finance_imports_a_payment_file_through_the_page(env, db):
    orders = [order_for(db, env, "rep_a1", "9500") for _ in range(2)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            translate(NC_("orders.table", "Order"), "zh"),
            translate("Payment reference", "zh"),
            translate("Amount", "zh"),
        ]
    )
    writer.writerow([order_number(orders[0].id), "PAY-A", "9500"])
    writer.writerow([order_number(orders[1].id), "PAY-B", "9400"])  # the amount differs
    at = open_page("fin", PAYMENTS)
    at.file_uploader[0].upload("回款.csv", out.getvalue().encode("gbk"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric} == {
        translate("To record", "zh"): "1",
        translate("Recorded already", "zh"): "0",
        translate("Bad rows", "zh"): "1",
    }
    bad = next(d.value for d in at.dataframe if translate("Reason", "zh") in d.value.columns)
    assert list(bad[translate("Row", "zh")]) == [3]
    at.radio(key="payments_mode").set_value("all_or_nothing")
    at.button(key="payments_import").click()
    at.run()
    assert not at.exception, at.exception
    assert any("未登记任何回款" in w.value for w in at.warning)
    assert stored(db, orders[0]).status == "pending"
    at.radio(key="payments_mode").set_value("good_rows")
    at.button(key="payments_import").click()
    at.run()
    assert not at.exception, at.exception
    assert any("登记 1 笔回款" in s.value for s in at.success)
    assert [stored(db, o).status for o in orders] == ["paid", "pending"]


def test_a_manager_approves_a_discount_through_the_page(env, db):
    order = order_for(db, env, "rep_a1", "7500")
    at = open_page("bj_manager", APPROVALS)
    assert at.title[0].value == translate("Discount approval", "zh")
    table = at.dataframe[0].value
    assert list(table[translate(NC_("orders.table", "Order"), "zh")]) == [order_number(order.id)]
    assert list(table[translate("Discount", "zh")]) == ["25.00%"]
    at.text_input(key="approvals_note_0").input("ok this once")
    at.button(key="approvals_approve").click()
    at.run()
    assert not at.exception, at.exception
    assert any(translate("Approved", "zh") in s.value for s in at.success)
    assert (stored(db, order).approval, stored(db, order).approval_note) == (
        "approved",
        "ok this once",
    )
    assert any(translate("No discount waits for your approval.", "zh") in i.value for i in at.info)


def test_a_too_large_discount_is_refused_on_the_page_and_can_be_rejected(env, db):
    order = order_for(db, env, "rep_a1", "6000")  # 40%: above the manager's 30
    at = open_page("bj_manager", APPROVALS)
    at.button(key="approvals_approve").click()
    at.run()
    assert any("超过您可审批的 30%" in e.value for e in at.error)
    assert stored(db, order).approval == "requested"
    at.button(key="approvals_reject").click()
    at.run()
    assert not at.exception, at.exception
    assert (stored(db, order).status, stored(db, order).approval) == ("cancelled", "rejected")


def test_the_admin_adds_and_deactivates_a_product_through_the_page(env, db):
    at = open_page("admin", PRODUCTS)
    assert list(at.dataframe[0].value[translate("Code", "zh")]) == ["KY-FULL"]
    at.text_input(key="products_new_code_0").input("KY-MATH")
    at.text_input(key="products_new_name_0").input("Maths booster")
    at.number_input(key="products_new_price_0").set_value(3980.0)
    at.number_input(key="products_new_days_0").set_value(120)
    button(at, translate("Add product", "zh")).click()
    at.run()
    assert not at.exception, at.exception
    assert any("KY-MATH" in s.value for s in at.success)
    product = db.exec(select(Product).where(Product.code == "KY-MATH")).one()
    assert (str(product.list_price), product.course_days, product.active) == ("3980.00", 120, True)
    at.selectbox(key="products_edit_choice").set_value(product.id).run()
    at.button(key=f"products_toggle_{product.id}").click()
    at.run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.get(Product, product.id).active is False
    assert list(at.dataframe[0].value[translate("Code", "zh")]) == ["KY-FULL"]


def test_a_refused_product_shows_the_reason(env, db):
    at = open_page("admin", PRODUCTS)
    at.text_input(key="products_new_code_0").input("ky-full")
    at.text_input(key="products_new_name_0").input("Clash")
    at.number_input(key="products_new_price_0").set_value(100.0)
    button(at, translate("Add product", "zh")).click()
    at.run()
    assert any("已有其他商品使用编码" in e.value for e in at.error)


@pytest.mark.parametrize(
    ("username", "refused"),
    [
        ("rep_a1", (PAYMENTS, APPROVALS, PRODUCTS)),
        ("fin", (APPROVALS, PRODUCTS)),
        ("bj_manager", (PAYMENTS, PRODUCTS)),
    ],
)
def test_who_may_open_the_order_pages(env, username, refused):
    at = signed_in(username)
    for page in refused:
        assert_page_refused(at, page)


def _orders_section():
    import streamlit as st

    from crm_core.org.access import load_actor
    from ui.db import session
    from ui.orders import show_orders

    with session() as s:
        me = load_actor(s, st.session_state["test_user_id"])
    show_orders(me, st.session_state["test_opportunity"], st.session_state["test_line"], True)


def test_the_orders_section_makes_an_order_says_when_approval_is_needed_and_cancels(env, db):
    from tests.factories import add_owned_opportunity

    opp = add_owned_opportunity(db, env, "rep_a1", 1)
    at = AppTest.from_function(_orders_section, default_timeout=30)
    at.session_state["test_user_id"] = env.users["rep_a1"].id
    at.session_state["test_opportunity"] = opp.id
    at.session_state["test_line"] = env.line.id
    at.run()
    assert not at.exception, at.exception
    assert any("10%" in c.value and "¥9,000.00" in c.value for c in at.caption)
    amount = at.number_input(key=f"orders_amount_{opp.id}_{env.product.id}")
    assert amount.value == 10000.0  # the list price
    amount.set_value(8500.0).run()
    assert any("需经理审批" in w.value for w in at.warning)
    at.text_input(key=f"orders_note_{opp.id}_0").input("two-year plan")
    at.button(key=f"orders_create_{opp.id}").click()
    at.run()
    assert not at.exception, at.exception
    order = db.exec(select(SalesOrder).where(SalesOrder.opportunity_id == opp.id)).one()
    assert (str(order.amount), order.approval, order.note) == (
        "8500.00",
        "requested",
        "two-year plan",
    )
    assert list(at.dataframe[0].value[translate("Discount approval", "zh")]) == [
        translate("Awaiting approval", "zh")
    ]
    at.button(key=f"orders_cancel_{opp.id}").click()
    at.run()
    assert not at.exception, at.exception
    assert stored(db, order).status == "cancelled"
    assert list(at.dataframe[0].value[translate("State", "zh")]) == [translate("Cancelled", "zh")]


def test_another_rep_sees_no_orders_section_of_someone_elses_opportunity(env, db):
    order = order_for(db, env, "rep_a1", "9500")
    at = AppTest.from_function(_orders_section, default_timeout=30)
    at.session_state["test_user_id"] = env.users["rep_a2"].id
    at.session_state["test_opportunity"] = order.opportunity_id
    at.session_state["test_line"] = env.line.id
    at.run()
    assert not at.exception, at.exception
    assert any(
        translate("Not found, or outside your data scope.", "zh") in e.value for e in at.error
    )
    assert not at.dataframe and not at.button


def test_the_role_editor_saves_a_discount_limit(env, db):
    at = open_page("admin", "pages/admin/roles.py")
    team_lead = db.exec(select(Role).where(Role.code == "team_lead")).one()
    at.selectbox(key="roles_edit_choice").set_value(team_lead.id).run()
    at.number_input(key=f"roles_discount_{team_lead.id}").set_value(20)
    at.button(key=f"roles_save_{team_lead.id}").click()
    at.run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.get(Role, team_lead.id).max_discount_pct == 20
