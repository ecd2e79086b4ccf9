"""A lead typed in by hand is offered for the lines its adder works in, their own first;
kept for oneself, it must be of such a line."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.leads.intake import REJECTED, LeadInput, intake_leads
from crm_core.models import BusinessLine, Opportunity, OrgUnit
from crm_core.org.lines import worked_lines
from crm_core.platform.i18n import translate
from tests.apptest import signed_in
from tests.factories import build_small_company


def split_by_line(session, company) -> BusinessLine:
    """Beijing sells Postgraduate exams, Shanghai Workplace English."""
    english = BusinessLine(code="english", name="Workplace English")
    session.add(english)
    session.flush()
    for unit, line in (("beijing", company.line), ("shanghai", english)):
        row = session.get(OrgUnit, company.units[unit].id)
        row.business_line_id = line.id
        session.add(row)
    session.flush()
    return english


@pytest.fixture
def company(db):
    company = build_small_company(db)
    company.english = split_by_line(db, company)
    return company


def codes(worked) -> list[str]:
    return [line.code for line in worked.lines]


def test_each_person_works_in_the_lines_of_their_units(db, company):
    rep = worked_lines(db, company.actor(db, "rep_a1"))  # Team A, under Beijing
    assert (codes(rep), rep.own_code, rep.every_line) == (["kaoyan"], "kaoyan", False)
    assert codes(worked_lines(db, company.actor(db, "rep_c1"))) == ["english"]
    assert codes(worked_lines(db, company.actor(db, "bj_manager"))) == ["kaoyan"]
    admin = worked_lines(db, company.actor(db, "admin"))
    assert (codes(admin), admin.every_line) == (["english", "kaoyan"], True)


def test_a_company_without_lines_on_units_offers_every_line(db):
    company = build_small_company(db)
    db.add(BusinessLine(code="english", name="Workplace English"))
    db.flush()
    worked = worked_lines(db, company.actor(db, "rep_a1"))
    assert (codes(worked), worked.own_code, worked.every_line) == (
        ["english", "kaoyan"],
        None,
        True,
    )


def test_a_rep_cannot_keep_a_lead_of_another_line(db, company):
    rep = company.actor(db, "rep_a1")
    other = LeadInput(
        name="Zhang", phone="13900000001", channel="sem", business_line_codes=["english"]
    )
    result = intake_leads(db, rep, [other], source="manual", keep_for_self=True)
    [outcome] = result.outcomes
    assert outcome.status == REJECTED and outcome.field == "business_line_codes"
    assert outcome.params == {"line": "Workplace English"}
    assert db.exec(select(Opportunity)).all() == []
    # Left for dispatch, the same lead is taken: the English team gets it.
    result = intake_leads(db, rep, [other], source="manual")
    assert result.outcomes[0].status != REJECTED
    own = LeadInput(name="Li", phone="13900000002", channel="sem", business_line_codes=["kaoyan"])
    assert (
        intake_leads(db, rep, [own], source="manual", keep_for_self=True).outcomes[0].status
        != REJECTED
    )


def test_the_new_lead_form_offers_the_reps_lines_with_their_own_chosen(app_env, committed_db):
    split_by_line(committed_db, app_env)
    committed_db.commit()
    at = signed_in("rep_a1")
    at.switch_page("pages/leads/library.py").run()
    assert not at.exception
    label = translate("Business lines", "zh") + " *"
    [lines] = [box for box in at.multiselect if box.label == label]
    assert lines.options == ["Postgraduate exam"] and lines.value == ["kaoyan"]
