"""The org tree: add, rename, move with the subtree, disable, heads, counts, scope."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import OrgUnit
from crm_core.org.units import (
    create_unit,
    move_unit,
    rename_unit,
    set_unit_active,
    set_unit_head,
    unit_tree,
)
from crm_core.org.users import update_user
from crm_core.platform.audit import list_entries
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def paths(db):
    return {u.name: u.path for u in db.exec(select(OrgUnit)).all()}


def test_move_carries_the_whole_subtree(db, company):
    admin = company.actor(db, "admin")
    deep = create_unit(db, admin, "Team A sub", company.units["team_a"].id)
    move_unit(db, admin, company.units["team_a"].id, company.units["shanghai"].id)
    db.commit()
    p = paths(db)
    sh = company.units["shanghai"].id
    a = company.units["team_a"].id
    assert p["Team A"] == f"/{company.units['hq'].id}/{sh}/{a}/"
    assert p["Team A sub"] == f"{p['Team A']}{deep.id}/"
    depths = {u.name: u.depth for u in db.exec(select(OrgUnit)).all()}
    assert depths["Team A"] == 2 and depths["Team A sub"] == 3
    # Scope follows the tree: the Beijing manager no longer reaches team A's rep.
    actor = company.actor(db, "bj_manager")
    names = {n.name for n in unit_tree(db, actor)}
    assert "Team A" not in names and "Team B" in names


def test_moving_under_own_descendant_is_refused(db, company):
    admin = company.actor(db, "admin")
    with pytest.raises(ValidationError) as caught:
        move_unit(db, admin, company.units["beijing"].id, company.units["team_a"].id)
    assert caught.value.key == "{unit} cannot move under {parent}: that unit is inside it."
    with pytest.raises(ValidationError):
        move_unit(db, admin, company.units["beijing"].id, company.units["beijing"].id)
    assert paths(db)["Team A"].startswith(company.units["beijing"].path)


def test_disabling_a_unit_with_active_users_is_refused(db, company):
    admin = company.actor(db, "admin")
    with pytest.raises(ValidationError) as caught:
        set_unit_active(db, admin, company.units["team_b"].id, False)
    assert caught.value.key == "{unit} still has {count} active user; move them first."
    update_user(db, admin, company.users["rep_b1"].id, status="resigned")
    set_unit_active(db, admin, company.units["team_b"].id, False)
    db.commit()
    assert db.get(OrgUnit, company.units["team_b"].id).active is False
    with pytest.raises(ValidationError):
        create_unit(db, admin, "Under disabled", company.units["team_b"].id)


def test_manager_works_only_inside_their_subtree(db, company):
    manager = company.actor(db, "bj_manager")
    unit = create_unit(db, manager, "Team D", company.units["beijing"].id)
    rename_unit(db, manager, unit.id, "Team D (new)")
    move_unit(db, manager, unit.id, company.units["team_a"].id)
    with pytest.raises(NotFound):
        create_unit(db, manager, "Sneaky", company.units["shanghai"].id)
    with pytest.raises(NotFound):
        move_unit(db, manager, unit.id, company.units["shanghai"].id)
    with pytest.raises(NotFound):
        rename_unit(db, manager, company.units["team_c"].id, "Mine now")
    with pytest.raises(ValidationError):
        create_unit(db, manager, "New root", None)
    rep = company.actor(db, "rep_a1")
    with pytest.raises(PermissionDenied):
        create_unit(db, rep, "Rep unit", company.units["team_a"].id)


def test_tree_counts_people_and_open_opportunities_with_everything_below(db, company):
    for n, owner in enumerate(["rep_a1", "rep_a2", "rep_b1", "rep_c1"]):
        add_owned_opportunity(db, company, owner, n)
    tree = {n.name: n for n in unit_tree(db, company.actor(db, "admin"))}
    assert (tree["Team A"].members, tree["Team A"].open_opportunities) == (3, 2)
    assert (tree["Beijing"].head_count, tree["Beijing"].open_opportunities) == (5, 3)
    assert tree["HQ"].head_count == 8 and tree["HQ"].open_opportunities == 4
    # tree order: every unit after its parent
    order = [n.id for n in unit_tree(db, company.actor(db, "admin"))]
    for node in tree.values():
        if node.parent_id:
            assert order.index(node.parent_id) < order.index(node.id)


def test_search_keeps_the_ancestors(db, company):
    found = [n.name for n in unit_tree(db, company.actor(db, "admin"), search="team c")]
    assert found == ["HQ", "Shanghai", "Team C"]


def test_head_must_be_active_and_in_scope(db, company):
    manager = company.actor(db, "bj_manager")
    set_unit_head(db, manager, company.units["team_a"].id, company.users["lead_a"].id)
    with pytest.raises(NotFound):
        set_unit_head(db, manager, company.units["team_a"].id, company.users["rep_c1"].id)
    update_user(db, SYSTEM, company.users["rep_a2"].id, status="resigned")
    with pytest.raises(ValidationError):
        set_unit_head(db, manager, company.units["team_a"].id, company.users["rep_a2"].id)


def test_every_change_is_audited(db, company):
    admin = company.actor(db, "admin")
    rename_unit(db, admin, company.units["team_c"].id, "Team C+")
    db.commit()
    entry = list_entries(db, admin, action="org_unit.rename")[0]
    assert entry.before["name"] == "Team C" and entry.after["name"] == "Team C+"
    assert entry.actor_id == company.users["admin"].id
