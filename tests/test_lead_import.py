"""Bulk lead import: reading files, the mapping, the preview's bad rows and collisions,
good rows against all or nothing, the rejected-rows file, cancelling, and the record."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import select

from crm_core.imports import leads as lead_import
from crm_core.imports.leads import (
    ImportOptions,
    guess_columns,
    list_imports,
    mapping_problems,
    preview_import,
    rejected_rows_csv,
    run_import,
)
from crm_core.imports.tabular import read_table
from crm_core.models import AuditLog, Lead, LeadTag, Opportunity
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import is_message, translate
from tests.factories import add_owned_opportunity, build_small_company

HEADER_ZH = [
    "姓名",
    "手机号",
    "渠道",
    "推广计划",
    "业务线",
    "首次咨询时间",
    "标签",
]
HEADER_EN = ["Name", "Mobile", "Source", "Campaign", "Business line", "Created", "Tags"]


@pytest.fixture
def company(db):
    return build_small_company(db)


def csv_bytes(rows, header=HEADER_ZH, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER_EN) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def options_for(frame, **overrides) -> ImportOptions:
    values = dict(mapping=guess_columns(frame.columns))
    values.update(overrides)
    return ImportOptions(**values)


def count(db, model, *where) -> int:
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


GOOD = ["王芳", "138 0000 1111", "搜索广告", "春季", "kaoyan", "2025-03-01", "高意向"]


# --- reading and mapping -------------------------------------------------------------------


@pytest.mark.parametrize("header", [HEADER_ZH, HEADER_EN])
def test_the_mapping_is_guessed_from_chinese_or_english_headers(header):
    frame = read_table(csv_bytes([GOOD], header=header), "leads.csv")
    mapping = guess_columns(frame.columns)
    assert mapping["name"] == header[0] and mapping["phone"] == header[1]
    assert mapping["channel"] == header[2] and mapping["business_line"] == header[4]
    assert mapping["created_at"] == header[5] and mapping["tags"] == header[6]
    assert mapping["external_id"] is None


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (csv_bytes([GOOD], encoding="gbk"), "gbk.csv"),
        (b"\xef\xbb\xbf" + csv_bytes([GOOD]), "bom.csv"),
        (xlsx_bytes([GOOD], header=HEADER_ZH), "leads.xlsx"),
    ],
)
def test_gbk_bom_and_excel_files_import_alike(db, company, data, name):
    admin = company.actor(db, "admin")
    frame = read_table(data, name)
    report = run_import(db, admin, frame, options_for(frame))
    assert report.counts["created"] == 1 and not report.issues
    lead = db.exec(select(Lead)).one()
    assert (lead.name, lead.phone, lead.channel, lead.campaign) == (
        "王芳",
        "+8613800001111",
        "sem",
        "春季",
    )
    assert [t.tag for t in db.exec(select(LeadTag)).all()] == ["高意向"]


def test_mapping_problems_are_named():
    empty = ImportOptions(mapping={})
    assert mapping_problems(empty) == [
        "Choose the column that holds the name.",
        "Choose the phone column, or for records without phones the external id, e-mail or WeChat column.",
        "Choose the channel column, or a channel for the whole file.",
        "Choose the business line column, or business lines for the whole file.",
    ]
    defaults = ImportOptions(
        mapping={"name": "A", "phone": "A"},
        default_channel="sem",
        default_line_codes=("kaoyan",),
    )
    assert mapping_problems(defaults) == ["One column is chosen for two fields."]
    for key in lead_import.mapping_problems(empty) + ["One column is chosen for two fields."]:
        assert is_message(key)


def test_a_preview_with_a_broken_mapping_is_refused(db, company):
    frame = read_table(csv_bytes([GOOD]), "leads.csv")
    with pytest.raises(ValidationError) as error:
        preview_import(db, company.actor(db, "admin"), frame, ImportOptions(mapping={}))
    assert error.value.key == "Choose the column that holds the name."


# --- bad rows ------------------------------------------------------------------------------


def test_every_bad_row_is_reported_with_row_column_and_reason(db, company):
    rows = [
        GOOD,
        ["", "13800002222", "sem", "", "kaoyan", "", ""],  # row 3: no name
        ["李雷", "12345", "sem", "", "kaoyan", "", ""],  # row 4: bad phone
        ["韩梅梅", "13800003333", "电视", "", "kaoyan", "", ""],  # row 5: unknown channel
        ["张三", "13800004444", "sem", "", "kaoyan", "昨天", ""],  # row 6: bad date
        ["李四", "13800005555", "sem", "", "mba", "", ""],  # row 7: unknown line
        ["王五", "13800006666", "sem", "", "kaoyan", "2999-01-01", ""],  # row 8: future
    ]
    frame = read_table(csv_bytes(rows), "leads.csv")
    report = preview_import(db, company.actor(db, "admin"), frame, options_for(frame))
    assert [(i.row, i.column, i.reason) for i in report.issues] == [
        (3, translate("Name", "zh"), "A name is required."),
        (4, translate("Phone", "zh"), "{phone} is not a valid phone number."),
        (5, translate("Channel", "zh"), "Unknown or disabled channel {channel}."),
        (6, "首次咨询时间", "{value} is not a date (use 2024-03-01 or 2024/3/1 14:30)."),
        (7, translate("Business line", "zh"), "Unknown or disabled business line {code}."),
        (8, "首次咨询时间", "The date lies in the future."),
    ]
    assert report.counts["created"] == 1 and report.counts["rejected"] == 6
    assert report.preview and count(db, Lead) == 0


def test_placeholders_read_as_blank(db, company):
    rows = [["王芳", "13800001111", "Select", "N/A", "kaoyan", "-", "请选择"]]
    frame = read_table(csv_bytes(rows), "leads.csv")
    report = run_import(
        db, company.actor(db, "admin"), frame, options_for(frame, default_channel="form")
    )
    assert report.counts["created"] == 1
    lead = db.exec(select(Lead)).one()
    assert (lead.channel, lead.campaign) == ("form", None)
    assert count(db, LeadTag) == 0


def test_a_custom_placeholder_list_replaces_the_default(db, company):
    from crm_core.platform.cells import placeholder_set

    rows = [["王芳", "13800001111", "sem", "N/A", "kaoyan", "", ""]]
    frame = read_table(csv_bytes(rows), "leads.csv")
    options = options_for(frame, placeholders=placeholder_set(["?"]))
    run_import(db, company.actor(db, "admin"), frame, options)
    assert db.exec(select(Lead.campaign)).one() == "N/A"


def test_a_record_without_phone_needs_its_external_id(db, company):
    header = ["Name", "External ID", "Phone"]
    rows = [["A", "OLD-1", ""], ["B", "", ""], ["C", "OLD-1", ""]]
    frame = read_table(csv_bytes(rows, header=header), "old.csv")
    options = options_for(frame, default_channel="import", default_line_codes=("kaoyan",))
    report = run_import(db, company.actor(db, "admin"), frame, options)
    assert [(i.row, i.reason) for i in report.issues] == [
        (3, "Give a phone number, or an external id, e-mail or WeChat id for a lead without one.")
    ]
    assert report.duplicates == [(4, 2)]
    lead = db.exec(select(Lead)).one()
    assert (lead.external_id, lead.no_phone) == ("OLD-1", True)


# --- collisions ----------------------------------------------------------------------------


def test_collisions_in_the_file_and_with_the_database_name_the_owner(db, company):
    add_owned_opportunity(db, company, "rep_a1", 7)  # +8613800000007
    rows = [
        GOOD,
        ["王芳", "+86 138-0000-1111", "sem", "", "kaoyan", "", ""],  # row 3 repeats row 2
        ["赵六", "13800000007", "sem", "", "kaoyan", "", ""],  # row 4: rep_a1's person
    ]
    frame = read_table(csv_bytes(rows), "leads.csv")
    marketing = company.actor(db, "admin")
    report = preview_import(db, marketing, frame, options_for(frame))
    assert report.duplicates == [(3, 2)]
    [collision] = report.collisions
    assert (collision.row, collision.owner_name, collision.pool_state, collision.phone) == (
        4,
        "Rep A1",
        "owned",
        "+8613800000007",
    )
    done = run_import(db, marketing, frame, options_for(frame))
    assert [c.row for c in done.collisions] == [4]
    assert count(db, Lead) == 2 and count(db, Opportunity) == 2


def test_reports_mask_phones_for_readers_without_full_phone(db, company):
    add_owned_opportunity(db, company, "rep_a1", 7)
    rows = [
        ["赵六", "13800000007", "sem", "", "kaoyan", "", ""],
        ["坏号", "1380000", "sem", "", "kaoyan", "", ""],
    ]
    frame = read_table(csv_bytes(rows), "leads.csv")
    manager = company.actor(db, "bj_manager")  # imports, cannot see full numbers
    report = preview_import(db, manager, frame, options_for(frame))
    assert report.collisions[0].phone == "1****0007"
    # 7 digits that are no number: at most half of them show (security finding 9).
    assert report.issues[0].params["phone"] == "****000"
    data = rejected_rows_csv(manager, frame, report, options_for(frame), "en").decode("utf-8-sig")
    assert "1380000," not in data and "****000," in data


# --- good rows, all or nothing, cancelling -------------------------------------------------


def test_good_rows_are_stored_and_all_or_nothing_stores_nothing(db, company):
    rows = [GOOD, ["", "13800002222", "sem", "", "kaoyan", "", ""]]
    frame = read_table(csv_bytes(rows), "leads.csv")
    admin = company.actor(db, "admin")
    refused = run_import(db, admin, frame, options_for(frame, mode="all_or_nothing"))
    assert refused.refused and refused.stored == 0 and count(db, Lead) == 0
    stored = run_import(db, admin, frame, options_for(frame))
    assert not stored.refused and stored.stored == 1 and count(db, Lead) == 1
    runs = list_imports(db, admin)
    assert [(r.status, r.counts["created"], r.counts["rejected"]) for r in runs] == [
        ("done", 1, 1),
        ("refused", 1, 1),
    ]
    assert count(db, AuditLog, AuditLog.action == "lead.import") == 2


def test_a_bad_date_alone_refuses_an_all_or_nothing_import(db, company):
    rows = [GOOD, ["李雷", "13800002222", "sem", "", "kaoyan", "someday", ""]]
    frame = read_table(csv_bytes(rows), "leads.csv")
    report = run_import(
        db, company.actor(db, "admin"), frame, options_for(frame, mode="all_or_nothing")
    )
    assert report.refused and count(db, Lead) == 0


def test_a_cancelled_import_leaves_nothing_behind(db, company):
    rows = [[f"P{i}", f"137{i:08d}", "sem", "", "kaoyan", "", ""] for i in range(3000)]
    frame = read_table(csv_bytes(rows), "big.csv")

    class Cancelled(BaseException):
        """Like the page's script being stopped mid-run."""

    def progress(share: float) -> None:
        if share > 0.8:
            raise Cancelled

    with pytest.raises(Cancelled):
        run_import(db, company.actor(db, "admin"), frame, options_for(frame), progress=progress)
    assert count(db, Lead) == 0 and count(db, Opportunity) == 0
    assert count(db, AuditLog, AuditLog.action == "lead.import") == 0


