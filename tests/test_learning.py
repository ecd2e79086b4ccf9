"""Study activity: the import finds each student's lead by phone or customer id, reports
every bad row with its reason (phones masked), stores the good rows or nothing, updates a
re-imported course to the newer values and never to older ones; reading keeps to the
lead scope and puts the latest study first."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from crm_core.imports import engine
from crm_core.imports.study import STUDY, parse_progress
from crm_core.imports.tabular import read_table
from crm_core.leads.learning import learning_for_lead
from crm_core.leads.merge import merge_leads
from crm_core.models import AuditLog, Customer, Lead, LearningActivity
from crm_core.org.roles import save_role
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company

# 10:00 in Beijing on 30 November 2026 (the company's day).
NOW = datetime(2026, 11, 30, 2, 0)
HEADER = "phone,customer id,course,progress %,last study date\n"


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    company = build_small_company(db)
    company.users["mkt"] = create_user(
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
    yield company
    clock.reset()


@pytest.fixture
def leads(db, company) -> dict[str, Lead]:
    """Lead 1 (rep_a1's), lead 2 (rep_b1's, with customer U2), lead 3 (rep_c1's)."""
    out = {}
    for tail, owner in ((1, "rep_a1"), (2, "rep_b1"), (3, "rep_c1")):
        opp = add_owned_opportunity(db, company, owner, tail)
        out[str(tail)] = db.get(Lead, opp.lead_id)
    customer = Customer(platform_user_id="U2", phone=out["2"].phone)
    db.add(customer)
    db.flush()
    out["2"].customer_id = customer.id
    db.add(Customer(platform_user_id="U9"))  # registered, never a lead
    db.commit()
    return out


def phone(tail: int) -> str:
    return f"138{tail:08d}"


def frame(text: str, name: str = "study.csv"):
    return read_table(text.encode("utf-8"), name)


def preview_learning_import(db, actor, frame, mapping=None, **kwargs):
    return engine.preview(db, actor, STUDY, frame, engine.ImportOptions(mapping, **kwargs))


def apply_learning_import(db, actor, plan, mode):
    return engine.apply(db, actor, STUDY, plan, mode)


def rejected_learning_rows_csv(actor, plan, language):
    return engine.rejected_rows_csv(actor, STUDY, plan, language)


def guess_learning_mapping(columns):
    return engine.guess_columns(STUDY.fields, columns)


def preview(db, company, text: str, user: str = "mkt", **kwargs):
    return preview_learning_import(db, company.actor(db, user), frame(HEADER + text), **kwargs)


def stored(db) -> list[tuple]:
    db.expire_all()
    return sorted(
        db.exec(
            select(
                LearningActivity.lead_id,
                LearningActivity.course,
                LearningActivity.progress_pct,
                LearningActivity.last_studied_on,
                LearningActivity.customer_id,
            )
        ).all()
    )


def test_headers_are_guessed_in_english_and_chinese():
    assert guess_learning_mapping(
        [
            "手机号",
            "学员ID",
            "课程名称",
            "学习进度",
            "最近学习日期",
        ]
    ) == {
        "phone": "手机号",
        "customer_id": "学员ID",
        "course": "课程名称",
        "progress_pct": "学习进度",
        "last_studied_on": "最近学习日期",
    }
    guessed = guess_learning_mapping(
        ["Mobile", "Platform User ID", "Course", "Progress", "Last Studied"]
    )
    assert list(guessed.values()) == [
        "Mobile",
        "Platform User ID",
        "Course",
        "Progress",
        "Last Studied",
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("75", 75),
        ("75%", 75),
        (" 62.5 ", 63),
        ("0", 0),
        ("100", 100),
        ("100.4", None),
        ("-1", None),
        ("abc", None),
        ("nan", None),
    ],
)
def test_progress_is_a_whole_percent_from_0_to_100(text, value):
    assert parse_progress(text) == value


def test_a_preview_writes_nothing_and_the_import_stores_the_rows(db, company, leads):
    result = preview(
        db,
        company,
        f"{phone(1)},,Math,40%,2026-11-20\n,U2,English,85,2026-11-29\n{phone(1)},,Politics,10,\n",
    )
    assert result.ok and result.counts["new"] == 3
    assert [(r.lead_id, r.course, r.progress_pct) for r in result.rows] == [
        (leads["1"].id, "Math", 40),
        (leads["2"].id, "English", 85),
        (leads["1"].id, "Politics", 10),
    ]
    assert stored(db) == []
    done = apply_learning_import(db, company.actor(db, "mkt"), result, "good_rows")
    assert (done.stored, done.counts["new"], done.counts["rejected"]) == (True, 3, 0)
    assert stored(db) == [
        (leads["1"].id, "Math", 40, date(2026, 11, 20), None),
        (leads["1"].id, "Politics", 10, None, None),
        (leads["2"].id, "English", 85, date(2026, 11, 29), leads["2"].customer_id),
    ]
    entry = db.exec(select(AuditLog).where(AuditLog.action == "learning.import")).one()
    assert entry.after["counts"]["new"] == 3


