"""Won rows with an amount: revenue only for an importer who may record payments, as a paid
order at the close date; a close before the created date is kept with a warning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.analytics.channel_roi import channel_roi
from crm_core.analytics.filters import DashboardFilter
from crm_core.imports.leads import ImportOptions, guess_columns, preview_import, run_import
from crm_core.imports.leads.rows import CLOSED_BEFORE_CREATED, NOT_AN_AMOUNT, WIN_NEEDS_PAYMENTS
from crm_core.imports.tabular import read_table
from crm_core.models import Opportunity, SalesOrder
from tests.factories import build_small_company
from tests.test_lead_import import csv_bytes

HEADER = ["Name", "Mobile", "Source", "Business line", "Created", "Outcome", "Won date"]
HEADER += ["Owner", "Amount"]


@pytest.fixture
def company(db):
    return build_small_company(db)


def _frame(rows):
    return read_table(csv_bytes(rows, HEADER), "deals.csv")


def _options(frame) -> ImportOptions:
    return ImportOptions(
        mapping=guess_columns(frame.columns),
        value_choices={"stage": {"won": "won", "lost": "lost"}},
    )


ROWS = [
    ["Ann", "13800006001", "sem", "kaoyan", "2025-03-01", "Won", "2025-03-20", "rep_a1", "1,200"],
    ["Bo", "13800006002", "sem", "kaoyan", "2025-03-02", "Won", "2025-03-21", "rep_a1", ""],
    ["Cai", "13800006003", "sem", "kaoyan", "2025-03-10", "Won", "2025-03-05", "rep_a1", "800"],
    ["Dai", "13800006004", "sem", "kaoyan", "2025-03-03", "Won", "2025-03-22", "rep_a1", "lots"],
]


def test_a_win_with_an_amount_becomes_a_paid_order(db, company):
    admin = company.actor(db, "admin")
    frame = _frame(ROWS)
    options = _options(frame)
    assert options.mapping["amount"] == "Amount"
    preview = preview_import(db, admin, frame, options)
    assert [(i.row, i.column, i.reason) for i in preview.issues] == [(5, "Amount", NOT_AN_AMOUNT)]
    # Closed before it was created: kept, with a warning apart from the bad rows.
    assert [(w.row, w.column, w.reason) for w in preview.warnings] == [
        (4, "Won date", CLOSED_BEFORE_CREATED)
    ]
    assert preview.revenue == 2
    report = run_import(db, admin, frame, options)
    assert report.counts["created"] == 3
    orders = db.exec(select(SalesOrder)).all()
    assert sorted(o.amount for o in orders) == [Decimal("800.00"), Decimal("1200.00")]
    assert all(o.status == "paid" and o.attributed_owner_id for o in orders)
    won = {o.id: o for o in db.exec(select(Opportunity)).all()}
    for order in orders:
        assert order.paid_at == won[order.opportunity_id].closed_at
    # Without an amount a win brings no revenue; with one, the channel's revenue is its sum.
    view = DashboardFilter(start=date(2025, 3, 1), end=date(2025, 3, 31), split="channel")
    roi = channel_roi(db, admin, view)
    assert roi.total.revenue == Decimal("2000.00")


def test_a_win_with_an_amount_needs_the_right_to_record_payments(db, company):
    manager = company.actor(db, "bj_manager")
    frame = _frame(ROWS[:2])
    report = preview_import(db, manager, frame, _options(frame))
    assert [(i.row, i.column, i.reason) for i in report.issues] == [
        (2, "Amount", WIN_NEEDS_PAYMENTS)
    ]
    # The win without an amount creates no revenue, so the manager may import it.
    run_import(db, manager, frame, _options(frame))
    assert db.exec(select(SalesOrder)).all() == []
    assert len(db.exec(select(Opportunity)).all()) == 1
