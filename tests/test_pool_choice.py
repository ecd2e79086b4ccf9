"""Returning opportunities to a chosen pool: any pool within the manager's scope, the company's
only with a company-wide scope, a line-bound pool only for its line; each move one flow event."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from crm_core.circulation.override import return_to_pool
from crm_core.circulation.pool import list_pool
from crm_core.circulation.pools import COMPANY_POOL, check_pool, pool_choices
from crm_core.models import BusinessLine, FlowEvent, Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied, ValidationError
from tests.factories import add_owned_opportunity, build_small_company

START = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def test_a_manager_chooses_among_the_pools_of_the_units_in_scope(db, company):
    units = company.units
    manager = pool_choices(db, company.actor(db, "bj_manager"))
    assert [c.unit_id for c in manager] == [
        units["beijing"].id,
        units["team_a"].id,
        units["team_b"].id,
    ]
    admin = pool_choices(db, company.actor(db, "admin"))
    assert admin[0].unit_id == COMPANY_POOL
    assert {c.unit_id for c in admin} >= {units["team_c"].id, units["hq"].id}
    with pytest.raises(PermissionDenied):
        pool_choices(db, company.actor(db, "rep_a1"))


def test_returning_to_another_team_pool_moves_the_unit_and_logs_it(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    manager = company.actor(db, "bj_manager")
    assert return_to_pool(db, manager, [opp.id], company.units["team_b"].id) == 1
    db.commit()
    db.refresh(opp)
    assert (opp.pool_state, opp.owner_id, opp.org_unit_id) == (
        "public",
        None,
        company.units["team_b"].id,
    )
    [event] = db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opp.id)).all()
    assert (event.reason, event.to_state, event.note) == ("return", "public", "Team B")
    # Team B's rep sees it in the pool...
    assert [r.opportunity_id for r in list_pool(db, company.actor(db, "rep_b1"))] == [opp.id]
    # ...and Shanghai's rep does not.
    assert list_pool(db, company.actor(db, "rep_c1")) == []


def test_a_pool_outside_the_scope_is_refused_with_the_reason(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 2)
    manager = company.actor(db, "bj_manager")
    with pytest.raises(ValidationError) as refused:
        return_to_pool(db, manager, [opp.id], company.units["team_c"].id)
    assert refused.value.params == {"unit": company.units["team_c"].id}
    with pytest.raises(ValidationError) as company_pool:
        return_to_pool(db, manager, [opp.id], COMPANY_POOL)
    assert "company-wide" in company_pool.value.key
    db.rollback()
    db.refresh(opp)
    assert (opp.pool_state, opp.owner_id) == ("owned", company.users["rep_a1"].id)
    assert db.exec(select(FlowEvent).where(FlowEvent.opportunity_id == opp.id)).all() == []


def test_the_company_pool_takes_opportunities_from_a_company_wide_manager(db, company):
    opp = add_owned_opportunity(db, company, "rep_c1", 3)
    assert return_to_pool(db, company.actor(db, "admin"), [opp.id], COMPANY_POOL) == 1
    db.commit()
    db.refresh(opp)
    assert (opp.pool_state, opp.org_unit_id) == ("public", None)
    assert opp.id in {r.opportunity_id for r in list_pool(db, company.actor(db, "rep_a1"))}


def test_a_pool_serving_one_line_refuses_another_lines_opportunities(db, company):
    other = BusinessLine(code="ielts", name="IELTS")
    db.add(other)
    db.flush()
    team_b = company.units["team_b"]
    team_b.business_line_id = other.id
    db.add(team_b)
    db.commit()
    opp = add_owned_opportunity(db, company, "rep_a1", 4)
    manager = company.actor(db, "bj_manager")
    assert check_pool(db, manager, team_b.id).business_line_id == other.id
    with pytest.raises(ValidationError) as refused:
        return_to_pool(db, manager, [opp.id], team_b.id)
    assert refused.value.params["ids"] == str(opp.id)
    db.rollback()
    assert db.get(Opportunity, opp.id).pool_state == "owned"


def test_without_a_choice_the_pool_is_the_unit_as_before(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 5)
    return_to_pool(db, company.actor(db, "lead_a"), [opp.id])
    db.commit()
    db.refresh(opp)
    assert (opp.pool_state, opp.org_unit_id) == ("public", company.units["team_a"].id)
