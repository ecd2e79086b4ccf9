"""A lead file that updates the stored leads it names: matched by external id, else by
phone (E.164); the preview lists every field it would change (old -> new), blank cells
and placeholders never erase, only leads in the importer's scope are updated (others are
bad rows), each update is audited; the default still only adds."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from crm_core.imports.leads import ImportOptions, guess_columns, preview_import, run_import
from crm_core.imports.leads.updates import FieldChange
from crm_core.imports.tabular import read_table
from crm_core.models import AuditLog, Lead, Opportunity
from tests.factories import add_owned_opportunity, build_small_company

HEADER = ["姓名", "手机号", "外部编号", "渠道", "业务线", "城市", "邮箱"]


@pytest.fixture
def company(db):
    company = build_small_company(db)
    # Stored leads: Lead 1 (Team A's, no city), Lead 2 (Team C's, Shanghai).
    ours = add_owned_opportunity(db, company, "rep_a1", 1)
    theirs = add_owned_opportunity(db, company, "rep_c1", 2)
    lead = db.get(Lead, ours.lead_id)
    lead.external_id = "CRM-1"
    lead.email = "old@example.com"
    db.add(lead)
    db.commit()
    company.ours, company.theirs = ours.lead_id, theirs.lead_id
    return company


def frame_of(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return read_table(out.getvalue().encode(), "leads.csv")


def options(frame, **more) -> ImportOptions:
    return ImportOptions(mapping=guess_columns(frame.columns), **more)


def test_the_preview_lists_each_change_and_the_run_writes_and_audits_it(db, company):
    frame = frame_of(
        [
            # by phone: renamed, a city added, the e-mail cell a placeholder (kept)
            ["Lead One", "138 0000 0001", "", "搜索广告", "kaoyan", "北京", "-"],
            ["新人", "13900009999", "", "搜索广告", "kaoyan", "", ""],  # a new lead
        ]
    )
    manager = company.actor(db, "bj_manager")
    preview = preview_import(db, manager, frame, options(frame, update_existing=True))
    assert preview.counts["updated"] == 1 and preview.counts["created"] == 1
    [update] = preview.updates
    assert (update.row, update.lead_id) == (2, company.ours)  # spreadsheet rows
    assert update.changes == (
        FieldChange("name", "Lead 1", "Lead One"),
        FieldChange("city", None, "北京"),
    )
    report = run_import(db, manager, frame, options(frame, update_existing=True))
    assert report.counts["updated"] == 1 and report.counts["created"] == 1
    lead = db.get(Lead, company.ours)
    db.refresh(lead)
    assert (lead.name, lead.name_key, lead.city, lead.email) == (
        "Lead One",
        "lead one",
        "北京",
        "old@example.com",
    )
    # The known lead got no second opportunity; the new one did.
    assert len(db.exec(select(Opportunity).where(Opportunity.lead_id == lead.id)).all()) == 1
    entry = db.exec(select(AuditLog).where(AuditLog.action == "lead.update")).one()
    assert entry.target_id == str(company.ours)
    assert entry.before == {"name": "Lead 1", "city": None}
    assert entry.after == {"name": "Lead One", "city": "北京"}
    run = db.get(AuditLog, report.import_id)
    assert run.after["updated_leads"] == 1


def test_the_external_id_matches_before_the_phone(db, company):
    frame = frame_of([["Lead 1", "13700000000", "CRM-1", "搜索广告", "kaoyan", "上海", ""]])
    report = preview_import(
        db, company.actor(db, "admin"), frame, options(frame, update_existing=True)
    )
    [update] = report.updates
    assert update.lead_id == company.ours
    assert update.changes == (FieldChange("city", None, "上海"),)


def test_a_lead_outside_the_scope_is_a_bad_row_and_stays_as_it_was(db, company):
    frame = frame_of([["Changed", "13800000002", "", "搜索广告", "kaoyan", "杭州", ""]])
    manager = company.actor(db, "bj_manager")
    report = run_import(db, manager, frame, options(frame, update_existing=True))
    [bad] = report.issues
    assert bad.row == 2 and "outside your data scope" in bad.reason
    assert bad.params == {}
    lead = db.get(Lead, company.theirs)
    db.refresh(lead)
    assert (lead.name, lead.city) == ("Lead 2", None)
    assert report.updates == []
    # The company-wide admin may update it.
    run_import(db, company.actor(db, "admin"), frame, options(frame, update_existing=True))
    db.refresh(lead)
    assert (lead.name, lead.city) == ("Changed", "杭州")


def test_a_row_saying_nothing_new_is_unchanged_and_two_rows_of_one_lead_are_refused(db, company):
    frame = frame_of(
        [
            ["Lead 1", "13800000001", "", "搜索广告", "kaoyan", "", ""],
            ["Other", "+86 138 0000 0001", "", "搜索广告", "kaoyan", "", ""],
        ]
    )
    report = preview_import(
        db, company.actor(db, "admin"), frame, options(frame, update_existing=True)
    )
    assert report.counts["unchanged"] == 1 and report.counts["updated"] == 0
    [bad] = report.issues
    assert (bad.row, bad.params) == (3, {"first": 2})


def test_add_only_stays_the_default(db, company):
    frame = frame_of([["Lead One", "13800000001", "", "搜索广告", "kaoyan", "北京", ""]])
    report = run_import(db, company.actor(db, "admin"), frame, options(frame))
    assert report.counts["updated"] == 0 and report.updates == []
    assert report.counts["collision"] == 1  # the owner sees the new inquiry, as before
    lead = db.get(Lead, company.ours)
    db.refresh(lead)
    assert (lead.name, lead.city) == ("Lead 1", None)


def test_a_file_named_by_its_lead_number_does_not_rename_the_lead(db, company):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Lead Number", "渠道", "业务线", "城市"])
    writer.writerow(["CRM-1", "搜索广告", "kaoyan", "天津"])
    frame = read_table(out.getvalue().encode(), "leads.csv")
    mapping = guess_columns(frame.columns)
    assert mapping["name"] == mapping["external_id"] == "Lead Number"
    report = run_import(db, company.actor(db, "admin"), frame, options(frame, update_existing=True))
    [update] = report.updates
    assert update.changes == (FieldChange("city", None, "天津"),)
    lead = db.get(Lead, company.ours)
    db.refresh(lead)
    assert (lead.name, lead.city) == ("Lead 1", "天津")


def test_an_unknown_external_id_falls_back_to_the_phone(db, company):
    frame = frame_of([["Lead 1", "13800000001", "NEW-9", "搜索广告", "kaoyan", "南京", ""]])
    report = preview_import(
        db, company.actor(db, "admin"), frame, options(frame, update_existing=True)
    )
    [update] = report.updates
    assert update.lead_id == company.ours
    assert update.changes == (FieldChange("city", None, "南京"),)


def test_a_stored_e_mail_is_masked_in_the_preview_and_the_audit(db, company):
    # A manager without the right to full contact details sees the stored e-mail masked in
    # the list of changes, as everywhere; the audit log masks it for everyone.
    frame = frame_of([["Lead 1", "138 0000 0001", "", "搜索广告", "kaoyan", "", "new@example.com"]])
    manager = company.actor(db, "bj_manager")
    [update] = preview_import(db, manager, frame, options(frame, update_existing=True)).updates
    assert update.changes == (FieldChange("email", "o***@example.com", "new@example.com"),)
    assert "old@example.com" not in repr(update)
    admin = company.actor(db, "admin")
    [update] = preview_import(db, admin, frame, options(frame, update_existing=True)).updates
    assert update.changes == (FieldChange("email", "old@example.com", "new@example.com"),)
    run_import(db, manager, frame, options(frame, update_existing=True))
    assert db.get(Lead, company.ours).email == "new@example.com"
    entry = db.exec(select(AuditLog).where(AuditLog.action == "lead.update")).one()
    assert entry.before == {"email": "o***@example.com"}
    assert entry.after == {"email": "n***@example.com"}
