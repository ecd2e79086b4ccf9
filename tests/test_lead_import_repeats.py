"""Importing again never doubles people: leads reached only by e-mail or WeChat are found
again, and an undated open row imported before is a repeat, not a new inquiry."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from crm_core.imports.leads import ImportOptions, guess_columns, run_import
from crm_core.imports.tabular import read_table
from crm_core.models import FollowUp, Lead, Opportunity
from tests.factories import build_small_company
from tests.test_lead_import import csv_bytes

HEADER = ["Name", "Mobile", "Email", "WeChat", "Source", "Business line"]


@pytest.fixture
def company(db):
    return build_small_company(db)


def _run(db, admin, rows):
    frame = read_table(csv_bytes(rows, HEADER), "leads.csv")
    return run_import(db, admin, frame, ImportOptions(mapping=guess_columns(frame.columns)))


def _count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_leads_reached_only_by_email_or_wechat_are_found_again(db, company):
    admin = company.actor(db, "admin")
    rows = [
        ["Ann Lee", "", "Ann.Lee@Example.com", "", "sem", "kaoyan"],
        ["Bo Wang", "", "", "bowang88", "sem", "kaoyan"],
    ]
    first = _run(db, admin, rows)
    assert first.counts["created"] == 2
    # The next export spells the e-mail otherwise; the same people, nothing new.
    again = [
        ["Ann Lee", "", " ann.lee@example.COM ", "", "sem", "kaoyan"],
        ["Bo Wang", "", "", "bowang88", "sem", "kaoyan"],
    ]
    second = _run(db, admin, again)
    assert second.counts["created"] == 0 and second.counts["already_imported"] == 2
    assert _count(db, Lead) == 2 and _count(db, Opportunity) == 2
    assert _count(db, FollowUp) == 0  # no inquiry note on the opportunities imported before


def test_an_undated_open_row_imported_before_is_a_repeat(db, company):
    admin = company.actor(db, "admin")
    rows = [["Cai Hua", "13800004444", "", "", "sem", "kaoyan"]]
    assert _run(db, admin, rows).counts["created"] == 1
    second = _run(db, admin, rows)
    assert second.counts["already_imported"] == 1
    assert second.counts["collision"] == 0 and _count(db, FollowUp) == 0
    # Within one file the second spelling of a person is still the same person.
    rows = [
        ["Dai Mei", "", "dai@example.com", "", "sem", "kaoyan"],
        ["Dai Mei", "", "DAI@example.com", "", "sem", "kaoyan"],
    ]
    third = _run(db, admin, rows)
    assert third.counts["created"] == 1 and third.counts["duplicate"] == 1


def test_a_person_entered_by_hand_still_gets_the_inquiry_note(db, company):
    """A known person whose opportunity no import opened is a new inquiry, as before."""
    from crm_core.leads.intake import LeadInput, intake_leads

    admin = company.actor(db, "admin")
    intake_leads(
        db,
        admin,
        [LeadInput(name="Eva", phone="13800005555", channel="sem", business_line_codes=["kaoyan"])],
        source="form",
    )
    report = _run(db, admin, [["Eva", "13800005555", "", "", "sem", "kaoyan"]])
    assert report.counts["collision"] == 1 and report.counts["already_imported"] == 0
    assert _count(db, FollowUp) == 1
