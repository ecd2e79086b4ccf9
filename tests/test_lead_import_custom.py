"""Custom fields in the lead import: the web-lead export's behavioural attributes land in the
company's fields (numbers, choices through value mapping with `Select` placeholders, yes /
no), bad cells are bad rows, required fields hold for new people, and the page maps them."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.custom_fields.cells import NOT_A_NUMBER
from crm_core.custom_fields.definitions import ChoiceDraft, define_field
from crm_core.custom_fields.values import FIELD_REQUIRED, values_for
from crm_core.imports.leads import (
    ImportOptions,
    guess_columns,
    lead_fields,
    preview_import,
    run_import,
    value_columns,
)
from crm_core.imports.leads.custom import UNMAPPED_CHOICE
from crm_core.imports.tabular import read_table
from crm_core.models import ImportValueMap, Lead, Opportunity, User
from crm_core.org.access import load_actor
from crm_core.org.setup import create_company
from crm_core.platform.errors import ValidationError
from crm_core.platform.metadata import create_business_line
from crm_core.platform.permissions import Permission
from tests.apptest import signed_in
from tests.test_lead_import_page import value_box

DATA = Path(__file__).parent / "data"
OCCUPATIONS = ("Unemployed", "Working Professional", "Student")
ACTIVITIES = ("Email Opened", "SMS Sent", "Olark Chat Conversation", "Page Visited on Website")


def define_web_fields(db, admin, *, occupation_required: bool = False) -> dict:
    """The fields a company defines for the web-lead export's attributes."""
    made = {}
    for label in ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"):
        made[label] = define_field(db, admin, "lead", label_en=label, kind="number")
    made["Last Activity"] = define_field(
        db,
        admin,
        "lead",
        label_en="Last Activity",
        kind="choice",
        choices=[ChoiceDraft(a) for a in ACTIVITIES],
    )
    # The choices are named differently from the export's values: value mapping joins them.
    made["Specialization"] = define_field(
        db,
        admin,
        "lead",
        label_en="Specialization",
        label_zh="专业方向",
        kind="choice",
        choices=[ChoiceDraft("Finance", code="finance"), ChoiceDraft("Marketing", code="mkt")]
        + [ChoiceDraft("IT projects", code="it")],
    )
    made["What is your current occupation"] = define_field(
        db,
        admin,
        "lead",
        label_en="What is your current occupation",
        kind="choice",
        required=occupation_required,
        choices=[ChoiceDraft(o) for o in OCCUPATIONS],
    )
    made["Do Not Email"] = define_field(db, admin, "lead", label_en="Do Not Email", kind="yes_no")
    made["Lead Origin"] = define_field(
        db,
        admin,
        "opportunity",
        label_en="Lead Origin",
        kind="choice",
        choices=[ChoiceDraft(o) for o in ("API", "Landing Page Submission", "Lead Add Form")]
        + [ChoiceDraft("Lead Import")],
    )
    db.commit()
    return made


SPECIALISATION_MAP = {
    "finance management": "finance",
    "marketing management": "mkt",
    "it projects": "it",
}


@pytest.fixture
def clean_start(db):
    made = create_company(
        db,
        company_name="Web Education Ltd",
        time_zone="Asia/Kolkata",
        currency="INR",
        admin_username="admin",
        admin_password="Secret-pass-123",
    )
    admin = load_actor(db, made.admin_user_id)
    line = create_business_line(db, admin, name="Online courses")
    db.commit()
    return admin, line


def _options(frame, fields, line, **extra) -> ImportOptions:
    # The sources are another test's matter: every row takes the file's channel here.
    mapping = dict(guess_columns(frame.columns, fields), channel=None)
    return ImportOptions(
        mapping=mapping,
        default_channel="import",
        default_line_codes=(line.code,),
        value_choices={
            "stage": {"1": "won", "0": "lost"},
            "lead.specialization": SPECIALISATION_MAP,
        },
        **extra,
    )


