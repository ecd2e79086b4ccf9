"""Regression tests for the leaks the scope matrix (`tests/test_scope_matrix.py`) found.

Each names the finding ("make scope leaks impossible to add") and the leak; each failed on
the code before its fix. They will move into `tests/test_security_findings.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from crm_core.circulation.dispatch import waiting_reasons
from crm_core.circulation.dry_run import preview_rule
from crm_core.circulation.renewals import open_renewal
from crm_core.circulation.rules import RuleDraft, check_rule, save_rule
from crm_core.leads.edit import update_lead
from crm_core.models import Lead, Opportunity, Role, User
from crm_core.org.departure import move_open_opportunities
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.permissions import BUILTIN_ROLES, DataScope
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company

NOW = datetime(2026, 3, 10, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def _recycle_draft(name: str, unit_id: int, priority: int) -> RuleDraft:
    return RuleDraft(
        name=name,
        priority=priority,
        org_unit_id=unit_id,
        conditions={"trigger": "no_follow_up", "after": 1},
        action={"target": "public_pool"},
    )


def test_finding_scope_matrix_departure_moves_only_users_in_scope(db, company):
    """move_open_opportunities is public: called with a Shanghai rep by a Beijing manager it
    moved the rep's opportunities. It now refuses a user outside the scope (NotFound), and
    anyone without manage_users."""
    shanghai_opp = add_owned_opportunity(db, company, "rep_c1", 1)
    rep_c1 = db.get(User, company.users["rep_c1"].id)
    with pytest.raises(NotFound):
        move_open_opportunities(db, company.actor(db, "bj_manager"), rep_c1)
    with pytest.raises(PermissionDenied):
        move_open_opportunities(db, company.actor(db, "rep_a1"), rep_c1)
    db.rollback()
    assert db.get(Opportunity, shanghai_opp.id, populate_existing=True).owner_id == rep_c1.id
    # Within the scope it still works.
    add_owned_opportunity(db, company, "rep_a2", 2)
    moved = move_open_opportunities(
        db, company.actor(db, "bj_manager"), db.get(User, company.users["rep_a2"].id)
    )
    assert moved.moved == 1


def test_finding_scope_matrix_waiting_reasons_count_only_the_reach(db, company):
    """A Beijing manager saw how many Shanghai opportunities wait for re-dispatch. Now the
    count covers waiting opportunities of no unit and of the units in scope."""
    waiting = {}
    for tail, owner in ((1, "rep_c1"), (2, "rep_a1")):
        opp = add_owned_opportunity(db, company, owner, tail)
        db.exec(
            update(Opportunity)
            .where(Opportunity.id == opp.id)
            .values(owner_id=None, pool_state="unassigned", unassigned_reason="recycled")
        )
        waiting[owner] = opp.id
    company_level = add_owned_opportunity(db, company, "rep_b1", 3)
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == company_level.id)
        .values(
            owner_id=None, org_unit_id=None, pool_state="unassigned", unassigned_reason="no_rule"
        )
    )
    db.commit()
    assert waiting_reasons(db, company.actor(db, "bj_manager")) == {"recycled": 1, "no_rule": 1}
    assert waiting_reasons(db, company.actor(db, "admin")) == {"recycled": 2, "no_rule": 1}


def test_finding_scope_matrix_rule_preview_shows_only_outcomes_within_reach(db, company):
    """The dry run of a Beijing draft listed the Shanghai rule and counted the Shanghai
    opportunities it would recycle. Now a manager sees the outcomes of the rules they may
    read, and the totals are theirs."""
    shanghai_unit = company.units["shanghai"].id
    save_rule(db, SYSTEM, "recycle", _recycle_draft("Shanghai recycle", shanghai_unit, 10))
    for tail, owner in ((1, "rep_c1"), (2, "rep_c1"), (3, "rep_a1")):
        add_owned_opportunity(db, company, owner, tail)  # assigned a day ago, never worked
    db.commit()
    clock.advance(timedelta(days=1))
    manager = company.actor(db, "bj_manager")
    draft = _recycle_draft("Beijing draft", company.units["beijing"].id, 20)
    result = preview_rule(db, manager, "recycle", draft)
    assert [(o.name, o.recycled) for o in result.rules] == [("Beijing draft", 1)]
    assert result.recycled == 1
    everything = preview_rule(db, company.actor(db, "admin"), "recycle", draft)
    assert [(o.name, o.recycled) for o in everything.rules] == [
        ("Shanghai recycle", 2),
        ("Beijing draft", 1),
    ]


def test_finding_scope_matrix_check_rule_needs_manage_rules(db, company):
    """check_rule read units, people and rules - and named a clashing rule of another
    unit - for anyone. It now requires manage_rules, like every other rule service."""
    db.add(
        Role(
            code="qa_bj",
            name="QA Beijing",
            permissions=sorted(BUILTIN_ROLES["qa_inspector"][0]),
            data_scope=DataScope.CUSTOM.value,
            scope_unit_ids=[company.units["beijing"].id],
        )
    )
    db.flush()
    company.users["qa_bj"] = create_user(
        db,
        SYSTEM,
        username="qa_bj",
        full_name="QA BJ",
        employee_no="E0100",
        password=PASSWORD,
        org_unit_id=company.units["beijing"].id,
        role_codes=["qa_bj"],
    )
    save_rule(
        db, SYSTEM, "recycle", _recycle_draft("Shanghai recycle", company.units["shanghai"].id, 10)
    )
    db.commit()
    draft = _recycle_draft("Probe", company.units["beijing"].id, 10)
    with pytest.raises(PermissionDenied):
        check_rule(db, company.actor(db, "qa_bj"), "recycle", draft)


def test_finding_scope_matrix_lead_edit_does_not_name_a_lead_outside_scope(db, company):
    """Giving a lead a number another lead holds is refused (one lead per phone), and the
    refusal named the holder - also a Shanghai lead a Beijing rep cannot open. The holder
    is named only to someone who reaches it, as payments.ref_used_error does."""
    mine = add_owned_opportunity(db, company, "rep_a1", 1)
    theirs = add_owned_opportunity(db, company, "rep_c1", 2)
    their_phone = db.get(Lead, theirs.lead_id).phone
    with pytest.raises(ValidationError) as refused:
        update_lead(db, company.actor(db, "rep_a1"), mine.lead_id, {"phone": their_phone})
    assert (refused.value.key, refused.value.params) == (
        "This number belongs to a lead outside your reach. Ask a manager who reaches both leads to merge them.",
        {},
    )
    with pytest.raises(ValidationError) as named:
        update_lead(db, company.actor(db, "admin"), mine.lead_id, {"phone": their_phone})
    assert (named.value.key, named.value.params) == (
        "This number belongs to lead #{lead_id}. Merge the two leads instead.",
        {"lead_id": theirs.lead_id},
    )


def test_finding_scope_matrix_renewal_does_not_name_an_opportunity_outside_scope(db, company):
    """A win cannot be renewed while its lead has another open opportunity on the line; the
    refusal named that opportunity's id even when it sits in Shanghai."""
    won = add_owned_opportunity(db, company, "rep_a1", 1)
    db.exec(
        update(Opportunity)
        .where(Opportunity.id == won.id)
        .values(stage="won", pool_state="closed", closed_at=NOW)
    )
    other = Opportunity(
        lead_id=won.lead_id,
        business_line_id=company.line.id,
        owner_id=company.users["rep_c1"].id,
        org_unit_id=company.units["team_c"].id,
        pool_state="owned",
        stage="new",
    )
    db.add(other)
    db.commit()
    with pytest.raises(ValidationError) as refused:
        open_renewal(db, company.actor(db, "rep_a1"), won.id)
    assert (refused.value.key, refused.value.params) == (
        "The lead already has an open opportunity on this business line, outside your reach: ask your manager.",
        {},
    )
    db.rollback()
    with pytest.raises(ValidationError) as named:
        open_renewal(db, company.actor(db, "admin"), won.id)
    assert (named.value.key, named.value.params) == (
        "The lead already has an open opportunity on this business line (#{id}): work that one instead.",
        {"id": other.id},
    )
