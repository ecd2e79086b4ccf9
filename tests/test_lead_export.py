"""Lead export: CSV and XLSX read back, translated headers, masking, formula injection,
scope, the row limit, keyset chunks and the audit entry."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import event
from sqlmodel import select

from crm_core.leads import export as lead_export
from crm_core.leads.export import EXPORT_FORMATS, export_leads
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.leads.tags import add_tag
from crm_core.models import AuditLog
from crm_core.org.roles import save_role
from crm_core.org.users import set_user_roles
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import translate
from crm_core.platform.settings import set_setting
from tests.factories import add_owned_opportunity, build_small_company

EN_HEADERS = [
    "ID",
    "Name",
    "Phone",
    "External ID",
    "Channel",
    "Campaign",
    "Region",
    "City",
    "Created at (UTC)",
    "Tags",
    "Opportunities",
    "Email",
    "WeChat",
    "QQ",
]
ZH_HEADERS = [
    translate("ID", "zh"),
    translate("Name", "zh"),
    translate("Phone", "zh"),
    translate("External ID", "zh"),
    translate("Channel", "zh"),
    translate("Campaign", "zh"),
    translate("Place", "zh"),
    translate("City", "zh"),
    translate("Created at (UTC)", "zh"),
    translate("Tag", "zh"),
    translate("Opportunities", "zh"),
    translate("Email", "zh"),
    translate("WeChat", "zh"),
    translate("QQ", "zh"),
]
HYPERLINK = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def company(db):
    """rep_a1, rep_a2 and rep_c1 own one lead each; two hostile leads wait unassigned."""
    clock.freeze(datetime(2024, 5, 6, 9, 30))
    company = build_small_company(db)
    company.leads = {}
    for tail, owner in ((1, "rep_a1"), (2, "rep_a2"), (4, "rep_c1")):
        company.leads[owner] = add_owned_opportunity(db, company, owner, tail).lead_id
    admin = company.actor(db, "admin")
    result = intake_leads(
        db,
        admin,
        [
            LeadInput(
                name=HYPERLINK,
                phone="13900000005",
                channel="feed",
                campaign="+cmd",
                region="北京",
                city="海淀",
                external_id="X-5",
                business_line_codes=["kaoyan"],
            ),
            LeadInput(
                name="-1",
                phone="13900000006",
                channel="sem",
                campaign="@SUM(A1:A9)",
                business_line_codes=["kaoyan"],
            ),
        ],
        source="manual",
    )
    db.commit()
    company.leads["hyperlink"], company.leads["minus"] = (o.lead_id for o in result.outcomes)
    add_tag(db, admin, company.leads["rep_a1"], "vip")
    add_tag(db, admin, company.leads["rep_a1"], "alpha")
    add_tag(db, admin, company.leads["hyperlink"], "=1+1")
    return company


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes) -> tuple[str, list[list[object]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    # No cell may be a formula: a neutralised text stays text.
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    return sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]


def by_id(rows: list[list]) -> dict[int, list]:
    return {int(row[0]): row for row in rows[1:]}


# --- formats and headers -------------------------------------------------------------------


def test_csv_in_english_reads_back(db, company):
    export = export_leads(db, company.actor(db, "admin"), LeadFilter(), "csv", "en")
    assert (export.filename, export.mime) == ("leads-20240506-0930.csv", "text/csv")
    assert (export.rows, export.truncated) == (5, False)
    rows = read_csv(export.data)
    assert rows[0] == EN_HEADERS
    assert len(rows) == 6
    leads = company.leads
    rep_lead = by_id(rows)[leads["rep_a1"]]
    assert rep_lead == [
        str(leads["rep_a1"]),
        "Lead 1",
        "'+8613800000001",
        "",
        "Search ads (SEM)",
        "",
        "",
        "",
        "2024-05-06 09:30:00",
        "alpha, vip",
        "Postgraduate exam: Rep A1 / Contacted / Owned",
        "",
        "",
        "",
    ]
    hostile = by_id(rows)[leads["hyperlink"]]
    assert hostile[3:8] == ["X-5", "Feed ads", "'+cmd", "北京", "海淀"]
    assert hostile[10] == "Postgraduate exam: no owner / New / Unassigned"


def test_xlsx_in_chinese_reads_back(db, company):
    export = export_leads(db, company.actor(db, "admin"), LeadFilter(), "xlsx", "zh")
    assert export.filename == "leads-20240506-0930.xlsx"
    assert export.mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    title, rows = read_xlsx(export.data)
    assert title == translate("Lead", "zh")
    assert rows[0] == ZH_HEADERS
    assert len(rows) == 6
    rep_lead = by_id(rows)[company.leads["rep_a1"]]
    assert rep_lead[0] == company.leads["rep_a1"]  # numbers stay numbers
    assert rep_lead[4] == "搜索广告"
    assert rep_lead[8] == datetime(2024, 5, 6, 9, 30)  # a real date cell
    assert rep_lead[10] == "Postgraduate exam: Rep A1 / 已联系 / 私海"
    hostile = by_id(rows)[company.leads["hyperlink"]]
    assert hostile[10] == "Postgraduate exam: 无负责人 / 新商机 / 待分配"


def test_csv_in_chinese_has_chinese_headers_and_labels(db, company):
    export = export_leads(db, company.actor(db, "admin"), LeadFilter(), "csv", "zh")
    rows = read_csv(export.data)
    assert rows[0] == ZH_HEADERS
    assert by_id(rows)[company.leads["hyperlink"]][4] == "信息流广告"


def test_xlsx_in_english_has_english_headers(db, company):
    export = export_leads(db, company.actor(db, "admin"), LeadFilter(), "xlsx", "en")
    title, rows = read_xlsx(export.data)
    assert (title, rows[0]) == ("Leads", EN_HEADERS)


def test_unknown_format_or_sort_is_refused(db, company):
    admin = company.actor(db, "admin")
    assert EXPORT_FORMATS == ("csv", "xlsx")
    with pytest.raises(ValidationError) as error:
        export_leads(db, admin, LeadFilter(), "xls", "en")
    assert (error.value.key, error.value.params) == ("Unknown export format {fmt}.", {"fmt": "xls"})
    with pytest.raises(ValidationError):
        export_leads(db, admin, LeadFilter(), "csv", "en", sort="random")
    assert db.exec(select(AuditLog).where(AuditLog.action == "lead.export")).all() == []


# --- formula injection ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_formula_injection_is_neutralised(db, company, fmt):
    export = export_leads(db, company.actor(db, "admin"), LeadFilter(), fmt, "en")
    rows = read_csv(export.data) if fmt == "csv" else read_xlsx(export.data)[1]
    hostile = by_id(rows)[company.leads["hyperlink"]]
    assert hostile[1] == "'" + HYPERLINK
    assert hostile[5] == "'+cmd"
    assert hostile[9] == "'=1+1"
    minus = by_id(rows)[company.leads["minus"]]
    assert (minus[1], minus[5]) == ("'-1", "'@SUM(A1:A9)")
    # Nothing in the file starts like a formula.
    for row in rows[1:]:
        for value in row:
            assert not (isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"))


# --- masking and scope ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_phones_are_masked_without_view_full_phone(db, company, fmt):
    manager = company.actor(db, "bj_manager")  # Beijing subtree, no view_full_phone
    export = export_leads(db, manager, LeadFilter(), fmt, "en")
    rows = read_csv(export.data) if fmt == "csv" else read_xlsx(export.data)[1]
    assert {row_id: row[2] for row_id, row in by_id(rows).items()} == {
        company.leads["rep_a1"]: "1****0001",
        company.leads["rep_a2"]: "1****0002",
    }
    if fmt == "csv":
        assert b"13800000001" not in export.data


def test_admin_sees_full_numbers(db, company):
    export = export_leads(db, company.actor(db, "admin"), LeadFilter(), "csv", "en")
    phones = {row[2] for row in read_csv(export.data)[1:]}
    assert "'+8613900000005" in phones and "'+8613800000004" in phones


def test_a_team_lead_exports_only_the_team(db, company):
    export = export_leads(db, company.actor(db, "lead_a"), LeadFilter(), "csv", "en")
    assert set(by_id(read_csv(export.data))) == {company.leads["rep_a1"], company.leads["rep_a2"]}


def test_a_rep_exports_only_their_own_leads(db, company):
    admin = company.actor(db, "admin")
    with pytest.raises(PermissionDenied):  # the built-in rep role cannot export at all
        export_leads(db, company.actor(db, "rep_a1"), LeadFilter(), "csv", "en")
    save_role(
        db,
        admin,
        code="rep_exporter",
        name="Rep exporter",
        permissions=["view_leads", "export_leads"],
        data_scope="self",
    )
    set_user_roles(db, admin, company.users["rep_a1"].id, ["rep", "rep_exporter"])
    db.commit()
    export = export_leads(db, company.actor(db, "rep_a1"), LeadFilter(), "xlsx", "en")
    rows = read_xlsx(export.data)[1]
    assert list(by_id(rows)) == [company.leads["rep_a1"]]
    assert by_id(rows)[company.leads["rep_a1"]][2] == "1****0001"


def test_the_export_follows_the_filter(db, company):
    admin = company.actor(db, "admin")
    export = export_leads(db, admin, LeadFilter(tag="vip"), "csv", "en")
    assert list(by_id(read_csv(export.data))) == [company.leads["rep_a1"]]
    export = export_leads(db, admin, LeadFilter(channel="feed"), "csv", "en")
    assert list(by_id(read_csv(export.data))) == [company.leads["hyperlink"]]


# --- row limit, order, chunks --------------------------------------------------------------


def test_the_row_limit_truncates_and_says_so(db, company):
    admin = company.actor(db, "admin")
    set_setting(db, admin, "export.max_rows", 2)
    db.commit()
    export = export_leads(db, admin, LeadFilter(), "csv", "en")
    assert (export.rows, export.truncated) == (2, True)
    newest_two = [row.id for row in search_leads(db, admin, LeadFilter(), page_size=2).rows]
    assert [int(row[0]) for row in read_csv(export.data)[1:]] == newest_two
    set_setting(db, admin, "export.max_rows", 5)
    db.commit()
    export = export_leads(db, admin, LeadFilter(), "xlsx", "en")
    assert (export.rows, export.truncated) == (5, False)
    assert len(read_xlsx(export.data)[1]) == 6


@pytest.mark.parametrize("sort", ["newest", "oldest", "name"])
def test_keyset_chunks_keep_the_search_order(db, company, monkeypatch, sort):
    admin = company.actor(db, "admin")
    # Later leads, some sharing a creation time, so the keyset must break ties on the id.
    for batch in range(3):
        clock.advance(timedelta(minutes=5))
        intake_leads(
            db,
            admin,
            [
                LeadInput(
                    name=f"Lead {name}",
                    phone=f"137{batch}{i:07d}",
                    channel="sem",
                    business_line_codes=["kaoyan"],
                )
                for i, name in enumerate("cab")
            ],
            source="manual",
        )
        db.commit()
    monkeypatch.setattr(lead_export, "CHUNK_SIZE", 2)
    expected = [
        row.id for row in search_leads(db, admin, LeadFilter(), sort=sort, page_size=200).rows
    ]
    assert len(expected) == 14
    export = export_leads(db, admin, LeadFilter(), "csv", "en", sort=sort)
    assert [int(row[0]) for row in read_csv(export.data)[1:]] == expected
    set_setting(db, admin, "export.max_rows", 5)
    db.commit()
    export = export_leads(db, admin, LeadFilter(), "csv", "en", sort=sort)
    assert [int(row[0]) for row in read_csv(export.data)[1:]] == expected[:5]
    assert export.truncated


def test_queries_do_not_grow_with_the_number_of_leads(db, company, engine):
    admin = company.actor(db, "admin")
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    def queries() -> int:
        seen.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            export_leads(db, admin, LeadFilter(), "csv", "en")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = queries()
    intake_leads(
        db,
        admin,
        [
            LeadInput(
                name=f"Extra {i}",
                phone=f"136{i:08d}",
                channel="sem",
                business_line_codes=["kaoyan"],
            )
            for i in range(40)
        ],
        source="manual",
    )
    db.commit()
    assert queries() == few


# --- audit ---------------------------------------------------------------------------------


def test_the_export_is_audited_without_a_full_number(db, company):
    admin = company.actor(db, "admin")
    export_leads(db, admin, LeadFilter(text="13900000005"), "xlsx", "en", sort="oldest")
    [entry] = db.exec(select(AuditLog).where(AuditLog.action == "lead.export")).all()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.user_id, "lead", None)
    assert entry.after["rows"] == 1
    assert entry.after["format"] == "xlsx"
    assert entry.after["truncated"] is False
    assert entry.after["sort"] == "oldest"
    assert entry.after["filter"]["text"] == "1****0005"
    assert "13900000005" not in str(entry.after)