def _rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO((DATA / "web_leads.csv").read_text("utf-8"))))


def test_web_lead_attributes_land_in_custom_fields(db, clean_start):
    admin, line = clean_start
    made = define_web_fields(db, admin)
    data = (DATA / "web_leads.csv").read_bytes()
    frame, rows = read_table(data, "web_leads.csv"), _rows()
    fields = lead_fields(db, admin)
    options = _options(frame, fields, line)
    assert options.mapping["lead.totalvisits"] == "TotalVisits"
    assert options.mapping["lead.specialization"] == "Specialization"
    assert options.mapping["opportunity.lead_origin"] == "Lead Origin"
    assert options.mapping["lead.do_not_email"] == "Do Not Email"
    # The choice column's distinct values with their counts; `Select` and blanks are none.
    listed = {v.key: v for v in value_columns(db, admin, frame, options)["lead.specialization"]}
    assert set(listed) == set(SPECIALISATION_MAP)
    assert listed["finance management"].rows == sum(
        r["Specialization"] == "Finance Management" for r in rows
    )
    assert listed["finance management"].code == "finance"

    preview = preview_import(db, admin, frame, options)
    assert preview.issues == []
    report = run_import(db, admin, frame, options)
    assert report.counts["created"] == len(rows)

    leads = dict(db.exec(select(Lead.external_id, Lead.id)).all())
    stored = values_for(db, admin, "lead", leads.values())
    spec_of = {"Finance Management": "finance", "Marketing Management": "mkt"}
    spec_of["IT Projects"] = "it"
    for row in rows:
        held = stored.get(leads[row["Lead Number"]], {})
        assert held["totalvisits"] == float(row["TotalVisits"])
        assert held["page_views_per_visit"] == pytest.approx(float(row["Page Views Per Visit"]))
        assert held["do_not_email"] is (row["Do Not Email"] == "Yes")
        assert held.get("specialization") == spec_of.get(row["Specialization"])
        occupation = row["What is your current occupation"]
        assert held.get("what_is_your_current_occupation") == (
            made["What is your current occupation"].choices[OCCUPATIONS.index(occupation)]["code"]
            if occupation
            else None
        )
    # The opportunity's field is on the row's opportunity.
    opportunities = dict(db.exec(select(Opportunity.id, Opportunity.lead_id)).all())
    origins = values_for(db, admin, "opportunity", opportunities)
    origin_of = {o.lead_id: o.id for o in db.exec(select(Opportunity)).all()}
    first = rows[0]
    opp = origin_of[leads[first["Lead Number"]]]
    assert (
        origins[opp]["lead_origin"]
        == (
            made["Lead Origin"].choices[
                ("API", "Landing Page Submission", "Lead Add Form", "Lead Import").index(
                    first["Lead Origin"]
                )
            ]["code"]
        )
    )
    # The choices made for the field are remembered for the next file.
    remembered = db.exec(
        select(ImportValueMap.source_key).where(
            ImportValueMap.category == f"field:{made['Specialization'].id}"
        )
    ).all()
    assert set(remembered) == set(SPECIALISATION_MAP)


def _small_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Lead Number", "Lead Source", "TotalVisits", "Specialization", "Occupation"])
    writer.writerows(rows)
    return out.getvalue().encode()


