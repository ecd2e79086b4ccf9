"""A unit is named by its own name unless another unit bears it; then by as many units
above it as it takes to tell them apart."""

from __future__ import annotations

from crm_core.org.unit_labels import unit_labels
from crm_core.org.units import create_unit
from crm_core.sales.detail import get_opportunity_detail
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company


def test_ambiguous_names_carry_the_units_above_them(db):
    company = build_small_company(db)
    u = company.units
    bj_one = create_unit(db, SYSTEM, "Team 1", u["beijing"].id)
    sh_one = create_unit(db, SYSTEM, "Team 1", u["shanghai"].id)
    # Same parent names further up: "Sales / Team 1" twice needs one more level.
    east = create_unit(db, SYSTEM, "East", u["hq"].id)
    west = create_unit(db, SYSTEM, "West", u["hq"].id)
    east_sales = create_unit(db, SYSTEM, "Sales", east.id)
    west_sales = create_unit(db, SYSTEM, "Sales", west.id)
    east_one = create_unit(db, SYSTEM, "Team 1", east_sales.id)
    west_one = create_unit(db, SYSTEM, "Team 1", west_sales.id)
    ids = [u["team_a"].id, bj_one.id, sh_one.id, east_one.id, west_one.id, None, 10**9]
    assert unit_labels(db, ids) == {
        u["team_a"].id: "Team A",
        bj_one.id: "Beijing / Team 1",
        sh_one.id: "Shanghai / Team 1",
        east_one.id: "East / Sales / Team 1",
        west_one.id: "West / Sales / Team 1",
    }


def test_the_opportunity_names_its_team_unambiguously(db):
    company = build_small_company(db)
    create_unit(db, SYSTEM, "Team A", company.units["shanghai"].id)
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    detail = get_opportunity_detail(db, company.actor(db, "rep_a1"), opp.id)
    assert detail.unit_name == "Beijing / Team A"
