"""The customer domain: import preview and its reasons, the two import modes, re-imports,
linking leads by phone, masking, the rejected rows file, the list, and the page."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import event, func
from sqlmodel import select

from crm_core.custom_fields.definitions import ChoiceDraft, define_field
from crm_core.custom_fields.values import values_for
from crm_core.imports.customers import CUSTOMERS, link_leads_to_customers
from crm_core.imports.engine import ImportOptions, apply, guess_columns, rejected_rows_csv
from crm_core.imports.engine import preview as engine_preview
from crm_core.imports.tabular import read_table
from crm_core.leads.customers import list_customers
from crm_core.models import AuditLog, Customer, Lead
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import NC_, is_message, translate
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company


def shanghai(local: datetime) -> datetime:
    """The instant a file time in company time (Asia/Shanghai, +8) is stored as."""
    return local - timedelta(hours=8)


HEADER_EN = ["User ID", "Name", "Mobile", "Email", "Registration Date"]
HEADER_ZH = [
    translate("User id", "zh"),
    translate("Name", "zh"),
    translate("Phone", "zh"),
    translate("E-mail", "zh"),
    translate("Registered at", "zh"),
]
FIELDS = ["platform_user_id", "name", "phone", "email", "registered_at"]


def csv_bytes(rows, header=HEADER_EN, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER_EN) -> bytes:
    book = openpyxl.Workbook()
    for row in [header, *rows]:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def preview_customer_import(db, actor, frame, mapping=None, placeholders=None, **kwargs):
    options = ImportOptions(mapping, placeholders or DEFAULT_PLACEHOLDERS, **kwargs)
    return engine_preview(db, actor, CUSTOMERS, frame, options)


def apply_customer_import(db, actor, plan, mode):
    return apply(db, actor, CUSTOMERS, plan, mode)


def rejected_customer_rows_csv(actor, plan, language):
    return rejected_rows_csv(actor, CUSTOMERS, plan, language)


def guess_customer_mapping(columns):
    return guess_columns(CUSTOMERS.fields, columns)


def preview(db, actor, data: bytes, filename="customers.csv", **kwargs):
    return preview_customer_import(db, actor, read_table(data, filename), **kwargs)


def customers(db) -> dict[str, Customer]:
    db.expire_all()
    return {c.platform_user_id: c for c in db.exec(select(Customer)).all()}


def imports_audited(db) -> int:
    return db.exec(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "customer.import")
    ).one()


@pytest.fixture
def company(db):
    return build_small_company(db)


@pytest.fixture
def admin(db, company):
    return company.actor(db, "admin")


def add_marketing_user(db, company):
    """A marketing user "mkt": manages customers but lacks view_full_phone."""
    user = create_user(
        db,
        SYSTEM,
        username="mkt",
        full_name="Mkt",
        employee_no="E0100",
        password=PASSWORD,
        org_unit_id=company.units["hq"].id,
        role_codes=["marketing"],
    )
    db.commit()
    company.users["mkt"] = user
    return company.actor(db, "mkt")


@pytest.fixture
def marketing(db, company):
    return add_marketing_user(db, company)


GOOD = [
    ("U1", "王小明", "138 1234 5678", "wang@example.com", "2026-03-01"),
    ("U2", "Li Lei", "+86 139-0000-0002", "", "2026/3/2 09:30"),
]


# --- reading and checking files --------------------------------------------------------------


def test_mapping_is_guessed_from_english_or_chinese_headers():
    assert guess_customer_mapping(HEADER_EN) == dict(zip(FIELDS, HEADER_EN, strict=True))
    assert guess_customer_mapping(HEADER_ZH) == dict(zip(FIELDS, HEADER_ZH, strict=True))
    assert guess_customer_mapping(["UID", "昵称", "联系电话", "E-Mail", "Sign-up date"]) == dict(
        zip(FIELDS, ["UID", "昵称", "联系电话", "E-Mail", "Sign-up date"], strict=True)
    )
    assert guess_customer_mapping(["会员ID", "备注"]) == {
        "platform_user_id": "会员ID",
        "name": None,
        "phone": None,
        "email": None,
        "registered_at": None,
    }


def test_each_rejection_reason_with_row_column_and_params(db, admin):
    rows = [
        ("", "No Id", "13812340001", "", ""),  # row 2
        ("U2", "Bad Phone", "12345", "", ""),  # row 3
        ("U3", "Bad Date", "", "", "2026-02-30"),  # row 4
        ("U4", "x" * 121, "", "", ""),  # row 5
        ("U" * 81, "Long Id", "", "", ""),  # row 6
        ("U7", "First", "", "", ""),  # row 7: good
        ("U7", "Again", "", "", ""),  # row 8: repeats row 7
    ]
    result = preview(db, admin, csv_bytes(rows))
    assert {(i.row, i.field, i.column, i.key) for i in result.issues} == {
        (2, "platform_user_id", "User ID", "The platform user id is required."),
        (3, "phone", "Mobile", NC_("customers.reason", "{phone} is not a valid phone number.")),
        (
            4,
            "registered_at",
            "Registration Date",
            'The date "{value}" cannot be read: use YYYY-MM-DD (with an optional HH:MM).',
        ),
        (5, "name", "Name", "At most {maximum} characters (this one has {length})."),
        (6, "platform_user_id", "User ID", "At most {maximum} characters (this one has {length})."),
        (8, "platform_user_id", "User ID", "The user id {user_id} is already on row {first_row}."),
    }
    params = {i.row: i.params for i in result.issues}
    assert params[8] == {"user_id": "U7", "first_row": 7}
    assert params[5] == {"maximum": 120, "length": 121}
    assert params[4] == {"value": "2026-02-30"}
    assert [(r.row, r.category) for r in result.rows] == [(7, "new")]
    assert result.counts == {"new": 1, "updated": 0, "unchanged": 0, "rejected": 6}
    for issue in result.issues:
        assert is_message(issue.key)


def test_gbk_csv_and_xlsx_read_the_same(db, admin):
    gbk = csv_bytes([("10001", "王小明", "13812345678", "", "2026年3月1日")], HEADER_ZH, "gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    xlsx = xlsx_bytes([(10001, "王小明", 13812345678, None, datetime(2026, 3, 1))], HEADER_ZH)
    for data, filename in ((gbk, "客户.csv"), (xlsx, "客户.xlsx")):
        result = preview(db, admin, data, filename)
        assert result.ok, result.issues
        (row,) = result.rows
        assert (row.platform_user_id, row.category) == ("10001", "new")
        assert row.values == {
            "name": "王小明",
            "phone": "+8613812345678",
            "registered_at": shanghai(datetime(2026, 3, 1)),
        }
        assert result.source == filename


def test_placeholders_become_blank_and_never_erase(db, admin):
    apply_customer_import(db, admin, preview(db, admin, csv_bytes(GOOD[:1])), "good_rows")
    rows = [("U1", "-", "请选择", "N/A", "null"), ("U9", "unknown", "—", "", "")]
    result = preview(db, admin, csv_bytes(rows))
    assert result.ok
    assert [(r.category, r.values) for r in result.rows] == [
        ("unchanged", {}),
        ("new", {"name": "unknown"}),
    ]
    # The list is the user's: "unknown" means nothing, "-" is a (bad) phone again.
    own = preview(db, admin, csv_bytes(rows), placeholders=["Unknown", "请选择", "N/A", "null"])
    assert {(i.row, i.field) for i in own.issues} == {(3, "phone")}
    assert own.rows[0].values == {"name": "-"}
    assert preview(db, admin, csv_bytes(rows), placeholders=DEFAULT_PLACEHOLDERS).ok


# --- storing -----------------------------------------------------------------------------------


def test_good_rows_stores_the_good_rows_and_audits(db, admin):
    rows = [*GOOD, ("U3", "Bad", "12", "", "")]
    result = apply_customer_import(db, admin, preview(db, admin, csv_bytes(rows)), "good_rows")
    assert (
        result.stored,
        result.counts["new"],
        result.counts["updated"],
        result.counts["rejected"],
    ) == (True, 2, 0, 1)
    stored = customers(db)
    assert sorted(stored) == ["U1", "U2"]
    assert (stored["U1"].name, stored["U1"].phone, stored["U1"].email) == (
        "王小明",
        "+8613812345678",
        "wang@example.com",
    )
    assert stored["U2"].registered_at == shanghai(datetime(2026, 3, 2, 9, 30))
    assert stored["U2"].email is None
    entry = db.exec(select(AuditLog).where(AuditLog.action == "customer.import")).one()
    assert entry.id == result.audit_id
    assert entry.after["counts"] == {"new": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert entry.after["mode"] == "good_rows"


def test_all_or_nothing_stores_nothing_when_a_row_is_rejected(db, admin):
    bad = preview(db, admin, csv_bytes([*GOOD, ("U3", "Bad", "", "", "yesterday")]))
    result = apply_customer_import(db, admin, bad, "all_or_nothing")
    # refused: the counts say what the file held; nothing is written
    assert result.refused and (result.counts["new"], result.counts["rejected"]) == (2, 1)
    assert customers(db) == {}
    assert imports_audited(db) == 0
    clean = apply_customer_import(db, admin, preview(db, admin, csv_bytes(GOOD)), "all_or_nothing")
    assert clean.stored and clean.counts["new"] == 2
    with pytest.raises(ValidationError) as error:
        apply_customer_import(db, admin, bad, "some_rows")
    assert error.value.key == "Unknown import mode {mode}."


def test_reimport_updates_changed_fields_and_is_idempotent(db, admin):
    clock.freeze(datetime(2026, 3, 1, 8, 0))
    apply_customer_import(db, admin, preview(db, admin, csv_bytes(GOOD)), "good_rows")
    first = customers(db)
    assert first["U1"].created_at == datetime(2026, 3, 1, 8, 0)
    assert first["U1"].updated_at is None

    clock.advance(timedelta(days=1))
    changed = [("U1", "王小明", "13812345678", "new@example.com", ""), GOOD[1]]
    plan = preview(db, admin, csv_bytes(changed))
    assert [(r.category, r.changes) for r in plan.rows] == [
        ("updated", ("email",)),
        ("unchanged", ()),
    ]
    result = apply_customer_import(db, admin, plan, "good_rows")
    assert (result.counts["new"], result.counts["updated"], result.counts["unchanged"]) == (0, 1, 1)
    second = customers(db)
    assert second["U1"].email == "new@example.com"
    assert second["U1"].registered_at == shanghai(datetime(2026, 3, 1))  # blank cell: kept
    assert second["U1"].updated_at == datetime(2026, 3, 2, 8, 0)
    assert second["U1"].created_at == datetime(2026, 3, 1, 8, 0)
    assert second["U2"].updated_at is None

    clock.advance(timedelta(days=1))
    again = apply_customer_import(db, admin, preview(db, admin, csv_bytes(changed)), "good_rows")
    assert (again.counts["new"], again.counts["updated"], again.counts["unchanged"]) == (0, 0, 2)
    assert customers(db)["U1"].updated_at == datetime(2026, 3, 2, 8, 0)
    assert db.exec(select(func.count()).select_from(Customer)).one() == 2


def test_a_stale_preview_or_another_users_preview_is_refused(db, admin, marketing):
    apply_customer_import(db, admin, preview(db, admin, csv_bytes(GOOD)), "good_rows")
    plan = preview(db, admin, csv_bytes([("U1", "Renamed", "", "", ""), ("U5", "New", "", "", "")]))
    with pytest.raises(ValidationError) as error:
        apply_customer_import(db, marketing, plan, "good_rows")
    assert error.value.key == "This preview was made by another user. Upload the file again."
    other = preview(db, marketing, csv_bytes([("U1", "By Marketing", "", "", "")]))
    apply_customer_import(db, marketing, other, "good_rows")
    with pytest.raises(ValidationError) as error:
        apply_customer_import(db, admin, plan, "good_rows")
    assert (error.value.key, error.value.params) == (
        "The customer {user_id} (row {row}) changed since the preview. Upload the file again.",
        {"row": 2, "user_id": "U1"},
    )
    assert customers(db)["U1"].name == "By Marketing"
    assert "U5" not in customers(db)


def test_an_error_midway_leaves_nothing_written(db, admin, company, monkeypatch):
    add_owned_opportunity(db, company, "rep_a1", 1)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("crm_core.imports.customers.write.link_leads_to_customers", broken)
    rows = [("U1", "Ann", "13800000001", "", "")]
    with pytest.raises(RuntimeError):
        apply_customer_import(db, admin, preview(db, admin, csv_bytes(rows)), "good_rows")
    assert customers(db) == {}
    assert imports_audited(db) == 0


def test_preview_and_import_use_a_few_queries_whatever_the_size(db, admin, engine):
    rows = [(f"U{i}", f"Name {i}", f"138{i:08d}", "", "") for i in range(4500)]
    statements: list[str] = []

    def listener(*args):
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        plan = preview(db, admin, csv_bytes(rows))
        reading = len(statements)
        result = apply_customer_import(db, admin, plan, "good_rows")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert result.counts["new"] == 4500
    assert reading <= 8  # 3 chunks of stored customers + 3 of leads
    assert len(statements) - reading <= 30


# --- leads -------------------------------------------------------------------------------------


def test_leads_are_linked_by_phone(db, admin, company):
    free = add_owned_opportunity(db, company, "rep_a1", 1).lead_id  # +8613800000001
    taken = add_owned_opportunity(db, company, "rep_a1", 2).lead_id  # +8613800000002
    merged = add_owned_opportunity(db, company, "rep_a1", 3).lead_id  # +8613800000003
    other = Customer(platform_user_id="OLD", phone="+8613800000099")
    db.add(other)
    db.flush()
    db.get(Lead, taken).customer_id = other.id  # linked by hand earlier: stays
    db.get(Lead, merged).merged_into_id = free  # merged away: never linked
    db.commit()
    rows = [(f"U{n}", f"P{n}", f"1380000000{n}", "", "") for n in (1, 2, 3)]
    plan = preview(db, admin, csv_bytes(rows))
    assert plan.details["leads_to_link"] == 1
    result = apply_customer_import(db, admin, plan, "good_rows")
    assert result.details["linked_leads"] == 1
    stored = customers(db)
    assert db.get(Lead, free).customer_id == stored["U1"].id
    assert db.get(Lead, taken).customer_id == other.id
    assert db.get(Lead, merged).customer_id is None
    assert (
        apply_customer_import(db, admin, preview(db, admin, csv_bytes(rows)), "good_rows").details[
            "linked_leads"
        ]
        == 0
    )

    # A lead arriving later links on the next run, by customer, by lead or for everyone.
    late = add_owned_opportunity(db, company, "rep_a2", 4).lead_id
    apply_customer_import(
        db, admin, preview(db, admin, csv_bytes([("U4", "P4", "13800000004", "", "")])), "good_rows"
    )
    assert db.get(Lead, late).customer_id == customers(db)["U4"].id
    db.get(Lead, late).customer_id = None
    db.commit()
    assert link_leads_to_customers(db, admin, [stored["U1"].id]) == 0
    assert link_leads_to_customers(db, admin, lead_ids=[late]) == 1
    db.get(Lead, late).customer_id = None
    db.commit()
    assert link_leads_to_customers(db, admin) == 1
    db.commit()
    assert db.get(Lead, late).customer_id == customers(db)["U4"].id


# --- access, masking, the rejected rows file ------------------------------------------------------


def test_a_rep_is_refused_everything(db, company, admin):
    rep = company.actor(db, "rep_a1")
    frame = read_table(csv_bytes(GOOD), "c.csv")
    plan = preview_customer_import(db, admin, frame)
    for call in (
        lambda: preview_customer_import(db, rep, frame),
        lambda: apply_customer_import(db, rep, plan, "good_rows"),
        lambda: rejected_customer_rows_csv(rep, plan, "en"),
        lambda: list_customers(db, rep, None, 1, 50),
        lambda: link_leads_to_customers(db, rep),
    ):
        with pytest.raises(PermissionDenied):
            call()


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_phones_are_masked_in_the_list_and_the_rejected_rows(db, admin, marketing):
    rows = [
        ("U1", "Good", "13812345678", "", ""),
        ("U2", "Bad Date", "13912345678", "", "someday"),
        ("U3", "Bad Phone", "1391234567", "", ""),
    ]
    plan = preview(db, marketing, csv_bytes(rows))
    apply_customer_import(db, marketing, plan, "good_rows")
    assert [r.phone for r in list_customers(db, marketing, None, 1, 50).rows] == ["1****5678"]
    assert [r.phone for r in list_customers(db, admin, None, 1, 50).rows] == ["+8613812345678"]
    assert plan.issues[1].params == {"phone": "****4567"}

    table = read_csv(rejected_customer_rows_csv(marketing, plan, "en"))
    assert table[0] == ["Row", *HEADER_EN, "Reason"]
    assert table[1][:4] == ["3", "U2", "Bad Date", "1****5678"]
    assert (
        table[1][-1]
        == 'Registration Date: The date "someday" cannot be read: use YYYY-MM-DD (with an optional HH:MM).'
    )
    assert table[2][3] == "****4567"
    assert "1391234567" not in str(table) and "13912345678" not in str(table)

    full = read_csv(rejected_customer_rows_csv(admin, preview(db, admin, csv_bytes(rows)), "zh"))
    assert full[0][0] == translate("Row", "zh") and full[0][-1] == translate("Reason", "zh")
    assert full[1][3] == "'+8613912345678"  # the leading + would start a formula
    assert full[2][3] == "1391234567"


def test_formulas_are_neutralised_in_the_rejected_rows(db, admin):
    rows = [("=1+2", '=HYPERLINK("http://x","y")', "", "@SUM(A1)", "-1")]
    table = read_csv(rejected_customer_rows_csv(admin, preview(db, admin, csv_bytes(rows)), "en"))
    assert table[1][1:5] == ["'=1+2", '\'=HYPERLINK("http://x","y")', "", "'@SUM(A1)"]
    assert table[1][5] == "'-1"


# --- the list ------------------------------------------------------------------------------------


def test_list_searches_pages_and_counts_linked_leads(db, admin, company):
    clock.freeze(datetime(2026, 3, 1))
    add_owned_opportunity(db, company, "rep_a1", 1)
    rows = [
        ("U100", "Wang Xiaoming", "13800000001", "", ""),
        ("U101", "王小红", "13912345678", "", ""),
        ("X200", "Li Lei", "", "", ""),
    ]
    apply_customer_import(db, admin, preview(db, admin, csv_bytes(rows)), "good_rows")
    clock.advance(timedelta(hours=1))
    apply_customer_import(
        db, admin, preview(db, admin, csv_bytes([("U102", "Han Meimei", "", "", "")])), "good_rows"
    )

    def ids(query, page=1, size=50):
        return [r.platform_user_id for r in list_customers(db, admin, query, page, size).rows]

    assert ids(None) == ["U102", "X200", "U101", "U100"]  # newest first
    assert ids("u10") == ["U102", "U101", "U100"]
    assert ids("U101") == ["U101"]
    assert ids("wang x") == ["U100"]
    assert ids("王") == ["U101"]
    assert ids("139 1234 5678") == ["U101"]
    assert ids("+86 13800000001") == ["U100"]
    assert ids("5678") == ["U101"]
    assert ids("nobody") == [] and ids("%") == [] and ids("_10") == []

    page = list_customers(db, admin, None, 2, 3)
    assert (page.total, page.pages, page.page, len(page.rows)) == (4, 2, 2, 1)
    assert list_customers(db, admin, None, 9, 3).page == 2  # past the end: the last page
    counts = {
        r.platform_user_id: r.linked_leads for r in list_customers(db, admin, "U", 1, 50).rows
    }
    assert counts == {"U100": 1, "U101": 0, "U102": 0}


def test_lead_custom_fields_go_onto_the_customers_leads_the_importer_reaches(db, admin, company):
    define_field(
        db,
        admin,
        "lead",
        label_en="Level",
        label_zh="等级",
        kind="choice",
        choices=[ChoiceDraft("Gold", "金卡", "gold"), ChoiceDraft("Silver", "银卡", "silver")],
    )
    mine = add_owned_opportunity(db, company, "rep_a1", 1).lead_id  # +8613800000001
    theirs = add_owned_opportunity(db, company, "rep_c1", 2).lead_id  # Shanghai
    db.commit()
    header = [*HEADER_EN, "等级"]
    rows = [
        ("U1", "A", "13800000001", "", "", "金卡"),
        ("U2", "B", "13800000002", "", "", "Silver"),
        ("U3", "C", "13800000003", "", "", "Platinum"),  # no such choice: a bad row
    ]
    # A Beijing manager who may also manage customers.
    manager = replace(company.actor(db, "bj_manager"), permissions=admin.permissions)
    plan = preview(db, manager, csv_bytes(rows, header))
    assert plan.mapping["custom.level"] == "等级"
    assert [(r.row, r.issues[0].field) for r in plan.rejected] == [(4, "custom.level")]
    run = apply_customer_import(db, manager, plan, "good_rows")
    assert run.details["linked_leads"] == 2
    held = values_for(db, admin, "lead", [mine, theirs])
    assert held[mine]["level"] == "gold"
    assert "level" not in held.get(theirs, {})  # linked, but outside the importer's reach