def test_bad_cells_are_bad_rows_and_required_fields_hold_for_new_people(db, clean_start):
    admin, line = clean_start
    define_web_fields(db, admin, occupation_required=True)
    data = _small_file(
        [
            ["1001", "Google", "12", "Finance Management", "Student"],
            ["1002", "Google", "many", "Finance Management", "Student"],
            ["1003", "Google", "3", "Astrology", "Student"],
            ["1004", "Google", "3", "Select", "Select"],
        ]
    )
    frame = read_table(data, "small.csv")
    fields = lead_fields(db, admin)
    options = _options(frame, fields, line)
    options.mapping["lead.what_is_your_current_occupation"] = "Occupation"
    report = preview_import(db, admin, frame, options)
    issues = {i.row: i for i in report.issues}
    assert set(issues) == {3, 4, 5}
    assert (issues[3].column, issues[3].reason) == ("TotalVisits", NOT_A_NUMBER)
    assert issues[3].params == {"field": "totalvisits", "value": "many"}
    assert (issues[4].column, issues[4].reason) == ("Specialization", UNMAPPED_CHOICE)
    assert issues[5].reason == FIELD_REQUIRED
    assert issues[5].column == "Occupation"
    run_import(db, admin, frame, options)
    # A known person may come again without the required field: they keep what they have.
    again = read_table(_small_file([["1001", "Google", "14", "", ""]]), "again.csv")
    report = preview_import(db, admin, again, _options(again, fields, line))
    assert report.issues == []


def test_a_field_the_importer_does_not_see_cannot_be_mapped(db, clean_start):
    admin, line = clean_start
    define_field(db, admin, "lead", label_en="Secret score", kind="number", role_codes=["admin"])
    db.commit()
    assert "lead.secret_score" in {f.name for f in lead_fields(db, admin)}
    frame = read_table(_small_file([["1", "Google", "1", "", ""]]), "f.csv")
    # The same importer without the administrator's role does not see the field.
    outsider = replace(
        admin,
        role_codes=("marketing",),
        permissions=frozenset({Permission.IMPORT_LEADS.value, Permission.CREATE_LEADS.value}),
    )
    assert "lead.secret_score" not in {f.name for f in lead_fields(db, outsider)}
    options = _options(frame, lead_fields(db, admin), line)
    options.mapping["lead.secret_score"] = "TotalVisits"
    with pytest.raises(ValidationError):
        preview_import(db, outsider, frame, options)


def test_the_page_maps_custom_fields_and_their_choices(app_env, db):
    admin = load_actor(db, db.exec(select(User.id).where(User.username == "admin")).one())
    made = define_web_fields(db, admin)
    lines = (DATA / "web_leads.csv").read_bytes().splitlines()
    at: AppTest = signed_in("admin")
    at.switch_page("pages/leads/lead_import.py").run()
    at.file_uploader[0].upload("web.csv", b"\n".join(lines[:31]) + b"\n", "text/csv")
    at.run()
    assert not at.exception, at.exception
    next(
        m for m in at.multiselect if m.key.startswith("lead_import_default_business_line_")
    ).select("kaoyan").run()
    channel = next(
        s for s in at.selectbox if (s.key or "").startswith("lead_import_default_channel_")
    )
    channel.select("import").run()
    # The sources are left out: every row takes the file's channel.
    next(s for s in at.selectbox if (s.key or "").startswith("lead_import_map_channel_")).select(
        ""
    ).run()
    assert not at.exception, at.exception
    box = next(
        s for s in at.selectbox if (s.key or "").startswith("lead_import_map_lead.totalvisits_")
    )
    assert box.value == "TotalVisits"
    # The choice field's values are listed for mapping, `Select` is none of them.
    spec_boxes = [
        s
        for s in at.selectbox
        if (s.key or "").startswith("lead_import_values_lead.specialization_")
    ]
    keys = {s.key.rsplit("_", 1)[1] for s in spec_boxes}
    assert "select" not in keys and "finance management" in keys
    for value, code in SPECIALISATION_MAP.items():
        value_box(at, "lead.specialization", value).select(code).run()
    value_box(at, "stage", "1").select("won").run()
    value_box(at, "stage", "0").select("lost").run()
    assert not at.exception, at.exception
    assert not at.warning  # every row is good
    at.button(key="lead_import_import").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    ids = db.exec(select(Lead.id).where(Lead.external_id.is_not(None))).all()
    stored = values_for(db, admin, "lead", ids)
    assert stored and all("totalvisits" in v for v in stored.values())
    assert {v.get("specialization") for v in stored.values()} <= {None, "finance", "mkt", "it"}
    assert made["Specialization"].id
