"""Masking beyond phones: e-mail, WeChat id and QQ number are masked like the phone for
readers without `view_full_phone` (see full contact details) in the library, the card, the
opportunity, the export, search results, the customer list, edits' and merges' audit entries;
a search by the whole value still finds the lead; a reveal is logged with its field."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime

import pytest
from sqlmodel import select

from crm_core.leads.customers import list_customers
from crm_core.leads.edit import update_lead
from crm_core.leads.export import export_headers, export_leads
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.masking import (
    CONTACT_FIELDS,
    display_contact,
    mask_contact,
    mask_email,
    mask_handle,
    reveal_contact,
)
from crm_core.leads.merge import merge_leads
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.models import AuditLog, Customer, Lead, Opportunity
from crm_core.org.roles import save_role
from crm_core.org.users import set_user_roles
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.detail import get_opportunity_detail
from crm_core.sales.lead_card import get_lead_detail
from tests.factories import SYSTEM, build_small_company

EMAIL, WECHAT, QQ = "Zhang.San@Example.com", "wxid_abc123xyz", "123456789"
MASKED = {"email": "Z***@Example.com", "wechat": "wxi****3xyz", "qq": "1****789"}
FULL = {"email": EMAIL, "wechat": WECHAT, "qq": QQ}


# --- the masks -----------------------------------------------------------------------------


def test_an_email_keeps_the_first_character_of_its_name_and_its_domain():
    assert mask_email("zhang@example.com") == "z***@example.com"
    assert mask_email("  li@qq.com ") == "l***@qq.com"
    assert mask_email("a@b.cn") == "***@b.cn"  # a one-character name shows nothing of it
    assert mask_email("no-at-sign") == mask_handle("no-at-sign")
    assert mask_email(None) == mask_email("") == ""


@pytest.mark.parametrize(
    ("handle", "masked"),
    [
        ("wxid_abc123xyz", "wxi****3xyz"),
        ("123456789", "1****789"),  # a QQ number
        ("10001", "1****1"),  # the shortest QQ numbers
        ("zhang1", "z****g1"),
        ("abc", "****"),  # too short to show any of it
        ("", ""),
    ],
)
def test_a_wechat_id_or_qq_keeps_at_most_half_of_it_head_and_tail(handle, masked):
    assert mask_handle(handle) == masked
    shown = masked.replace("****", "")
    assert len(shown) <= len(handle) // 2


def test_mask_contact_masks_each_field_its_own_way():
    assert mask_contact("phone", "+8613812345678") == "1****5678"
    assert [mask_contact(f, FULL[f]) for f in ("email", "wechat", "qq")] == list(MASKED.values())
    with pytest.raises(ValueError):
        mask_contact("name", "Wang")


# --- a small company with one lead carrying every contact value ----------------------------


@pytest.fixture
def company(db):
    clock.freeze(datetime(2024, 6, 3, 9, 0))
    company = build_small_company(db)
    rep = company.users["rep_a1"]
    result = intake_leads(
        db,
        SYSTEM,
        [
            LeadInput(
                name="Zhang San",
                phone="138 1234 5678",
                email=EMAIL,
                wechat=WECHAT,
                qq=QQ,
                channel="sem",
                business_line_codes=["kaoyan"],
            )
        ],
        source="manual",
    )
    [outcome] = result.outcomes
    opp = db.exec(select(Opportunity).where(Opportunity.lead_id == outcome.lead_id)).one()
    opp.owner_id, opp.org_unit_id, opp.pool_state = rep.id, rep.org_unit_id, "owned"
    db.add(opp)
    # A holder of the permission who is no administrator: a rep with an extra role.
    admin = company.actor(db, "admin")
    save_role(
        db,
        admin,
        code="contact_viewer",
        name="Contact viewer",
        permissions=["view_leads", "view_full_phone", "export_leads"],
        data_scope="self",
    )
    set_user_roles(db, admin, company.users["rep_a2"].id, ["rep", "contact_viewer"])
    db.commit()
    company.lead_id, company.opportunity_id = outcome.lead_id, opp.id
    return company


def test_the_intake_stores_a_qq_number(db, company):
    lead = db.get(Lead, company.lead_id)
    assert (lead.email, lead.wechat, lead.qq) == (EMAIL, WECHAT, QQ)


def contacts(row) -> dict[str, str | None]:
    return {field: getattr(row, field) for field in ("email", "wechat", "qq")}


def test_a_rep_without_the_permission_sees_masked_values_everywhere(db, company):
    rep = company.actor(db, "rep_a1")
    assert not rep.can("view_full_phone")
    [row] = search_leads(db, rep, LeadFilter()).rows
    assert (row.phone, contacts(row)) == ("1****5678", MASKED)
    card = get_lead_detail(db, rep, company.lead_id)
    assert (card.phone, contacts(card)) == ("1****5678", MASKED)
    detail = get_opportunity_detail(db, rep, company.opportunity_id)
    assert (detail.phone, contacts(detail)) == ("1****5678", MASKED)


@pytest.mark.parametrize("holder", ["admin", "rep_a2"])
def test_a_holder_sees_them_whole(db, company, holder):
    if holder == "rep_a2":  # in no scope of the lead yet: hand it over
        opp = db.get(Opportunity, company.opportunity_id)
        user = company.users["rep_a2"]
        opp.owner_id, opp.org_unit_id = user.id, user.org_unit_id
        db.add(opp)
        db.commit()
    reader = company.actor(db, holder)
    [row] = search_leads(db, reader, LeadFilter(text="Zhang")).rows
    assert contacts(row) == FULL
    assert contacts(get_lead_detail(db, reader, company.lead_id)) == FULL
    assert contacts(get_opportunity_detail(db, reader, company.opportunity_id)) == FULL


@pytest.mark.parametrize(
    "text",
    [EMAIL, EMAIL.lower(), f"  {EMAIL.upper()} ", WECHAT, QQ],
    ids=["email", "email-lower", "email-upper", "wechat", "qq"],
)
def test_a_search_by_the_whole_value_finds_the_lead_and_shows_it_masked(db, company, text):
    rep = company.actor(db, "rep_a1")
    [row] = search_leads(db, rep, LeadFilter(text=text.strip())).rows
    assert row.id == company.lead_id
    assert contacts(row) == MASKED


@pytest.mark.parametrize("text", ["wxid_abc", "Zhang.San@", "12345678", "wxid_abc123xyz2"])
def test_a_part_of_a_value_finds_nothing_by_it(db, company, text):
    rep = company.actor(db, "rep_a1")
    assert search_leads(db, rep, LeadFilter(text=text)).rows == []


def test_a_search_by_value_stays_in_scope(db, company):
    other = company.actor(db, "rep_b1")
    for text in (EMAIL, WECHAT, QQ):
        assert search_leads(db, other, LeadFilter(text=text)).rows == []


def _export_rows(db, actor) -> dict[str, str]:
    export = export_leads(db, actor, LeadFilter(text=WECHAT), "csv", "en")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert len(rows) == 2, rows
    return dict(zip(rows[0], rows[1], strict=True))


def test_the_export_masks_them_for_a_reader_without_the_permission(db, company):
    headers = export_headers("en")
    assert headers[-3:] == ["Email", "WeChat", "QQ"]
    team_lead = company.actor(db, "lead_a")  # exports the team, no view_full_phone
    row = _export_rows(db, team_lead)
    assert (row["Email"], row["WeChat"], row["QQ"]) == tuple(MASKED.values())
    assert row["Phone"] == "1****5678"
    admin_row = _export_rows(db, company.actor(db, "admin"))
    assert (admin_row["Email"], admin_row["WeChat"], admin_row["QQ"]) == (EMAIL, WECHAT, QQ)


def test_the_customer_list_masks_e_mails(db, company):
    db.add(Customer(platform_user_id="u-1", name="Zhang", phone="+8613812345678", email=EMAIL))
    db.commit()
    marketing = company.actor(db, "admin")
    [row] = list_customers(db, marketing, None, 1, 20).rows
    assert row.email == EMAIL
    save_role(
        db,
        marketing,
        code="customer_desk",
        name="Customer desk",
        permissions=["manage_customers"],
        data_scope="all",
    )
    set_user_roles(db, marketing, company.users["rep_c1"].id, ["customer_desk"])
    db.commit()
    [row] = list_customers(db, company.actor(db, "rep_c1"), None, 1, 20).rows
    assert (row.phone, row.email) == ("1****5678", MASKED["email"])


# --- reveal --------------------------------------------------------------------------------


def test_a_reveal_returns_the_value_and_writes_an_audit_row_with_its_field(db, company):
    rep = company.actor(db, "rep_a1")
    for field in ("email", "wechat", "qq"):
        assert reveal_contact(db, rep, company.lead_id, field) == FULL[field]
    assert reveal_contact(db, rep, company.lead_id, "phone") == "+8613812345678"
    entries = db.exec(
        select(AuditLog)
        .where(AuditLog.action.in_(["contact.unmask", "phone.unmask"]))
        .order_by(AuditLog.id)
    ).all()
    assert [(e.action, e.actor_id, e.target_id, e.after) for e in entries] == [
        ("contact.unmask", rep.user_id, str(company.lead_id), {"field": "email"}),
        ("contact.unmask", rep.user_id, str(company.lead_id), {"field": "wechat"}),
        ("contact.unmask", rep.user_id, str(company.lead_id), {"field": "qq"}),
        ("phone.unmask", rep.user_id, str(company.lead_id), None),
    ]
    # The entry holds who looked at which field, never the value.
    assert not any(value in str(e.after) for e in entries for value in FULL.values())


def test_a_reveal_refuses_outside_the_scope_an_empty_value_and_other_fields(db, company):
    with pytest.raises(NotFound):
        reveal_contact(db, company.actor(db, "rep_b1"), company.lead_id, "email")
    bare = intake_leads(
        db,
        SYSTEM,
        [LeadInput(name="Li", phone="13900000000", channel="sem", business_line_codes=["kaoyan"])],
        source="manual",
    ).outcomes[0]
    admin = company.actor(db, "admin")
    for field in ("email", "wechat", "qq"):
        with pytest.raises(ValidationError):
            reveal_contact(db, admin, bare.lead_id, field)
    with pytest.raises(ValidationError):
        reveal_contact(db, admin, company.lead_id, "name")
    blind = dataclasses.replace(admin, permissions=frozenset())
    with pytest.raises(PermissionDenied):
        reveal_contact(db, blind, company.lead_id, "email")
    assert db.exec(select(AuditLog).where(AuditLog.action == "contact.unmask")).all() == []


# --- edits and merges ----------------------------------------------------------------------


def test_a_masked_value_sent_back_is_no_change_and_edits_audit_masked_values(db, company):
    rep = company.actor(db, "rep_a1")
    card = get_lead_detail(db, rep, company.lead_id)
    # The card's edit form sends every field back as shown: masked.
    update_lead(db, rep, company.lead_id, {f: getattr(card, f) for f in ("email", "wechat", "qq")})
    lead = db.get(Lead, company.lead_id)
    assert (lead.email, lead.wechat, lead.qq) == (EMAIL, WECHAT, QQ)
    assert db.exec(select(AuditLog).where(AuditLog.action == "lead.update")).all() == []
    update_lead(db, rep, company.lead_id, {"email": "li.si@example.org", "wechat": None, "qq": QQ})
    lead = db.get(Lead, company.lead_id)
    assert (lead.email, lead.wechat, lead.qq) == ("li.si@example.org", None, QQ)
    [entry] = db.exec(select(AuditLog).where(AuditLog.action == "lead.update")).all()
    assert entry.before == {"email": MASKED["email"], "wechat": MASKED["wechat"]}
    assert entry.after == {"email": "l***@example.org", "wechat": None}


def test_a_holder_who_types_the_mask_stores_it(db, company):
    """Only a reader who was shown the mask can send it back; a holder's text is taken."""
    admin = company.actor(db, "admin")
    update_lead(db, admin, company.lead_id, {"qq": MASKED["qq"]})
    assert db.get(Lead, company.lead_id).qq == MASKED["qq"]


