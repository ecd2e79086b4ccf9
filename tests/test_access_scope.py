"""Data scopes: each role reaches exactly its rows, for reads and for writes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.circulation.opportunities import (
    get_opportunity,
    list_opportunities,
    set_intention_level,
)
from crm_core.leads.search import count_leads
from crm_core.models import Opportunity, Role, UserRole
from crm_core.org.access import load_actor
from crm_core.platform.errors import NotFound, PermissionDenied
from crm_core.sales.home import home_summary
from tests.factories import add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    company = build_small_company(db)
    company.opps = {
        owner: add_owned_opportunity(db, company, owner, n)
        for n, owner in enumerate(["rep_a1", "rep_a2", "rep_b1", "rep_c1", "lead_a"], start=1)
    }
    return company


def visible_owners(db, company, username):
    actor = company.actor(db, username)
    by_id = {u.id: name for name, u in company.users.items()}
    return sorted(by_id[o.owner_id] for o in list_opportunities(db, actor, limit=100))


def test_rep_sees_only_own_rows(db, company):
    assert visible_owners(db, company, "rep_a1") == ["rep_a1"]
    assert count_leads(db, company.actor(db, "rep_a1")) == 1


def test_team_lead_sees_own_team(db, company):
    assert visible_owners(db, company, "lead_a") == ["lead_a", "rep_a1", "rep_a2"]


def test_manager_sees_subtree(db, company):
    assert visible_owners(db, company, "bj_manager") == ["lead_a", "rep_a1", "rep_a2", "rep_b1"]


def test_executive_sees_everything(db, company):
    assert visible_owners(db, company, "boss") == sorted(company.opps)
    assert count_leads(db, company.actor(db, "boss")) == 5


def test_custom_scope_reaches_exactly_its_units(db, company):
    role = Role(
        code="auditor_bc",
        name="Team B and C",
        permissions=["view_opportunities", "view_leads"],
        data_scope="custom",
        scope_unit_ids=[company.units["team_b"].id, company.units["team_c"].id],
    )
    db.add(role)
    db.flush()
    db.add(UserRole(user_id=company.users["rep_a2"].id, role_id=role.id))
    db.commit()
    # rep_a2 keeps their own rows (rep role) and gains exactly teams B and C.
    assert visible_owners(db, company, "rep_a2") == ["rep_a2", "rep_b1", "rep_c1"]
    # A unit above the listed ones is not implied, nor are siblings.
    actor = company.actor(db, "rep_a2")
    with pytest.raises(NotFound):
        get_opportunity(db, actor, company.opps["rep_a1"].id)


def test_opportunity_outside_scope_is_not_found_even_by_id(db, company):
    actor = company.actor(db, "rep_a1")
    with pytest.raises(NotFound):
        get_opportunity(db, actor, company.opps["rep_c1"].id)


def test_writes_obey_the_same_scope(db, company):
    actor = company.actor(db, "rep_a1")
    own = company.opps["rep_a1"].id
    other = company.opps["rep_a2"].id
    assert set_intention_level(db, actor, [own], "A") == 1
    with pytest.raises(NotFound):
        set_intention_level(db, actor, [own, other], "B")
    # All or nothing: the in-scope row was not changed by the refused call.
    levels = dict(db.exec(select(Opportunity.id, Opportunity.intention_level)).all())
    assert levels[own] == "A"
    assert levels[other] is None


def test_team_lead_can_write_team_rows_but_not_other_teams(db, company):
    actor = company.actor(db, "lead_a")
    assert set_intention_level(db, actor, [company.opps["rep_a2"].id], "C") == 1
    with pytest.raises(NotFound):
        set_intention_level(db, actor, [company.opps["rep_b1"].id], "C")


def test_permission_is_checked_before_scope(db, company):
    actor = company.actor(db, "boss")  # executive: sees all, works nothing
    with pytest.raises(PermissionDenied):
        set_intention_level(db, actor, [company.opps["rep_a1"].id], "A")


def test_home_summary_counts_within_scope(db, company):
    summary = home_summary(db, company.actor(db, "bj_manager"))
    assert summary.opportunity_count == 4
    assert summary.lead_count == 4
    assert summary.unit_path == ["HQ", "Beijing"]
    assert summary.by_pool_state == {"owned": 4}
    rep = home_summary(db, company.actor(db, "rep_c1"))
    assert (rep.opportunity_count, rep.owned_by_me) == (1, 1)


def test_actor_combines_roles_to_the_widest(db, company):
    from crm_core.org.users import role_by_code

    db.add(UserRole(user_id=company.users["rep_b1"].id, role_id=role_by_code(db, "team_lead").id))
    db.commit()
    actor = load_actor(db, company.users["rep_b1"].id)
    assert actor.scope == "team"
    assert "assign_opportunities" in actor.permissions