def test_every_bad_row_is_reported_with_its_column_and_reason(db, company, leads):
    result = preview(
        db,
        company,
        "\n".join(
            [
                ",,Math,10,2026-11-01",  # 2: nobody
                "12345,,Math,10,2026-11-01",  # 3: not a phone
                f"{phone(77)},,Math,10,2026-11-01",  # 4: no such lead
                ",U404,Math,10,2026-11-01",  # 5: no such customer
                ",U9,Math,10,2026-11-01",  # 6: customer without a lead
                f"{phone(1)},U2,Math,10,2026-11-01",  # 7: two different people
                f"{phone(1)},,,10,2026-11-01",  # 8: no course
                f"{phone(1)},,Math,120,2026-11-01",  # 9: progress out of range
                f"{phone(1)},,Math,lots,2026-11-01",  # 10: progress not a number
                f"{phone(1)},,Math,10,2026-13-01",  # 11: bad date
                f"{phone(1)},,Math,10,2026-12-01",  # 12: tomorrow
                f"{phone(1)},,Math,10,2026-11-01",  # 13: good
                f"+86 {phone(1)},,Math,20,2026-11-02",  # 14: the same person and course again
                ",U2,English,50,2026-11-30",  # 15: good (today is not in the future)
            ]
        )
        + "\n",
    )
    reasons = [(i.row, i.field, i.key) for i in result.issues]
    assert reasons == [
        (2, "", "Neither a phone nor a customer id: the row names no student."),
        (3, "phone", "“{phone}” is not a phone number."),
        (4, "phone", "No lead has the phone {phone}."),
        (5, "customer_id", "No customer has the id “{customer}”."),
        (6, "customer_id", "Customer “{customer}” is linked to no lead."),
        (7, "customer_id", "Customer “{customer}” and phone {phone} belong to different leads."),
        (8, "course", "The course is missing."),
        (9, "progress_pct", "“{value}” is not a progress from 0 to 100."),
        (10, "progress_pct", "“{value}” is not a progress from 0 to 100."),
        (11, "last_studied_on", "“{value}” is not a date like 2026-11-30."),
        (12, "last_studied_on", "{value} is in the future."),
        (14, "course", "The student's course “{course}” is already in row {first_row}."),
    ]
    assert [r.row for r in result.rows] == [13, 15]
    assert {i.column for i in result.issues if i.field == "phone"} == {"phone"}
    duplicate = result.issues[-1]
    assert duplicate.params == {"course": "Math", "first_row": 13}
    # A reader without view_full_phone sees every phone masked, also in the reasons.
    no_lead = result.issues[2]
    assert no_lead.params["phone"] == "1****0077"
    assert all("13800000077" not in str(i.params) for i in result.issues)
    assert result.rows[0].phone == "1****0001"


def test_all_or_nothing_stores_nothing_while_a_row_is_bad(db, company, leads):
    text = f"{phone(1)},,Math,40,2026-11-20\n{phone(1)},,Physics,abc,2026-11-20\n"
    mkt = company.actor(db, "mkt")
    refused = apply_learning_import(db, mkt, preview(db, company, text), "all_or_nothing")
    # refused: the counts say what the file held; nothing is stored
    assert (refused.refused, refused.counts["rejected"], refused.counts["new"]) == (True, 1, 1)
    assert stored(db) == []
    done = apply_learning_import(db, mkt, preview(db, company, text), "good_rows")
    assert (done.counts["new"], done.counts["rejected"]) == (1, 1)
    assert [row[1] for row in stored(db)] == ["Math"]


def test_a_re_import_updates_to_the_newer_values_and_never_back(db, company, leads):
    mkt = company.actor(db, "mkt")
    first = (
        f"{phone(1)},,Math,40,2026-11-20\n{phone(1)},,Politics,10,2026-11-20\n"
        f"{phone(1)},,English,30,2026-11-20\n"
    )
    apply_learning_import(db, mkt, preview(db, company, first), "good_rows")
    again = preview(
        db,
        company,
        f"{phone(1)},,Math,55,2026-11-28\n"  # newer: updated
        f"{phone(1)},,Politics,5,2026-11-01\n"  # older: kept
        f"{phone(1)},,English,30,2026-11-20\n"  # the same
        f"{phone(1)},,Chinese,1,2026-11-28\n",
    )
    assert [r.category for r in again.rows] == ["updated", "older", "unchanged", "new"]
    # Meanwhile another import stored a later study of Math: that one stays too.
    db.exec(
        update(LearningActivity)
        .where(LearningActivity.course == "Math")
        .values(progress_pct=60, last_studied_on=date(2026, 11, 29))
    )
    db.commit()
    done = apply_learning_import(db, mkt, again, "good_rows")
    assert (
        done.counts["new"],
        done.counts["updated"],
        done.counts["unchanged"],
        done.counts["older"],
    ) == (1, 1, 1, 1)
    lead = leads["1"].id
    assert stored(db) == [
        (lead, "Chinese", 1, date(2026, 11, 28), None),
        (lead, "English", 30, date(2026, 11, 20), None),
        (lead, "Math", 60, date(2026, 11, 29), None),
        (lead, "Politics", 10, date(2026, 11, 20), None),
    ]
    assert db.exec(select(func.count()).select_from(LearningActivity)).one() == 4


