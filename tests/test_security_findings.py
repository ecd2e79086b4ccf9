"""Regression tests for the findings of the outside security probe, one (or a few) per
finding, named after it. Each failed on the code before its fix."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import func, select

from crm_core import clock
from crm_core.analytics import DashboardFilter, performance
from crm_core.history_import import HistoryOptions, guess_columns, run_history_import
from crm_core.models import Opportunity, SalesOrder
from crm_core.tabular import read_table
from tests.factories import build_small_company

EVERYTHING = DashboardFilter()


def _one_win(closed: datetime, created: datetime | None = None) -> bytes:
    created = created or closed - timedelta(days=3)
    return (
        "deal id,owner,stage,created,closed,amount,customer\n"
        f"X1,Rep A1,Won,{created:%Y-%m-%d},{closed:%Y-%m-%d %H:%M},9999999,Big Deal\n"
    ).encode()


def test_finding_1_revenue_without_the_right_to_record_payments(db):
    company = build_small_company(db)
    now = clock.now()
    frame = read_table(_one_win(now - timedelta(hours=1)), "won.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)
    manager = company.actor(db, "bj_manager")
    before = performance(db, manager, EVERYTHING).total.revenue

    report = run_history_import(db, manager, frame, None, options)

    assert report.imported == 0
    assert [(i.row, i.reason) for i in report.issues] == [
        (2, "history_import.error.won_needs_payments")
    ]
    assert db.exec(select(func.count()).select_from(SalesOrder)).one() == 0
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == 0
    assert performance(db, manager, EVERYTHING).total.revenue == before


def test_finding_1_an_importer_who_may_record_payments_keeps_the_files_dates(db):
    company = build_small_company(db)
    closed = datetime(2025, 3, 31, 23, 30)
    frame = read_table(_one_win(closed), "won.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)

    report = run_history_import(db, company.actor(db, "admin"), frame, None, options)

    assert report.imported == 1
    order = db.exec(select(SalesOrder)).one()
    assert (order.status, order.amount, order.paid_at) == ("paid", Decimal("9999999"), closed)


def test_finding_1_a_win_closed_in_the_future_is_refused(db):
    company = build_small_company(db)
    now = clock.now()
    frame = read_table(_one_win(now + timedelta(days=40), now - timedelta(days=3)), "won.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)

    report = run_history_import(db, company.actor(db, "admin"), frame, None, options)

    assert [(i.row, i.column, i.reason) for i in report.issues] == [
        (2, "closed", "history_import.error.future_date")
    ]
    assert db.exec(select(func.count()).select_from(SalesOrder)).one() == 0