def test_a_merge_fills_contact_values_and_audits_them_masked(db, company):
    bare = intake_leads(
        db,
        SYSTEM,
        [
            LeadInput(
                name="Zhang S", phone="13900000001", channel="sem", business_line_codes=["kaoyan"]
            )
        ],
        source="manual",
    ).outcomes[0]
    admin = company.actor(db, "admin")
    merge_leads(db, admin, bare.lead_id, company.lead_id)
    kept = db.get(Lead, bare.lead_id)
    assert (kept.email, kept.wechat, kept.qq) == (EMAIL, WECHAT, QQ)
    [entry] = db.exec(select(AuditLog).where(AuditLog.action == "lead.merge")).all()
    filled = entry.after["filled"]
    assert {f: filled[f] for f in ("email", "wechat", "qq")} == MASKED


def test_display_contact_shows_nothing_for_no_value(db, company):
    rep = company.actor(db, "rep_a1")
    assert [display_contact(rep, f, None) for f in CONTACT_FIELDS] == ["", "", "", ""]


# --- the lead import -----------------------------------------------------------------------


def test_the_lead_import_reads_a_qq_column_and_masks_contact_values_in_rejected_rows(db, company):
    from crm_core.imports.leads import (
        ImportOptions,
        guess_columns,
        preview_import,
        rejected_rows_csv,
        run_import,
    )
    from crm_core.imports.tabular import read_table

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机号", "渠道", "业务线", "邮箱", "微信号", "QQ号"])
    writer.writerow(
        ["李雷", "13900001111", "sem", "kaoyan", "li.lei@example.com", "lilei_88", "10001"]
    )
    writer.writerow(
        ["", "13900002222", "sem", "kaoyan", "han@example.com", "hanmm_99", "987654321"]
    )
    frame = read_table(out.getvalue().encode("utf-8"), "leads.csv")
    mapping = guess_columns(frame.columns)
    assert (mapping["email"], mapping["wechat"], mapping["qq"]) == ("邮箱", "微信号", "QQ号")
    options = ImportOptions(mapping=mapping)
    team_lead = company.actor(db, "lead_a")
    team_lead = dataclasses.replace(team_lead, permissions=team_lead.permissions | {"import_leads"})
    report = preview_import(db, team_lead, frame, options)
    data = rejected_rows_csv(team_lead, frame, report, options, "en").decode("utf-8-sig")
    assert "h***@example.com" in data and "h****_99" in data and "9****321" in data
    assert "han@example.com" not in data and "hanmm_99" not in data and "987654321" not in data
    admin = company.actor(db, "admin")
    whole = rejected_rows_csv(admin, frame, report, options, "en").decode("utf-8-sig")
    assert "han@example.com" in whole and "987654321" in whole
    assert run_import(db, admin, frame, options).stored == 1
    lead = db.exec(select(Lead).where(Lead.name == "李雷")).one()
    assert (lead.email, lead.wechat, lead.qq) == ("li.lei@example.com", "lilei_88", "10001")


def test_an_export_by_a_searched_e_mail_or_qq_audits_the_search_masked(db, company):
    admin = company.actor(db, "admin")
    for text, masked in ((EMAIL, MASKED["email"]), ("10001", "1****1")):
        export_leads(db, admin, LeadFilter(text=text), "csv", "en")
        entry = db.exec(
            select(AuditLog).where(AuditLog.action == "lead.export").order_by(AuditLog.id.desc())
        ).first()
        assert entry.after["filter"]["text"] == masked
