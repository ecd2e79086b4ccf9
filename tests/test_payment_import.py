"""The payment-file import: headers guessed in English and Chinese, every bad row reported
with its row, column and reason, good rows stored or nothing, rows recorded already shown
as such, the same file imported twice recording nothing new, and the bad rows as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import event
from sqlmodel import select

from crm_core.commerce.orders import cancel_order, order_number
from crm_core.commerce.payments import record_payment
from crm_core.imports import engine
from crm_core.imports.payments import PAYMENTS
from crm_core.imports.tabular import read_table
from crm_core.models import AuditLog, SalesOrder
from crm_core.org.roles import save_role
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import NC_, translate
from tests.factories import SYSTEM
from tests.test_orders import add_user, order_for, sales_company

HEADER_ZH = [
    translate(NC_("orders.table", "Order"), "zh"),
    "支付流水号",
    "实付金额",
    "支付时间",
]
HEADER_EN = ["Order No", "Transaction ID", "Amount", "Paid at"]
NOW = datetime(2026, 12, 1, 6, 0)  # 14:00 in Beijing, when the files are imported
ORDERS_AT = NOW - timedelta(hours=12)  # 02:00 in Beijing, when the orders are made


@pytest.fixture
def company(db):
    clock.freeze(ORDERS_AT)
    return sales_company(db)


def csv_file(rows, header=HEADER_ZH) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def preview(db, company, data: bytes, username="fin", name="回款.csv", mapping=None):
    clock.freeze(NOW)
    frame = read_table(data, name)
    options = engine.ImportOptions(mapping, source=name)
    return engine.preview(db, company.actor(db, username), PAYMENTS, frame, options)


def apply_payment_import(db, actor, plan, mode):
    return engine.apply(db, actor, PAYMENTS, plan, mode)


def guess_payment_mapping(columns):
    return engine.guess_columns(PAYMENTS.fields, columns)


def statuses(db, *orders) -> list[str]:
    db.expire_all()
    return [db.get(SalesOrder, o.id).status for o in orders]


def test_headers_are_guessed_in_english_and_chinese():
    assert guess_payment_mapping(HEADER_ZH) == dict(
        zip(("order_number", "payment_ref", "amount", "paid_at"), HEADER_ZH, strict=True)
    )
    assert guess_payment_mapping(HEADER_EN) == dict(
        zip(("order_number", "payment_ref", "amount", "paid_at"), HEADER_EN, strict=True)
    )
    assert guess_payment_mapping(["商户订单号", "交易号"]) == {
        "order_number": "商户订单号",
        "payment_ref": "交易号",
        "amount": None,
        "paid_at": None,
    }


def test_every_bad_row_is_reported_with_its_row_column_and_reason(db, company):
    good, waiting, cancelled, paid, other, twice, paid_too = (
        order_for(db, company, "rep_a1", amount)
        for amount in ("9500", "8000", "9500", "9500", "9500", "9500", "9500")
    )
    cancel_order(db, company.actor(db, "rep_a1"), cancelled.id)
    record_payment(db, company.actor(db, "fin"), paid.id, "PAY-OLD")
    record_payment(db, company.actor(db, "fin"), paid_too.id, "PAY-OLD-2")
    db.commit()
    n = order_number
    rows = [
        (n(good.id), "PAY-1", "¥9,500.00", "2026-12-01 10:30"),  # row 2: good
        ("SO999999", "PAY-2", "", ""),  # 3: no such order
        (n(waiting.id), "PAY-3", "", ""),  # 4: waits for approval
        (n(cancelled.id), "PAY-4", "", ""),  # 5: cancelled
        (n(other.id), "PAY-5", "9000", ""),  # 6: amount differs
        (n(other.id).lower(), "PAY-6", "", "yesterday"),  # 7: bad date (and order repeated)
        (n(twice.id), "", "", ""),  # 8: missing ref
        (n(twice.id), "PAY-OLD-2", "", ""),  # 9: ref of another order (and order repeated)
        ("", "PAY-1", "", "2026-12-31"),  # 10: no order, ref repeated, future
        (n(paid.id), "PAY-OLD", "9500", ""),  # 11: recorded already: not an error
    ]
    report = preview(db, company, csv_file(rows))
    assert report.counts == {"pay": 1, "already": 1, "rejected": 8}
    (paying,) = report.rows_in("pay")
    assert (paying.row, paying.order_id, paying.payment_ref, paying.amount) == (
        2,
        good.id,
        "PAY-1",
        good.amount,
    )
    assert paying.paid_at == datetime(2026, 12, 1, 2, 30)  # local time, stored as UTC
    assert [r.row for r in report.rows_in("already")] == [11]
    found = sorted((i.row, i.column, i.key) for i in report.issues)
    assert found == sorted(
        [
            (
                3,
                translate(NC_("orders.table", "Order"), "zh"),
                "There is no order {order}, or it is outside your data scope.",
            ),
            (
                4,
                translate(NC_("orders.table", "Order"), "zh"),
                "The discount of order {order} is not approved: it cannot be paid yet.",
            ),
            (
                5,
                translate(NC_("orders.table", "Order"), "zh"),
                "Order {order} was cancelled: it cannot be paid.",
            ),
            (6, "实付金额", "The amount {amount} differs from order {order}'s amount {expected}."),
            (7, "支付时间", "“{value}” is not a date and time."),
            (
                7,
                translate(NC_("orders.table", "Order"), "zh"),
                "Order {order} is already paid on row {first_row} of this file.",
            ),
            (8, translate("Payment reference", "zh"), "A payment needs its payment reference."),
            (
                9,
                translate("Payment reference", "zh"),
                "Payment reference {ref} is already used by order {order}.",
            ),
            (
                9,
                translate(NC_("orders.table", "Order"), "zh"),
                "Order {order} is already paid on row {first_row} of this file.",
            ),
            (10, translate(NC_("orders.table", "Order"), "zh"), "The order number is missing."),
            (
                10,
                translate("Payment reference", "zh"),
                "Payment reference {ref} is already on row {first_row} of this file.",
            ),
            (10, "支付时间", "The payment time {paid_at} is in the future."),
        ]
    )
    by_row = {(i.row, i.key): i.params for i in report.issues}
    assert by_row[9, "Payment reference {ref} is already used by order {order}."] == {
        "ref": "PAY-OLD-2",
        "order": n(paid_too.id),
    }
    assert by_row[10, "Payment reference {ref} is already on row {first_row} of this file."] == {
        "ref": "PAY-1",
        "first_row": 2,
    }
    assert (
        by_row[6, "The amount {amount} differs from order {order}'s amount {expected}."]["expected"]
        == "9,500.00"
    )
    assert statuses(db, good) == ["pending"]  # a preview writes nothing


def test_good_rows_are_recorded_or_nothing_and_a_second_import_records_nothing_new(db, company):
    first, second, cancelled = (order_for(db, company, "rep_a1", "9500") for _ in range(3))
    cancel_order(db, company.actor(db, "rep_a1"), cancelled.id)
    db.commit()
    data = csv_file(
        [
            (order_number(first.id), "PAY-1", "9500", "2026-12-01 09:00"),
            (order_number(second.id), "PAY-2", "9500", ""),
            (order_number(cancelled.id), "PAY-3", "9500", ""),
        ]
    )
    finance = company.actor(db, "fin")
    refused = apply_payment_import(db, finance, preview(db, company, data), "all_or_nothing")
    # refused: the counts say what the file held; nothing is recorded
    assert refused.refused and (refused.counts["pay"], refused.counts["rejected"]) == (2, 1)
    assert statuses(db, first, second) == ["pending", "pending"]

    done = apply_payment_import(db, finance, preview(db, company, data), "good_rows")
    assert done.stored and done.counts == {"recorded": 2, "already": 0, "rejected": 1, "failed": 0}
    entry = db.get(AuditLog, done.audit_id)
    assert (entry.action, entry.after["source"], entry.after["counts"]) == (
        "payment.import",
        "回款.csv",
        {"recorded": 2, "already": 0, "rejected": 1, "failed": 0},
    )
    assert statuses(db, first, second, cancelled) == ["paid", "paid", "cancelled"]
    stored = db.get(SalesOrder, first.id)
    assert (stored.payment_ref, stored.paid_at) == ("PAY-1", datetime(2026, 12, 1, 1, 0))
    assert stored.attributed_owner_id == company.users["rep_a1"].id
    assert db.get(SalesOrder, second.id).paid_at == NOW  # no time in the file: the import's

    again = preview(db, company, data)
    assert again.counts == {"pay": 0, "already": 2, "rejected": 1}
    repeat = apply_payment_import(db, finance, again, "good_rows")
    assert (repeat.counts["recorded"], repeat.counts["already"]) == (0, 2)
    assert db.get(SalesOrder, first.id).paid_at == datetime(2026, 12, 1, 1, 0)


def test_all_or_nothing_records_a_clean_file_in_full(db, company):
    orders = [order_for(db, company, "rep_a1", "9500") for _ in range(3)]
    data = csv_file([(order_number(o.id), f"PAY-{o.id}", "", "") for o in orders], HEADER_EN)
    result = apply_payment_import(
        db, company.actor(db, "fin"), preview(db, company, data, name="pay.csv"), "all_or_nothing"
    )
    assert (result.stored, result.counts["recorded"]) == (True, 3)
    assert statuses(db, *orders) == ["paid"] * 3


def test_a_row_that_changed_since_the_preview_is_left_out_or_stops_everything(db, company):
    first, second = (order_for(db, company, "rep_a1", "9500") for _ in range(2))
    data = csv_file(
        [(order_number(first.id), "PAY-1", "", ""), (order_number(second.id), "PAY-2", "", "")]
    )
    finance = company.actor(db, "fin")
    checked = preview(db, company, data)
    cancel_order(db, company.actor(db, "rep_a1"), second.id)  # meanwhile
    db.commit()
    stopped = apply_payment_import(db, finance, checked, "all_or_nothing")
    assert stopped.refused and [(f.row, f.key) for f in stopped.failed] == [
        (3, "Order {order} was cancelled: it cannot be paid.")
    ]
    assert statuses(db, first) == ["pending"]
    partial = apply_payment_import(db, finance, checked, "good_rows")
    assert (partial.counts["recorded"], [f.row for f in partial.failed]) == (1, [3])
    assert statuses(db, first, second) == ["paid", "cancelled"]


def test_the_preview_reads_the_file_in_a_few_queries_whatever_its_length(db, company, engine):
    orders = [order_for(db, company, "rep_a1", "9500") for _ in range(40)]

    def statements(count: int) -> int:
        data = csv_file([(order_number(o.id), f"PAY-{o.id}", "9500", "") for o in orders[:count]])
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            report = preview(db, company, data)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert report.counts["pay"] == count
        return len(seen)

    assert statements(40) == statements(4) <= 6


def test_xlsx_files_read_too(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER_EN)
    sheet.append([order.id, "PAY-X", 9500, datetime(2026, 12, 1, 8, 0)])
    buffer = io.BytesIO()
    book.save(buffer)
    report = preview(db, company, buffer.getvalue(), name="payments.xlsx")
    assert [(r.order_id, r.payment_ref, r.paid_at) for r in report.rows_in("pay")] == [
        (order.id, "PAY-X", datetime(2026, 12, 1, 0, 0))
    ]


def test_the_bad_rows_come_back_as_csv_with_a_reason_and_no_formulas(db, company):
    data = csv_file([("=HYPERLINK(1)", "+PAY", "", ""), ("SO000001", "", "", "")])
    report = preview(db, company, data)
    out = engine.rejected_rows_csv(company.actor(db, "fin"), PAYMENTS, report, "en")
    assert out.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(out.decode("utf-8-sig"))))
    assert lines[0] == ["Row", *HEADER_ZH, "Reason"]
    assert lines[1][:3] == ["2", "'=HYPERLINK(1)", "'+PAY"]
    assert (
        lines[1][-1] == "订单号: There is no order =HYPERLINK(1), or it is outside your data scope."
    )
    assert lines[2][0] == "3"
    assert lines[2][-1].split("; ") == [
        "订单号: There is no order SO000001, or it is outside your data scope.",
        "支付流水号: A payment needs its payment reference.",
    ]


def test_who_may_import_and_whose_preview_it_is(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    data = csv_file([(order_number(order.id), "PAY-1", "", "")])
    with pytest.raises(PermissionDenied):
        preview(db, company, data, username="rep_a1")
    checked = preview(db, company, data)
    with pytest.raises(ValidationError) as other:
        apply_payment_import(db, company.actor(db, "admin"), checked, "good_rows")
    assert other.value.key == "This preview was made by another user. Upload the file again."
    with pytest.raises(ValidationError) as missing:
        preview(
            db,
            company,
            data,
            mapping={"order_number": translate(NC_("orders.table", "Order"), "zh")},
        )
    assert missing.value.key == "Choose a column for: {columns}."
    # A payer whose scope is Shanghai does not reach a Beijing order, even by its number.
    save_role(
        db,
        SYSTEM,
        code="sh_cashier",
        name="Shanghai cashier",
        data_scope="subtree",
        permissions=["view_opportunities", "record_payments"],
    )
    add_user(db, company, "sh_cashier", "shanghai", ["sh_cashier"])
    outside = preview(db, company, data, username="sh_cashier")
    assert [(i.row, i.key) for i in outside.issues] == [
        (2, "There is no order {order}, or it is outside your data scope.")
    ]
    assert db.exec(select(SalesOrder.status)).all() == ["pending"]


def test_a_date_in_the_past_before_the_order_is_refused(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    day_before = (NOW + timedelta(hours=8) - timedelta(days=1)).strftime("%Y/%m/%d %H:%M")
    report = preview(db, company, csv_file([(order_number(order.id), "PAY-1", "", day_before)]))
    assert [(i.column, i.key) for i in report.issues] == [
        ("支付时间", "The payment time is before order {order} was made.")
    ]