def test_the_rejected_rows_file_masks_phones_and_neutralises_formulas(db, company, leads):
    text = f'{phone(77)},,=HYPERLINK("x"),10,2026-11-01\n{phone(1)},,Math,10,2026-11-01\n'
    masked = rejected_learning_rows_csv(company.actor(db, "mkt"), preview(db, company, text), "en")
    rows = list(csv.reader(io.StringIO(masked.decode("utf-8-sig"))))
    assert rows[0] == [
        "Row",
        "phone",
        "customer id",
        "course",
        "progress %",
        "last study date",
        "Reason",
    ]
    assert rows[1][:4] == ["2", "1****0077", "", '\'=HYPERLINK("x")']
    assert rows[1][-1] == "phone: No lead has the phone 1****0077."
    assert len(rows) == 2
    admin = rejected_learning_rows_csv(
        company.actor(db, "admin"), preview(db, company, text, user="admin"), "zh"
    )
    assert "+8613800000077" in admin.decode("utf-8-sig")


def test_the_import_needs_manage_customers_and_finds_only_leads_in_scope(db, company, leads):
    with pytest.raises(PermissionDenied):
        preview(db, company, f"{phone(1)},,Math,10,2026-11-01\n", user="rep_a1")
    with pytest.raises(ValidationError) as error:  # the preview is the importer's own
        by_mkt = preview(db, company, f"{phone(1)},,Math,1,\n")
        apply_learning_import(db, company.actor(db, "admin"), by_mkt, "good_rows")
    assert error.value.key == "This preview was made by another user. Upload the file again."
    # A customer manager of Team A reaches only Team A's leads.
    admin = company.actor(db, "admin")
    save_role(
        db,
        admin,
        code="team_customers",
        name="Team customers",
        permissions=["manage_customers", "view_leads"],
        data_scope="team",
    )
    company.users["cm_a"] = create_user(
        db,
        SYSTEM,
        username="cm_a",
        full_name="Cm A",
        employee_no="E0101",
        password=PASSWORD,
        org_unit_id=company.units["team_a"].id,
        role_codes=["team_customers"],
    )
    db.commit()
    result = preview(
        db, company, f"{phone(1)},,Math,10,\n{phone(3)},,Math,10,\n,U2,Math,1,\n", user="cm_a"
    )
    assert [r.lead_id for r in result.rows] == [leads["1"].id]
    assert [i.key for i in result.issues] == [
        "No lead has the phone {phone}.",
        "Customer “{customer}” is linked to no lead.",
    ]


def test_a_merged_leads_phone_finds_the_lead_it_was_merged_into(db, company, leads):
    merge_leads(db, SYSTEM, leads["3"].id, leads["1"].id)  # lead 3 keeps its own phone
    result = preview(db, company, f"{phone(1)},,Math,10,2026-11-01\n")
    assert [r.lead_id for r in result.rows] == [leads["3"].id]


def test_reading_keeps_to_the_scope_and_shows_the_latest_study_first(db, company, leads):
    mkt = company.actor(db, "mkt")
    apply_learning_import(
        db,
        mkt,
        preview(
            db,
            company,
            (
                f"{phone(1)},,Math,85,2026-11-29\n{phone(1)},,Politics,30,2026-11-01\n"
                f"{phone(1)},,English,0,\n{phone(1)},,Chinese,50,2026-11-25\n"
            ),
        ),
        "good_rows",
    )
    activity = learning_for_lead(db, company.actor(db, "rep_a1"), leads["1"].id)
    assert [(a.course, a.progress_pct, a.days_since, a.hint) for a in activity] == [
        ("Math", 85, 1, "finishing"),
        ("Chinese", 50, 5, "steady"),
        ("Politics", 30, 29, "idle"),
        ("English", 0, None, "not_started"),
    ]
    assert learning_for_lead(db, company.actor(db, "lead_a"), leads["1"].id)
    assert learning_for_lead(db, company.actor(db, "rep_a1"), leads["1"].id)[
        0
    ].last_studied_on == date(2026, 11, 29)
    with pytest.raises(NotFound):
        learning_for_lead(db, company.actor(db, "rep_b1"), leads["1"].id)
    with pytest.raises(NotFound):
        learning_for_lead(db, company.actor(db, "lead_a"), leads["3"].id)
    assert learning_for_lead(db, company.actor(db, "rep_b1"), leads["2"].id) == []
