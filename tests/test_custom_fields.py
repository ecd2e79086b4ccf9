"""Custom fields on leads and opportunities: defined by metadata managers (audited), read from
file cells in every spelling, set on one row within the scope (required fields enforced),
written set-based for imports, seen only by their roles, kept when disabled."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from crm_core.custom_fields.cells import import_columns, parse_cell
from crm_core.custom_fields.definitions import ChoiceDraft, define_field, list_fields, update_field
from crm_core.custom_fields.values import set_values, values_for, write_values
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.models import AuditLog, LeadFieldValue
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, placeholder_set
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import add_owned_opportunity, build_small_company

PLACEHOLDERS = placeholder_set(DEFAULT_PLACEHOLDERS)
LEVELS = [
    ChoiceDraft("Bachelor", "本科", "bachelor"),
    ChoiceDraft("Master", "硕士", "master"),
    ChoiceDraft("Doctor", "博士", "doctor"),
]


@pytest.fixture
def company(db):
    return build_small_company(db)


def _fields(db, admin):
    return {
        "school": define_field(db, admin, "lead", label_en="School", label_zh="学校", kind="text"),
        "budget": define_field(
            db, admin, "lead", label_en="Budget", label_zh="预算", kind="number"
        ),
        "exam": define_field(
            db, admin, "lead", label_en="Exam date", label_zh="考试日期", kind="date"
        ),
        "working": define_field(
            db, admin, "lead", label_en="Working", label_zh="在职", kind="yes_no"
        ),
        "degree": define_field(
            db, admin, "lead", label_en="Degree", label_zh="学历", kind="choice", choices=LEVELS
        ),
        "subjects": define_field(
            db,
            admin,
            "lead",
            label_en="Subjects",
            label_zh="科目",
            kind="multi_choice",
            choices=[ChoiceDraft("Math", "数学"), ChoiceDraft("English", "英语")],
        ),
    }


def test_an_administrator_defines_fields_audited_and_unique(db, company):
    admin = company.actor(db, "admin")
    fields = _fields(db, admin)
    assert fields["school"].code == "school" and fields["degree"].choices[1]["code"] == "master"
    assert [f.code for f in list_fields(db, "lead")] == list(
        ["school", "budget", "exam_date", "working", "degree", "subjects"]
    )
    with pytest.raises(ValidationError) as taken:
        define_field(db, admin, "lead", label_en="SCHOOL", kind="text")
    assert taken.value.key == "There is already a field {code}."
    with pytest.raises(ValidationError):
        define_field(db, admin, "lead", label_en="Level", kind="choice")  # no choices
    with pytest.raises(ValidationError):
        define_field(db, admin, "customer", label_en="X", kind="text")
    with pytest.raises(PermissionDenied):
        define_field(db, company.actor(db, "rep_a1"), "lead", label_en="X", kind="text")
    entries = db.exec(select(AuditLog).where(AuditLog.action == "custom_field.create")).all()
    assert len(entries) == 6


def test_cells_read_every_spelling_and_refuse_clearly(db, company):
    f = _fields(db, company.actor(db, "admin"))
    assert parse_cell(f["budget"], "12,500.5", PLACEHOLDERS) == 12500.5
    assert parse_cell(f["budget"], "１２３", PLACEHOLDERS) == 123.0
    assert parse_cell(f["exam"], "2026/3/31 10:00", PLACEHOLDERS) == date(2026, 3, 31)
    assert parse_cell(f["exam"], "2026年3月1日", PLACEHOLDERS) == date(2026, 3, 1)
    for yes in ("Yes", "y", "TRUE", "1", "是"):
        assert parse_cell(f["working"], yes, PLACEHOLDERS) is True
    for no in ("no", "0", "否", "False"):
        assert parse_cell(f["working"], no, PLACEHOLDERS) is False
    assert parse_cell(f["degree"], "MASTER", PLACEHOLDERS) == "master"
    assert parse_cell(f["degree"], "博士", PLACEHOLDERS) == "doctor"
    assert parse_cell(f["subjects"], "数学、English; math", PLACEHOLDERS) == ("math", "english")
    for blank in ("", "  ", "Select", "N/A", "-"):
        assert parse_cell(f["degree"], blank, PLACEHOLDERS) is None
    for field, bad, key in (
        ("budget", "about 10k", "{field}: “{value}” is not a number."),
        ("exam", "31/03/2026", "{field}: “{value}” is not a date (for example 2026-03-31)."),
        ("working", "maybe", "{field}: “{value}” is neither yes nor no."),
        ("degree", "Primary", "{field}: “{value}” is not one of the choices."),
        ("subjects", "Math|Art", "{field}: “{value}” is not one of the choices."),
    ):
        with pytest.raises(ValidationError) as refused:
            parse_cell(f[field], bad, PLACEHOLDERS)
        assert refused.value.key == key and refused.value.params["field"] == f[field].code


def test_values_are_set_in_scope_and_required_fields_enforced(db, company):
    admin = company.actor(db, "admin")
    f = _fields(db, admin)
    update_field(db, admin, f["degree"].id, required=True)
    mine = add_owned_opportunity(db, company, "rep_a1", 1).lead_id
    theirs = add_owned_opportunity(db, company, "rep_c1", 2).lead_id
    rep = company.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as missing:
        set_values(db, rep, "lead", mine, {"school": "PKU"})
    assert missing.value.key == "{field} is required." and missing.value.params == {
        "field": "degree"
    }
    held = set_values(
        db,
        rep,
        "lead",
        mine,
        {"school": "PKU", "degree": "本科", "budget": "8,000", "subjects": ["math", "english"]},
    )
    assert held["degree"] == "bachelor"
    assert values_for(db, rep, "lead", [mine])[mine] == {
        "school": "PKU",
        "budget": 8000.0,
        "degree": "bachelor",
        "subjects": ("math", "english"),
    }
    with pytest.raises(NotFound):
        set_values(db, rep, "lead", theirs, {"school": "x", "degree": "master"})
    # Another rep reads nothing of a lead outside their reach.
    assert values_for(db, company.actor(db, "rep_c1"), "lead", [mine]) == {}
    entry = db.exec(select(AuditLog).where(AuditLog.action == "lead.custom_fields")).one()
    assert entry.after["subjects"] == ["math", "english"]


def test_roles_that_see_a_field(db, company):
    admin = company.actor(db, "admin")
    secret = define_field(
        db, admin, "lead", label_en="Income", kind="number", role_codes=["sales_manager"]
    )
    open_field = define_field(db, admin, "lead", label_en="Hobby", kind="text")
    lead = add_owned_opportunity(db, company, "rep_a1", 1).lead_id
    write_values(db, "lead", {lead: {secret.id: 9000.0, open_field.id: "chess"}})
    rep, manager = company.actor(db, "rep_a1"), company.actor(db, "bj_manager")
    assert [f.code for f in fields_visible_to(db, rep, "lead")] == ["hobby"]
    assert values_for(db, rep, "lead", [lead])[lead] == {"hobby": "chess"}
    assert values_for(db, manager, "lead", [lead])[lead] == {"income": 9000.0, "hobby": "chess"}
    with pytest.raises(ValidationError):
        set_values(db, rep, "lead", lead, {"income": "1"})
    assert set(import_columns(db, rep, "lead")) == {"hobby"}
    assert import_columns(db, manager, "lead")["income"] == ["income", "Income"]
    with pytest.raises(ValidationError):
        define_field(db, admin, "lead", label_en="Y", kind="text", role_codes=["nobody"])


def test_disabled_fields_and_choices_stay_on_rows(db, company):
    admin = company.actor(db, "admin")
    f = _fields(db, admin)
    lead = add_owned_opportunity(db, company, "rep_a1", 1).lead_id
    write_values(db, "lead", {lead: {f["degree"].id: "doctor", f["school"].id: "THU"}})
    update_field(db, admin, f["degree"].id, choices=LEVELS[:2])  # doctor left out: disabled
    degree = update_field(db, admin, f["degree"].id)
    assert [c["code"] for c in degree.choices if not c["active"]] == ["doctor"]
    with pytest.raises(ValidationError):
        parse_cell(degree, "Doctor", PLACEHOLDERS)
    update_field(db, admin, f["school"].id, active=False)
    rep = company.actor(db, "rep_a1")
    assert "school" not in {x.code for x in fields_visible_to(db, rep, "lead")}
    kept = values_for(db, rep, "lead", [lead], include_disabled=True)[lead]
    assert kept == {"school": "THU", "degree": "doctor"}
    # A field holding values keeps its kind; an empty one may change.
    with pytest.raises(ValidationError) as in_use:
        update_field(db, admin, f["degree"].id, kind="text")
    assert in_use.value.key == "The field {code} holds values, so its kind cannot change."
    assert update_field(db, admin, f["budget"].id, kind="text").kind == "text"


def test_write_values_replaces_only_the_given_fields(db, company):
    f = _fields(db, company.actor(db, "admin"))
    leads = [add_owned_opportunity(db, company, "rep_a1", i).lead_id for i in range(1, 4)]
    write_values(
        db,
        "lead",
        {
            lead: {f["budget"].id: float(i), f["subjects"].id: ("math", "english")}
            for i, lead in enumerate(leads)
        },
    )
    write_values(db, "lead", {leads[0]: {f["subjects"].id: ("english",), f["budget"].id: None}})
    rows = db.exec(select(LeadFieldValue).where(LeadFieldValue.lead_id == leads[0])).all()
    assert [(r.field_id, r.text_value) for r in rows] == [(f["subjects"].id, "english")]
    # The other two leads keep their three rows each (a number and two choices).
    assert len(db.exec(select(LeadFieldValue)).all()) == 1 + 2 * 3


def test_filters_find_the_same_leads_either_way_and_on_the_board(db, company):
    from sqlmodel import col

    from crm_core.custom_fields.filters import condition
    from crm_core.leads.search import LeadFilter, count_matching, lead_conditions, search_leads
    from crm_core.models import Lead
    from crm_core.sales.board import BoardFilter, list_board

    admin = company.actor(db, "admin")
    f = _fields(db, admin)
    stage = define_field(
        db, admin, "opportunity", label_en="Source event", kind="text", code="event"
    )
    opps = [add_owned_opportunity(db, company, "rep_a1", i) for i in range(1, 6)]
    leads = [o.lead_id for o in opps]
    write_values(
        db,
        "lead",
        {
            leads[0]: {f["school"].id: "Peking University", f["budget"].id: 100.0},
            leads[1]: {f["school"].id: "Tsinghua", f["budget"].id: 250.0},
            leads[2]: {f["exam"].id: date(2026, 3, 1), f["working"].id: True},
            leads[3]: {f["working"].id: False, f["degree"].id: "master"},
            leads[4]: {f["subjects"].id: ("math", "english"), f["degree"].id: "doctor"},
        },
    )
    write_values(db, "opportunity", {opps[1].id: {stage.id: "Expo 2026"}})
    rep = company.actor(db, "rep_a1")
    cases = [
        (condition(f["school"], "contains", "univ"), [leads[0]]),
        (condition(f["school"], "equals", "Tsinghua"), [leads[1]]),
        (condition(f["budget"], "between", (100, 200)), [leads[0]]),
        (condition(f["budget"], "between", (150, None)), [leads[1]]),
        (condition(f["exam"], "between", (date(2026, 1, 1), date(2026, 12, 31))), [leads[2]]),
        (condition(f["working"], "is", False), [leads[3]]),
        (condition(f["degree"], "any_of", ("master", "doctor")), [leads[3], leads[4]]),
        (condition(f["subjects"], "any_of", ("english",)), [leads[4]]),
    ]
    for made, expected in cases:
        lead_filter = LeadFilter(custom=(made,))
        found = search_leads(db, rep, lead_filter, sort="oldest")
        assert [r.id for r in found.rows] == expected, made
        assert count_matching(db, rep, lead_filter) == (len(expected), False)
        # Asked per lead (a value many leads share), the same leads match.
        per_lead = db.exec(
            select(Lead.id)
            .where(*lead_conditions(rep, lead_filter, broad_custom=frozenset({made})))
            .order_by(col(Lead.id))
        ).all()
        assert list(per_lead) == expected
    assert condition(f["school"], "contains", "  ") is None
    with pytest.raises(ValidationError):
        condition(f["budget"], "contains", "1")
    # Another rep's reach holds none of them; a hidden field cannot be filtered by.
    other = company.actor(db, "rep_c1")
    assert search_leads(db, other, LeadFilter(custom=(cases[0][0],))).rows == []
    hidden = define_field(db, admin, "lead", label_en="Hidden", kind="text", role_codes=["admin"])
    with pytest.raises(ValidationError):
        search_leads(db, rep, LeadFilter(custom=(condition(hidden, "equals", "x"),)))
    # The board: by the opportunity's own field and by its lead's.
    board = list_board(db, rep, BoardFilter(custom=(condition(stage, "contains", "expo"),)))
    assert [r.opportunity_id for r in board] == [opps[1].id]
    board = list_board(db, rep, BoardFilter(custom=(cases[6][0],)))
    assert sorted(r.opportunity_id for r in board) == [opps[3].id, opps[4].id]
