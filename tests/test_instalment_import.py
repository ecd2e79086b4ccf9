"""The payment file with instalment orders: a row smaller than what is owed settles the
earliest instalments, several rows may pay one order, and paying more than is owed -
in one row or over several - is refused with its row, column and reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.commerce.instalments import PlanPart
from crm_core.commerce.orders import create_order, order_number
from crm_core.models import OrderInstalment, SalesOrder
from crm_core.platform import clock
from tests.factories import add_owned_opportunity
from tests.test_orders import sales_company
from tests.test_payment_import import (
    HEADER_EN,
    ORDERS_AT,
    apply_payment_import,
    csv_file,
    preview,
)


@pytest.fixture
def company(db):
    clock.freeze(ORDERS_AT)
    return sales_company(db)


def planned(db, company, tail):
    opp = add_owned_opportunity(db, company, "rep_a1", tail)
    parts = [
        PlanPart("deposit", date(2026, 12, 1), "2000"),
        PlanPart("instalment", date(2027, 1, 1), "4000"),
        PlanPart("instalment", date(2027, 2, 1), "4000"),
    ]
    order = create_order(
        db, company.actor(db, "rep_a1"), opp.id, company.product.id, "10000", plan=parts
    )
    db.commit()
    return order


def test_rows_of_a_part_settle_instalments_and_overpaying_is_refused(db, company):
    order, other = planned(db, company, 11), planned(db, company, 12)
    number, other_number = order_number(order.id), order_number(other.id)
    data = csv_file(
        [
            (number, "DEP-1", "2000", ""),
            (number, "INS-1", "1500", ""),
            (other_number, "O-1", "10000.01", ""),
            (other_number, "O-2", "6000", ""),
            (other_number, "O-3", "4000.01", ""),
        ],
        HEADER_EN,
    )
    report = preview(db, company, data, name="pay.csv")
    issues = sorted((i.row, i.column, i.key) for i in report.issues)
    assert [(row, column) for row, column, _ in issues] == [(4, "Amount"), (6, "Amount")]
    assert "still owed" in issues[0][2] and "Rows of this file" in issues[1][2]
    result = apply_payment_import(db, company.actor(db, "fin"), report, "good_rows")
    assert result.counts["recorded"] == 3
    db.expire_all()
    stored = db.get(SalesOrder, order.id)
    assert (stored.status, stored.paid_amount) == ("pending", Decimal("3500.00"))
    parts = db.exec(
        select(OrderInstalment.paid_amount)
        .where(OrderInstalment.order_id == order.id)
        .order_by(OrderInstalment.sequence)
    ).all()
    assert parts == [Decimal("2000.00"), Decimal("1500.00"), Decimal("0.00")]
    assert db.get(SalesOrder, other.id).paid_amount == Decimal("6000.00")
    # The same file again: its recorded rows are "already", the refused ones stay refused.
    again = preview(db, company, data, name="pay.csv")
    assert (again.counts["already"], again.counts["pay"]) == (3, 0)
