"""HR roster sync: reading files, the preview's categories and bad rows, all-or-nothing
apply, departures, scope for a sales manager, and the page."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import event, func
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.imports import engine
from crm_core.imports.roster import ROSTER, parse_date, parse_status
from crm_core.imports.tabular import guess_mapping, read_table
from crm_core.models import (
    AuditLog,
    DepartureRule,
    FlowEvent,
    Opportunity,
    Role,
    User,
    UserRole,
)
from crm_core.org import users as user_service
from crm_core.org.auth import authenticate
from crm_core.org.units import create_unit, set_unit_active, set_unit_head
from crm_core.org.users import role_names
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.factories import (
    PASSWORD,
    SYSTEM,
    add_owned_opportunity,
    build_small_company,
)

HEADER_EN = ["Employee No", "Name", "Unit", "Title", "Status", "Date"]
HEADER_ZH = [
    "工号",
    "姓名",
    "部门",
    "职位",
    "状态",
    "生效日期",
]


def csv_bytes(rows, header=HEADER_EN, encoding="utf-8", delimiter=",") -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, header=HEADER_EN) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Everyone of the small company, as HR would list them today (no change).
CURRENT = {
    "E0001": ("Admin", "HQ", "", "active"),
    "E0002": ("Boss", "HQ", "", "active"),
    "E0003": ("Bj Manager", "Beijing", "", "active"),
    "E0004": ("Lead A", "Beijing/Team A", "", "active"),
    "E0005": ("Rep A1", "Beijing/Team A", "", "active"),
    "E0006": ("Rep A2", "Beijing/Team A", "", "active"),
    "E0007": ("Rep B1", "Beijing/Team B", "", "active"),
    "E0008": ("Rep C1", "Shanghai/Team C", "", "active"),
}


def rows_with(**changes) -> list[tuple[str, ...]]:
    """The current roster with some rows replaced: E0005=("Rep A1", unit, title, status, date)."""
    rows = []
    for number, (name, unit, title, status) in CURRENT.items():
        row = changes.pop(number, (name, unit, title, status, ""))
        rows.append((number, *row))
    for number, row in changes.items():
        rows.append((number, *row))
    return rows


@pytest.fixture
def company(db):
    return build_small_company(db)


def preview_roster(db, actor, frame, mapping=None):
    return engine.preview(db, actor, ROSTER, frame, engine.ImportOptions(mapping))


def apply_roster(db, actor, plan):
    return engine.apply(db, actor, ROSTER, plan, "all_or_nothing").result


def guess_columns(columns):
    return engine.guess_columns(ROSTER.fields, columns)


def preview(db, actor, data: bytes, filename: str = "roster.csv"):
    return preview_roster(db, actor, read_table(data, filename))


def reasons(result) -> set[tuple[int, str, str]]:
    return {(i.row, i.field, i.key) for i in result.issues}


# --- reading files ---------------------------------------------------------------------------


def test_utf8_csv_reads_with_rows_numbered_as_in_the_file():
    data = b"Employee No,Name\r\nE1,Ann\r\n\r\n  E2 , Bob \r\n"
    frame = read_table(data, "r.csv")
    assert list(frame.columns) == ["Employee No", "Name"]
    assert list(frame.index) == [2, 4]  # the blank line 3 keeps its number
    assert frame.loc[4, "Name"] == "Bob"
    assert frame.loc[4, "Employee No"] == "E2"


def test_utf8_with_bom_reads():
    data = "\ufeff工号,姓名\n001,张三\n".encode()
    frame = read_table(data, "r.csv")
    assert list(frame.columns) == [translate("Employee number", "zh"), translate("Name", "zh")]
    assert frame.loc[2, translate("Employee number", "zh")] == "001"  # strings, leading zeros kept


def test_gbk_reads():
    data = csv_bytes(
        [
            (
                "E0100",
                "王小明",
                "北京/一组",
                "课程顾问",
                "在职",
                "2026/3/1",
            )
        ],
        HEADER_ZH,
        "gbk",
    )
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    frame = read_table(data, "花名册.csv")
    assert list(frame.columns) == HEADER_ZH
    assert frame.loc[2, translate("Name", "zh")] == "王小明"
    assert frame.loc[2, "部门"] == "北京/一组"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters_are_sniffed(delimiter):
    frame = read_table(
        csv_bytes([("E1", "Ann", "HQ", "", "active", "")], delimiter=delimiter), "r.csv"
    )
    assert list(frame.columns) == HEADER_EN
    assert frame.loc[2, "Status"] == "active"


def test_xlsx_reads_numbers_and_date_cells():
    data = xlsx_bytes([(1001, "Ann", "HQ", "Sales rep", "active", datetime(2026, 3, 2))])
    frame = read_table(data, "roster.xlsx")
    assert frame.loc[2, "Employee No"] == "1001"
    assert frame.loc[2, "Date"] == "2026-03-02"
    assert parse_date(frame.loc[2, "Date"]) == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("data", "filename", "key"),
    [
        (b"", "r.csv", "The file {filename} has no data rows."),
        (b"Employee No,Name\r\n", "r.csv", "The file {filename} has no data rows."),
        (b"Employee No,Name\r\n,\r\n", "r.csv", "The file {filename} has no data rows."),
        (
            b"PK\x03\x04 not really a workbook",
            "r.xlsx",
            "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file.",
        ),
        (
            b"\xd0\xcf\x11\xe0 old excel",
            "r.xls",
            "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file.",
        ),
        (
            b"\x00\x01\x02\xff\xfe\xfd" * 20,
            "r.csv",
            "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file.",
        ),
    ],
)
def test_unreadable_and_empty_files_are_refused(data, filename, key):
    with pytest.raises(ValidationError) as error:
        read_table(data, filename)
    assert error.value.key == key


def test_column_mapping_is_guessed_from_english_or_chinese_headers():
    synonyms = {
        "employee_no": ["employee no", translate("Employee number", "zh")],
        "name": ["name", translate("Name", "zh")],
    }
    assert guess_mapping([" EMPLOYEE_NO ", "Name"], synonyms) == {
        "employee_no": " EMPLOYEE_NO ",
        "name": "Name",
    }
    assert guess_columns(HEADER_ZH) == dict(
        zip(["employee_no", "name", "unit", "title", "status", "date"], HEADER_ZH, strict=True)
    )
    assert guess_columns(
        ["Employee Number", translate("Belongs to unit", "zh"), "Position", "x"]
    ) == {
        "employee_no": "Employee Number",
        "name": None,
        "unit": translate("Belongs to unit", "zh"),
        "title": "Position",
        "status": None,
        "date": None,
    }


def test_dates_and_statuses():
    assert parse_date("2026-03-01") == date(2026, 3, 1)
    assert parse_date("2026/3/1") == date(2026, 3, 1)
    assert parse_date("2026.03.01") == date(2026, 3, 1)
    assert parse_date("2026-03-01 00:00:00") == date(2026, 3, 1)
    assert parse_date("2026年3月1日") == date(2026, 3, 1)
    for bad in ("01/03/2026", "2026-02-30", "2026-03/01", "yesterday", "45352"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert parse_status(translate("Departure", "zh")) == "resigned"
    assert parse_status("On Leave") == "on_leave"
    assert parse_status("请假") == "on_leave"
    assert parse_status("Left") == "resigned"
    assert parse_status(translate("Active", "zh")) == "active"
    assert parse_status("gone fishing") is None


# --- preview -----------------------------------------------------------------------------------


def test_unchanged_roster_changes_nothing(db, company):
    result = preview(db, company.actor(db, "admin"), csv_bytes(rows_with()))
    assert result.ok
    assert result.counts["unchanged"] == 8
    assert sum(result.counts.values()) == 8


def test_preview_categories(db, company):
    rep_c1 = company.users["rep_c1"]
    rep_c1.status = "on_leave"
    boss = company.users["boss"]
    boss.status = "resigned"
    db.add_all([rep_c1, boss])
    db.commit()
    rows = rows_with(
        E0002=("Boss", "HQ", "", "active", "2026-04-01"),  # rejoined
        E0004=("Lead A Li", "Beijing/Team A", "", "active", ""),  # name: changed
        E0005=("Rep A1", "HQ/Beijing/Team B", "", "active", ""),  # moved
        E0006=("Rep A2", "Beijing/Team A", "", "resigned", "2026-03-31"),  # left
        E0007=("Rep B1", "Beijing/Team B", "", "on leave", ""),  # on_leave
        E0008=("Rep C1", "Shanghai/Team C", "", "active", ""),  # back_from_leave
        E0100=(
            "New Hire",
            "Beijing > Team A",
            translate("Sales rep", "zh"),
            translate("Active", "zh"),
            "2026/03/02",
        ),  # new
        E0101=("Long Gone", "Beijing/Team A", "", translate("Departure", "zh"), ""),  # skipped
    )
    result = preview(db, company.actor(db, "admin"), csv_bytes(rows))
    assert result.ok, result.issues
    by_number = {row.employee_no: row for row in result.rows}
    assert {n: r.category for n, r in by_number.items()} == {
        "E0001": "unchanged",
        "E0002": "rejoined",
        "E0003": "unchanged",
        "E0004": "changed",
        "E0005": "moved",
        "E0006": "left",
        "E0007": "on_leave",
        "E0008": "back_from_leave",
        "E0100": "new",
        "E0101": "skipped",
    }
    assert by_number["E0005"].unit_label == "HQ / Beijing / Team B"
    assert by_number["E0005"].before.unit_label == "HQ / Beijing / Team A"
    assert by_number["E0100"].role_code == "rep"
    assert by_number["E0100"].effective_date == date(2026, 3, 2)
    assert by_number["E0100"].row == 10  # header 1, eight people 2-9
    assert by_number["E0004"].changes == ("name",)


def test_a_row_with_several_changes_gets_one_category_and_lists_them_all(db, company):
    rows = rows_with(E0006=("Rep A2", "Beijing/Team B", "Team lead", "resigned", ""))
    result = preview(db, company.actor(db, "admin"), csv_bytes(rows))
    (row,) = [r for r in result.rows if r.employee_no == "E0006"]
    assert row.category == "left"
    assert set(row.changes) == {"title", "unit", "status", "roles"}
    assert row.roles_after == ("team_lead",)


def test_empty_title_keeps_roles_and_a_title_maps_to_a_role(db, company):
    rows = rows_with(
        E0005=("Rep A1", "Beijing/Team A", "Sales rep", "active", ""),  # same role, new title
        E0006=("Rep A2", "Beijing/Team A", translate("Team lead", "zh"), "active", ""),  # promoted
        E0007=("Rep B1", "Beijing/Team B", "team_lead", "active", ""),  # by role code
    )
    result = preview(db, company.actor(db, "admin"), csv_bytes(rows))
    by_number = {row.employee_no: row for row in result.rows}
    assert by_number["E0005"].changes == ("title",)
    assert by_number["E0005"].roles_after is None
    assert by_number["E0006"].roles_after == ("team_lead",)
    assert by_number["E0007"].roles_after == ("team_lead",)
    assert by_number["E0008"].roles_after is None


def test_each_bad_row_reason_with_row_and_column(db, company):
    rows = [
        ("E0100", "Ann", "Beijing/Team Z", "", "active", ""),  # row 2: unknown unit
        ("E0101", "Bob", "Beijing/Team A", "Astronaut", "active", ""),  # row 3: unknown role
        ("E0102", "Cat", "Beijing/Team A", "", "active", "2026-13-01"),  # row 4: bad date
        ("E0103", "Dan", "Beijing/Team A", "", "active", ""),  # row 5: duplicate
        ("e0103", "Dan", "Beijing/Team A", "", "active", ""),  # row 6: duplicate (case)
        ("E0104", "", "Beijing/Team A", "", "active", ""),  # row 7: missing name
        ("", "Eve", "Beijing/Team A", "", "active", ""),  # row 8: missing employee number
        ("E0105", "Fay", "", "", "", ""),  # row 9: missing unit and status
        ("E0106", "Gus", "Beijing/Team A", "", "retired", ""),  # row 10: unknown status
        ("E0107", "Hal", "Beijing/Team A", "", "active", "05/01/2026"),  # row 11: bad date
        ("E0108", "Ivy", "Beijing/Team A", "", "active", ""),  # row 12: good
    ]
    result = preview(db, company.actor(db, "admin"), csv_bytes(rows))
    assert reasons(result) == {
        (2, "unit", "Unknown unit “{unit}”."),
        (3, "title", "No role matches the title “{title}”."),
        (4, "date", "Bad date “{value}”: use YYYY-MM-DD."),
        (
            5,
            "employee_no",
            "The employee number {employee_no} appears more than once (rows {rows}).",
        ),
        (
            6,
            "employee_no",
            "The employee number {employee_no} appears more than once (rows {rows}).",
        ),
        (7, "name", "A value is required."),
        (8, "employee_no", "A value is required."),
        (9, "unit", "A value is required."),
        (9, "status", "A value is required."),
        (10, "status", "Unknown status “{value}”: use active, on leave or resigned."),
        (11, "date", "Bad date “{value}”: use YYYY-MM-DD."),
    }
    duplicate = next(i for i in result.issues if i.row == 5)
    assert duplicate.params == {"employee_no": "E0103", "rows": "5, 6"}
    assert duplicate.column == "Employee No"
    assert next(i for i in result.issues if i.row == 2).params == {"unit": "Beijing/Team Z"}
    assert [r.employee_no for r in result.rows] == ["E0108"]
    assert [r.row for r in result.rejected] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert not result.ok


def test_a_disabled_unit_and_a_taken_username_are_bad_rows(db, company):
    empty = create_unit(db, SYSTEM, "Old team", company.units["beijing"].id)
    set_unit_active(db, SYSTEM, empty.id, False)
    db.commit()
    rows = [
        ("E0100", "Ann", "Beijing/Old team", "", "active", ""),
        ("REP_A1", "Bob", "Beijing/Team A", "", "active", ""),  # username rep_a1 exists
    ]
    result = preview(db, company.actor(db, "admin"), csv_bytes(rows))
    assert reasons(result) == {
        (2, "unit", "The unit “{unit}” is disabled."),
        (3, "employee_no", "The username {username} is taken by another account."),
    }


def test_a_sales_manager_only_reaches_their_subtree_and_roles(db, company):
    manager = company.actor(db, "bj_manager")
    rows = [
        ("E0005", "Rep A1", "Beijing/Team B", "", "active", ""),  # 2: inside, fine
        ("E0008", "Rep C1", "Shanghai/Team C", "", "active", ""),  # 3: current unit outside
        ("E0006", "Rep A2", "Shanghai/Team C", "", "active", ""),  # 4: new unit outside
        ("E0100", "Ann", "Beijing/Team A", "Admin", "active", ""),  # 5: role too wide
        (
            "E0101",
            "Bob",
            "Beijing/Team A",
            translate("QA inspector", "zh"),
            "active",
            "",
        ),  # 6: scope all: too wide
        ("E0102", "Cat", "Beijing/Team A", "Team lead", "active", ""),  # 7: grantable
        ("E0103", "Dan", "HQ", "", "active", ""),  # 8: new, unit outside
        ("E0001", "Admin", "HQ", "", "active", ""),  # 9: the admin, outside
        ("E0003", "Bj Manager", "Beijing", "", "active", ""),  # 10: themselves, fine
    ]
    result = preview(db, manager, csv_bytes(rows))
    assert reasons(result) == {
        (3, "employee_no", "Outside your scope."),
        (3, "unit", "Outside your scope."),
        (4, "unit", "Outside your scope."),
        (5, "title", "You cannot grant the role {role}."),
        (6, "title", "You cannot grant the role {role}."),
        (8, "unit", "Outside your scope."),
        (9, "employee_no", "Outside your scope."),
        (9, "unit", "Outside your scope."),
    }
    assert {r.employee_no: r.category for r in result.rows} == {
        "E0005": "moved",
        "E0102": "new",
        "E0003": "unchanged",
    }


def test_a_sales_manager_cannot_change_their_own_roles_or_mark_themselves_left(db, company):
    manager = company.actor(db, "bj_manager")
    rows = [
        ("E0003", "Bj Manager", "Beijing", "Team lead", "active", ""),
    ]
    assert reasons(preview(db, manager, csv_bytes(rows))) == {
        (2, "title", "You cannot change your own roles.")
    }
    rows = [("E0003", "Bj Manager", "Beijing", "", "resigned", "")]
    assert reasons(preview(db, manager, csv_bytes(rows))) == {
        (2, "status", "You cannot mark yourself as left.")
    }


def test_a_rep_cannot_preview(db, company):
    with pytest.raises(PermissionDenied):
        preview(db, company.actor(db, "rep_a1"), csv_bytes(rows_with()))


def test_missing_required_columns_are_refused(db, company):
    data = csv_bytes([("E0005", "Rep A1")], header=["Employee No", "Name"])
    with pytest.raises(ValidationError) as error:
        preview(db, company.actor(db, "admin"), data)
    assert error.value.key == "Choose a column for: {columns}."
    assert error.value.params == {"columns": "unit, status"}


def test_a_corrected_mapping_is_used(db, company):
    data = csv_bytes(
        [("E0005", "Rep A1", "Beijing/Team B", "active")],
        header=["Staff", "Person", "Where", "State"],
    )
    frame = read_table(data, "r.csv")
    mapping = {"employee_no": "Staff", "name": "Person", "unit": "Where", "status": "State"}
    result = preview_roster(db, company.actor(db, "admin"), frame, mapping)
    assert [(r.employee_no, r.category) for r in result.rows] == [("E0005", "moved")]


def test_preview_reads_with_a_few_queries_whatever_the_size(db, company, engine):
    admin = company.actor(db, "admin")

    def count_queries(n_new: int) -> int:
        extra = {
            f"N{i:04d}": (f"New {i}", ["Beijing/Team A", "Beijing/Team B"][i % 2], "", "active", "")
            for i in range(n_new)
        }
        frame = read_table(csv_bytes(rows_with(**extra)), "r.csv")
        statements = []

        def listener(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", listener)
        try:
            result = preview_roster(db, admin, frame)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert result.counts["new"] == n_new
        return len(statements)

    small, large = count_queries(2), count_queries(200)
    assert small == large
    assert large <= 12


# --- apply -------------------------------------------------------------------------------------


def test_apply_creates_moves_and_audits(db, company):
    admin = company.actor(db, "admin")
    rows = rows_with(
        E0005=("Rep A1", "Beijing/Team B", "", "active", ""),
        E0006=("Rep A2", "Beijing/Team A", "Team lead", "active", ""),
        E0100=("New Hire", "Beijing/Team A", "", "on leave", "2026-03-02"),
    )
    plan = preview(db, admin, csv_bytes(rows), "hr-march.csv")
    result = apply_roster(db, admin, plan)
    assert result.counts == {"new": 1, "moved": 1, "changed": 1, "unchanged": 6}
    db.expire_all()
    new = db.exec(select(User).where(User.employee_no == "E0100")).one()
    assert new.username == "e0100"
    assert new.must_change_password
    assert new.status == "on_leave"
    assert new.hired_on == datetime(2026, 3, 2)
    assert role_names(db, new.id) == ["rep"]
    (account,) = result.created
    assert account.username == "e0100"
    assert account.temporary_password not in repr(account)
    assert authenticate(db, "e0100", account.temporary_password).ok
    assert db.get(User, company.users["rep_a1"].id).org_unit_id == company.units["team_b"].id
    assert role_names(db, company.users["rep_a2"].id) == ["team_lead"]
    assert db.get(User, company.users["rep_a2"].id).title == "Team lead"

    (entry,) = db.exec(select(AuditLog).where(AuditLog.action == "roster.apply")).all()
    assert entry.actor_id == company.users["admin"].id
    assert entry.target_type == "roster"
    assert entry.target_id == "hr-march.csv"
    assert entry.after["counts"] == {"new": 1, "moved": 1, "changed": 1, "unchanged": 6}
    assert entry.before["users"]["E0005"]["unit_id"] == company.units["team_a"].id
    assert entry.after["users"]["E0005"]["unit_id"] == company.units["team_b"].id
    actions = list(db.exec(select(AuditLog.action).order_by(AuditLog.id)).all())
    assert actions[-5:] == [
        "user.update",
        "user.update",
        "user.set_roles",
        "user.create",
        "roster.apply",
    ]


def test_a_preview_with_bad_rows_is_not_applied(db, company):
    admin = company.actor(db, "admin")
    rows = rows_with(
        E0005=("Rep A1", "Beijing/Team B", "", "active", ""),
        E0100=("Nobody", "Nowhere", "", "active", ""),
    )
    plan = preview(db, admin, csv_bytes(rows))
    with pytest.raises(ValidationError) as error:
        apply_roster(db, admin, plan)
    assert error.value.key == "The roster has {count} bad row; nothing was applied."
    db.expire_all()
    assert db.get(User, company.users["rep_a1"].id).org_unit_id == company.units["team_a"].id
    assert (
        db.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "roster.apply")
        ).one()
        == 0
    )


def test_apply_is_all_or_nothing(db, company, monkeypatch):
    admin = company.actor(db, "admin")
    rows = rows_with(
        E0005=("Rep A1", "Beijing/Team B", "", "active", ""),
        E0006=("Rep A2", "Beijing/Team A", "", "resigned", ""),
        E0100=("First New", "Beijing/Team A", "", "active", ""),
        E0101=("Second New", "Beijing/Team A", "", "active", ""),
    )
    add_owned_opportunity(db, company, "rep_a2", 1)
    plan = preview(db, admin, csv_bytes(rows))
    users_before = db.exec(select(func.count()).select_from(User)).one()
    audit_before = db.exec(select(func.count()).select_from(AuditLog)).one()

    real_create = user_service.create_user
    calls = []

    def failing_create(*args, **kwargs):
        calls.append(kwargs["employee_no"])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(user_service, "create_user", failing_create)
    with pytest.raises(RuntimeError):
        apply_roster(db, admin, plan)
    assert calls == ["E0100", "E0101"]

    db.expire_all()
    assert db.exec(select(func.count()).select_from(User)).one() == users_before
    assert db.exec(select(User).where(User.employee_no == "E0100")).first() is None
    assert db.get(User, company.users["rep_a1"].id).org_unit_id == company.units["team_a"].id
    rep_a2 = db.get(User, company.users["rep_a2"].id)
    assert rep_a2.status == "active"
    assert rep_a2.left_on is None
    assert db.exec(select(Opportunity.owner_id)).all() == [rep_a2.id]
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0
    assert db.exec(select(func.count()).select_from(AuditLog)).one() == audit_before


def test_a_stale_preview_is_refused(db, company):
    admin = company.actor(db, "admin")
    plan = preview(
        db, admin, csv_bytes(rows_with(E0005=("Rep A1", "Beijing/Team B", "", "active", "")))
    )
    user_service.update_user(db, SYSTEM, company.users["rep_a1"].id, status="resigned")
    db.commit()
    with pytest.raises(ValidationError) as error:
        apply_roster(db, admin, plan)
    assert (
        error.value.key
        == "The account on row {row} ({employee_no}) changed after the preview; nothing was applied. Upload the file again."
    )
    assert error.value.params == {"row": 6, "employee_no": "E0005"}
    db.expire_all()
    assert db.get(User, company.users["rep_a1"].id).org_unit_id == company.units["team_a"].id


def test_a_preview_is_applied_only_by_its_author(db, company):
    plan = preview(db, company.actor(db, "admin"), csv_bytes(rows_with()))
    with pytest.raises(ValidationError) as error:
        apply_roster(db, company.actor(db, "bj_manager"), plan)
    assert error.value.key == "This preview was made by another user. Upload the file again."


def test_a_resigned_rep_loses_sign_in_and_their_opportunities_move_by_rule(db, company):
    team_a = company.units["team_a"]
    lead, rep = company.users["lead_a"], company.users["rep_a1"]
    set_unit_head(db, SYSTEM, team_a.id, lead.id)
    db.add(
        DepartureRule(name="Team A leavers", org_unit_id=team_a.id, action={"target": "team_lead"})
    )
    db.commit()
    opportunities = [add_owned_opportunity(db, company, "rep_a1", n) for n in (1, 2)]
    add_owned_opportunity(db, company, "rep_a2", 3)
    admin = company.actor(db, "admin")
    assert authenticate(db, "rep_a1", PASSWORD).ok

    plan = preview(
        db,
        admin,
        csv_bytes(
            rows_with(
                E0005=("Rep A1", "Beijing/Team A", "", translate("Departure", "zh"), "2026-03-31")
            )
        ),
    )
    assert [r.category for r in plan.rows if r.employee_no == "E0005"] == ["left"]
    result = apply_roster(db, admin, plan)

    assert result.opportunities_moved == 2
    (departure,) = result.departures
    assert (departure.employee_no, departure.target, departure.moved) == ("E0005", "team_lead", 2)
    assert departure.to_owner_id == lead.id
    db.expire_all()
    for opportunity in opportunities:
        assert db.get(Opportunity, opportunity.id).owner_id == lead.id
        (flow,) = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opportunity.id)).all()
        assert (flow.reason, flow.from_owner_id, flow.to_owner_id) == ("departure", rep.id, lead.id)
        assert flow.actor_id == company.users["admin"].id
    user = db.get(User, rep.id)
    assert user.status == "resigned"
    assert user.left_on == datetime(2026, 3, 31)
    assert user.sessions_valid_after is not None
    assert authenticate(db, "rep_a1", PASSWORD).reason == "inactive"
    entry = db.exec(select(AuditLog).where(AuditLog.action == "roster.apply")).one()
    assert entry.after["opportunities_moved"] == 2


def test_leaving_and_moving_at_once_leaves_by_the_old_units_rule(db, company):
    team_a = company.units["team_a"]
    set_unit_head(db, SYSTEM, team_a.id, company.users["lead_a"].id)
    db.add(DepartureRule(name="A", org_unit_id=team_a.id, action={"target": "team_lead"}))
    db.commit()
    opportunity = add_owned_opportunity(db, company, "rep_a1", 1)
    admin = company.actor(db, "admin")
    plan = preview(
        db, admin, csv_bytes(rows_with(E0005=("Rep A1", "Beijing/Team B", "", "resigned", "")))
    )
    result = apply_roster(db, admin, plan)
    assert result.departures[0].target == "team_lead"
    db.expire_all()
    assert db.get(Opportunity, opportunity.id).owner_id == company.users["lead_a"].id
    user = db.get(User, company.users["rep_a1"].id)
    assert (user.status, user.org_unit_id) == ("resigned", company.units["team_b"].id)


def test_on_leave_keeps_opportunities(db, company):
    opportunity = add_owned_opportunity(db, company, "rep_a1", 1)
    admin = company.actor(db, "admin")
    plan = preview(
        db,
        admin,
        csv_bytes(
            rows_with(E0005=("Rep A1", "Beijing/Team A", "", translate("On leave", "zh"), ""))
        ),
    )
    result = apply_roster(db, admin, plan)
    assert result.departures == ()
    assert result.opportunities_moved == 0
    db.expire_all()
    assert db.get(User, company.users["rep_a1"].id).status == "on_leave"
    assert db.get(Opportunity, opportunity.id).owner_id == company.users["rep_a1"].id
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0


def test_a_promotion_keeps_custom_roles(db, company):
    custom = Role(code="night_shift", name="Night shift", permissions=[], data_scope="self")
    db.add(custom)
    db.flush()
    db.add(UserRole(user_id=company.users["rep_a2"].id, role_id=custom.id))
    db.commit()
    admin = company.actor(db, "admin")
    plan = preview(
        db,
        admin,
        csv_bytes(rows_with(E0006=("Rep A2", "Beijing/Team A", "Team lead", "active", ""))),
    )
    apply_roster(db, admin, plan)
    assert role_names(db, company.users["rep_a2"].id) == ["night_shift", "team_lead"]


def test_a_sales_manager_applies_inside_their_subtree(db, company):
    manager = company.actor(db, "bj_manager")
    rows = [
        ("E0005", "Rep A1", "Beijing/Team B", "", "active", ""),
        ("E0100", "Ann", "Beijing/Team A", "Team lead", "active", "2026-03-01"),
    ]
    result = apply_roster(db, manager, preview(db, manager, csv_bytes(rows)))
    assert result.counts == {"new": 1, "moved": 1}
    db.expire_all()
    new = db.exec(select(User).where(User.employee_no == "E0100")).one()
    assert role_names(db, new.id) == ["team_lead"]


def test_gbk_xlsx_rosters_apply_the_same(db, company):
    admin = company.actor(db, "admin")
    beijing = create_unit(db, SYSTEM, "北京", company.units["hq"].id)
    create_unit(db, SYSTEM, "一组", beijing.id)
    db.commit()
    rows = [
        (
            "E0100",
            "王小明",
            "北京／一组",
            "课程顾问",
            "在职",
            "2026/3/1",
        )
    ]
    gbk = preview(db, admin, csv_bytes(rows, HEADER_ZH, "gbk"))
    xlsx = preview(db, admin, xlsx_bytes(rows, HEADER_ZH), "花名册.xlsx")
    for result in (gbk, xlsx):
        assert result.ok, result.issues
        (row,) = result.rows
        assert (row.full_name, row.unit_label, row.role_code) == (
            "王小明",
            "HQ / 北京 / 一组",
            "rep",
        )
        assert row.effective_date == date(2026, 3, 1)
    assert xlsx.source == "花名册.xlsx"


# --- the page ----------------------------------------------------------------------------------

PAGE = "pages/admin/roster.py"


@pytest.fixture
def app_company(app_env):
    return app_env


def mapping_box(at: AppTest, name: str):
    """The column selectbox of a roster field (its key ends with the upload's id)."""
    return next(s for s in at.selectbox if (s.key or "").startswith(f"roster_map_{name}_"))


def test_admin_uploads_previews_and_applies(app_company, db):
    at = login("admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("HR roster sync", "zh")
    rows = rows_with(
        E0005=("Rep A1", "Beijing/Team B", "", "active", ""),
        E0100=(
            "王小明",
            "Beijing/Team A",
            "课程顾问",
            "在职",
            "2026-03-01",
        ),
    )
    at.file_uploader[0].upload("花名册.csv", csv_bytes(rows, HEADER_ZH, "gbk"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    fields = ["employee_no", "name", "unit", "title", "status", "date"]
    guessed = [mapping_box(at, name).value for name in fields]
    assert guessed == HEADER_ZH
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[translate(NC_("roster.category", "New"), "zh")] == "1"
    assert metrics[translate(NC_("roster.category", "Moved"), "zh")] == "1"
    apply = at.button(key="roster_import")
    assert not apply.disabled
    apply.click()
    at.run()
    assert not at.exception, at.exception
    assert any(translate("The roster was applied.", "zh") in s.value for s in at.success)
    assert any("离职流转了 0 个" in i.value for i in at.info)
    accounts = at.dataframe[0].value
    assert list(accounts[translate("Username", "zh")]) == ["e0100"]
    assert accounts[translate("Temporary password", "zh")][0]
    assert at.file_uploader[0].value is None  # a fresh uploader after applying
    db.expire_all()
    assert db.exec(select(User).where(User.employee_no == "E0100")).one().full_name == "王小明"
    assert (
        db.get(User, app_company.users["rep_a1"].id).org_unit_id == app_company.units["team_b"].id
    )


def test_bad_rows_are_listed_and_apply_is_disabled(app_company, db):
    at = login("admin")
    at.switch_page(PAGE).run()
    rows = rows_with(E0100=("Ann", "Beijing/Team Z", "", "active", "2026-02-30"))
    at.file_uploader[0].upload("roster.csv", csv_bytes(rows), "text/csv")
    at.run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert list(frame[translate("Row", "zh")]) == [10, 10]
    assert set(frame[translate("Reason", "zh")]) == {
        "未知组织“Beijing/Team Z”。",
        "日期“2026-02-30”格式错误:请使用 YYYY-MM-DD。",
    }
    assert at.button(key="roster_import").disabled


def test_the_roster_page_is_refused_to_a_rep(app_company):
    assert_page_refused(signed_in("rep_a1"), PAGE)


def test_a_sales_manager_opens_the_roster_page_and_previews_inside_their_subtree(app_company):
    at = signed_in("bj_manager")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("HR roster sync", "zh")
    rows = [
        ("E0005", "Rep A1", "Beijing/Team B", "", "active", ""),  # row 2: inside, a move
        ("E0008", "Rep C1", "Shanghai/Team C", "", "active", ""),  # row 3: outside
    ]
    at.file_uploader[0].upload("roster.csv", csv_bytes(rows), "text/csv")
    at.run()
    assert not at.exception, at.exception
    # The page previews with the manager's own scope: the Shanghai row is a bad row.
    assert set(at.dataframe[0].value[translate("Row", "zh")]) == {3}
    assert at.button(key="roster_import").disabled


def test_the_guessed_mapping_can_be_corrected(app_company, db):
    at = login("admin")
    at.switch_page(PAGE).run()
    data = csv_bytes(
        [("E0005", "Rep A1", "Beijing/Team B", "active")],
        header=["Staff", "Person", "Where", "State"],
    )
    at.file_uploader[0].upload("roster.csv", data, "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert any("请为以下字段选择列" in w.value for w in at.warning)
    assert not at.metric
    for name, column in (
        ("employee_no", "Staff"),
        ("name", "Person"),
        ("unit", "Where"),
        ("status", "State"),
    ):
        mapping_box(at, name).set_value(column)
    at.run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}[
        translate(NC_("roster.category", "Moved"), "zh")
    ] == "1"
    assert not at.button(key="roster_import").disabled