def test_too_many_rows_are_refused(db, company, monkeypatch):
    monkeypatch.setattr(lead_import, "MAX_ROWS", 2)
    frame = read_table(csv_bytes([GOOD] * 3), "leads.csv")
    with pytest.raises(ValidationError) as error:
        preview_import(db, company.actor(db, "admin"), frame, options_for(frame))
    assert (
        error.value.key
        == "The file has {rows} rows; at most {max} can be imported at once. Split it."
    )


def test_importing_needs_import_leads(db, company):
    frame = read_table(csv_bytes([GOOD]), "leads.csv")
    with pytest.raises(PermissionDenied):
        preview_import(db, company.actor(db, "rep_a1"), frame, options_for(frame))


# --- the rejected rows file ----------------------------------------------------------------


def test_the_rejected_rows_file_has_row_reason_and_no_formulas(db, company):
    rows = [GOOD, ['=HYPERLINK("x")', "12", "sem", "", "kaoyan", "", ""]]
    frame = read_table(csv_bytes(rows), "leads.csv")
    admin = company.actor(db, "admin")
    options = options_for(frame)
    report = preview_import(db, admin, frame, options)
    data = rejected_rows_csv(admin, frame, report, options, "zh")
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == [
        translate("Row", "zh"),
        *HEADER_ZH,
        translate("Column at fault", "zh"),
        translate("Reason", "zh"),
    ]
    [row] = table[1:]
    assert row[0] == "3" and row[1] == '\'=HYPERLINK("x")'
    assert row[-2] == translate("Phone", "zh") and "不是有效的手机号码" in row[-1]
