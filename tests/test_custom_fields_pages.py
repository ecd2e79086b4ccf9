"""Custom fields on pages: an administrator defines one, the lead card shows and saves a
value, the library filters by it, a rep cannot open the admin page; the export carries a
column per field the reader sees."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from crm_core.custom_fields.definitions import ChoiceDraft, define_field
from crm_core.custom_fields.values import write_values
from crm_core.leads.export import export_leads
from crm_core.leads.search import LeadFilter
from crm_core.models import CustomField, LeadFieldValue
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import translate
from tests.apptest import assert_page_refused, login
from tests.factories import add_owned_opportunity

ADMIN_PAGE = "pages/admin/custom_fields.py"
LIBRARY = "pages/leads/library.py"


@pytest.fixture
def leads(app_env, db):
    return [
        add_owned_opportunity(db, app_env, owner, tail)
        for owner, tail in (("rep_a1", 1), ("rep_a1", 2), ("rep_b1", 3))
    ]


def test_an_administrator_defines_a_field_on_the_page(app_env, db):
    at = login("admin")
    at.switch_page(ADMIN_PAGE).run()
    assert not at.exception, at.exception
    at.text_input(key="cf_add_en").input("Degree")
    at.text_input(key="cf_add_zh").input("学历")
    at.selectbox(key="cf_add_kind").set_value("choice")
    at.text_area(key="cf_add_choices").input("Bachelor | 本科\nMaster | 硕士 | master")
    at.button(key="FormSubmitter:cf_add-" + translate("Add field", "zh")).click().run()
    assert not at.exception, at.exception
    field = db.exec(select(CustomField).where(CustomField.code == "degree")).one()
    assert field.kind == "choice" and [c["code"] for c in field.choices] == ["bachelor", "master"]
    assert any(translate("Field added.", "zh") in s.value for s in at.success)
    assert_page_refused(login("rep_a1"), ADMIN_PAGE)


def test_the_card_saves_a_value_and_the_library_filters_by_it(leads, db):
    system = Actor.system()
    degree = define_field(
        db,
        system,
        "lead",
        label_en="Degree",
        label_zh="学历",
        kind="choice",
        choices=[ChoiceDraft("Bachelor", "本科"), ChoiceDraft("Master", "硕士")],
    )
    school = define_field(db, system, "lead", label_en="School", label_zh="学校", kind="text")
    write_values(db, "lead", {leads[1].lead_id: {degree.id: "bachelor"}})
    db.commit()
    at = login("rep_a1")
    at.switch_page(LIBRARY).run()
    at.selectbox(key="leads_open").set_value(leads[0].lead_id).run()
    assert not at.exception, at.exception
    key = f"cf_lead_{leads[0].lead_id}_{degree.id}"
    at.selectbox(key=key).set_value("master")
    at.text_input(key=f"cf_lead_{leads[0].lead_id}_{school.id}").input("PKU")
    form = f"custom_fields_lead_{leads[0].lead_id}"
    at.button(key=f"FormSubmitter:{form}-" + translate("Save fields", "zh")).click().run()
    assert not at.exception, at.exception
    held = db.exec(
        select(LeadFieldValue.field_id, LeadFieldValue.text_value).where(
            LeadFieldValue.lead_id == leads[0].lead_id
        )
    ).all()
    assert sorted(held) == sorted([(degree.id, "master"), (school.id, "PKU")])
    assert any("PKU" in m.value for m in at.markdown)
    # The library: only the lead holding "master".
    at.multiselect(key=f"leads_q_custom_{degree.id}").set_value(["master"])
    at.button(key="FormSubmitter:leads_search-" + translate("Search", "zh")).click().run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "#" in d.value.columns)
    assert list(table["#"]) == [leads[0].lead_id]


def test_the_export_has_a_column_per_visible_field(leads, db, app_env):
    system = Actor.system()
    budget = define_field(db, system, "lead", label_en="Budget", label_zh="预算", kind="number")
    secret = define_field(
        db, system, "lead", label_en="Income", kind="number", role_codes=["qa_inspector"]
    )
    gone = define_field(db, system, "lead", label_en="Old", kind="yes_no")
    write_values(
        db,
        "lead",
        {
            leads[0].lead_id: {budget.id: 8000.0, secret.id: 1.0, gone.id: True},
            leads[1].lead_id: {budget.id: 12.5},
        },
    )
    from crm_core.custom_fields.definitions import update_field  # noqa: PLC0415

    update_field(db, system, gone.id, active=False)
    manager = app_env.actor(db, "bj_manager")
    export = export_leads(db, manager, LeadFilter(), "csv", "en", sort="oldest")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["Budget", "Old"]  # not Income: only QA inspectors see it
    by_id = {int(r[0]): r for r in rows[1:]}
    assert by_id[leads[0].lead_id][-2:] == ["8000.0", "Yes"]
    assert by_id[leads[1].lead_id][-2:] == ["12.5", ""]
