"""Users and roles: edits, status, password reset, bulk edits, and every escalation attempt
a sales manager could make by calling the core directly."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import Role, User
from crm_core.org import auth
from crm_core.org.roles import delete_role, list_roles, save_role
from crm_core.org.users import (
    bulk_update_users,
    create_user,
    list_users,
    reset_password,
    set_user_roles,
    update_user,
)
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import PASSWORD, build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def new_user(db, actor, unit, username="newbie", roles=("rep",)):
    return create_user(
        db,
        actor,
        username=username,
        full_name="New Person",
        employee_no=f"N-{username}",
        password="start1234",
        org_unit_id=unit.id,
        role_codes=roles,
    )


# --- escalation attempts -----------------------------------------------------------------


def test_manager_cannot_grant_admin_or_executive(db, company):
    manager = company.actor(db, "bj_manager")
    for role in ("admin", "executive"):
        with pytest.raises(PermissionDenied):
            new_user(db, manager, company.units["team_a"], f"x_{role}", (role,))
        with pytest.raises(PermissionDenied):
            set_user_roles(db, manager, company.users["rep_a1"].id, ["rep", role])


def test_manager_cannot_create_users_outside_the_subtree(db, company):
    manager = company.actor(db, "bj_manager")
    with pytest.raises(NotFound):
        new_user(db, manager, company.units["team_c"])


def test_manager_cannot_edit_or_move_users_outside_the_subtree(db, company):
    manager = company.actor(db, "bj_manager")
    with pytest.raises(NotFound):
        update_user(db, manager, company.users["rep_c1"].id, daily_cap=99)
    with pytest.raises(NotFound):
        update_user(db, manager, company.users["rep_a1"].id, org_unit_id=company.units["team_c"].id)
    with pytest.raises(NotFound):
        reset_password(db, manager, company.users["boss"].id, "takeover123")


def test_manager_cannot_take_over_a_stronger_account_inside_the_subtree(db, company):
    admin = company.actor(db, "admin")
    update_user(db, admin, company.users["boss"].id, org_unit_id=company.units["team_a"].id)
    db.commit()
    manager = company.actor(db, "bj_manager")
    with pytest.raises(PermissionDenied):
        reset_password(db, manager, company.users["boss"].id, "takeover123")
    with pytest.raises(PermissionDenied):
        update_user(db, manager, company.users["boss"].id, status="resigned")


def test_manager_cannot_change_own_roles(db, company):
    manager = company.actor(db, "bj_manager")
    with pytest.raises(PermissionDenied):
        set_user_roles(db, manager, company.users["bj_manager"].id, ["sales_manager", "team_lead"])


def test_manager_cannot_make_a_role_wider_than_themselves(db, company):
    admin = company.actor(db, "admin")
    # Even with the roles permission, a manager cannot build a wider role.
    save_role(
        db,
        admin,
        code="role_editor",
        name="Role editor",
        permissions=sorted(company.actor(db, "bj_manager").permissions | {"manage_roles"}),
        data_scope="subtree",
    )
    set_user_roles(db, admin, company.users["bj_manager"].id, ["sales_manager", "role_editor"])
    db.commit()
    manager = company.actor(db, "bj_manager")
    with pytest.raises(PermissionDenied):
        save_role(
            db, manager, code="wide", name="Wide", permissions=["view_leads"], data_scope="all"
        )
    with pytest.raises(PermissionDenied):
        save_role(
            db,
            manager,
            code="strong",
            name="Strong",
            permissions=["view_leads", "manage_settings"],
            data_scope="self",
        )
    with pytest.raises(NotFound):
        save_role(
            db,
            manager,
            code="far",
            name="Far",
            permissions=["view_leads"],
            data_scope="custom",
            scope_unit_ids=[company.units["team_c"].id],
        )
    admin_role = db.exec(select(Role).where(Role.code == "admin")).one()
    with pytest.raises(PermissionDenied):
        save_role(
            db,
            manager,
            code="admin",
            name="Admin",
            permissions=["view_leads"],
            data_scope="self",
            role_id=admin_role.id,
        )
    ok = save_role(
        db,
        manager,
        code="viewer",
        name="Viewer",
        permissions=["view_leads"],
        data_scope="custom",
        scope_unit_ids=[company.units["team_b"].id],
    )
    assert ok.scope_unit_ids == [company.units["team_b"].id]


def test_rep_cannot_manage_users(db, company):
    rep = company.actor(db, "rep_a1")
    with pytest.raises(PermissionDenied):
        update_user(db, rep, company.users["rep_a1"].id, daily_cap=999)
    with pytest.raises(PermissionDenied):
        list_users(db, rep)


# --- ordinary management -----------------------------------------------------------------


def test_manager_moves_a_user_and_sets_caps(db, company):
    manager = company.actor(db, "bj_manager")
    change = update_user(
        db,
        manager,
        company.users["rep_a1"].id,
        org_unit_id=company.units["team_b"].id,
        skill_tags="math, vip",
        dispatch_weight=3,
        daily_cap=20,
        holding_cap=100,
    )
    db.commit()
    user = db.get(User, company.users["rep_a1"].id)
    assert (user.org_unit_id, user.skill_tags, user.dispatch_weight) == (
        company.units["team_b"].id,
        ["math", "vip"],
        3,
    )
    assert change.departure is None


def test_bad_values_are_refused_with_the_field(db, company):
    admin = company.actor(db, "admin")
    for changes, key in [
        ({"daily_cap": -1}, "{field} cannot be negative."),
        ({"holding_cap": "lots"}, "{field} must be a whole number."),
        ({"status": "sleeping"}, "Unknown status {status}."),
        ({"full_name": "  "}, "A name is required."),
        ({"password_hash": "x"}, "{field} cannot be edited here."),
    ]:
        with pytest.raises(ValidationError) as caught:
            update_user(db, admin, company.users["rep_a1"].id, **changes)
        assert caught.value.key == key


def test_reset_password_forces_a_change_and_ends_sessions(db, company):
    from datetime import timedelta

    from crm_core.platform import clock

    before = clock.now() - timedelta(seconds=1)
    reset_password(db, company.actor(db, "admin"), company.users["rep_a1"].id, "temp12345")
    db.commit()
    assert auth.session_user(db, "rep_a1", before) is None
    assert auth.authenticate(db, "rep_a1", "temp12345").ok
    assert db.get(User, company.users["rep_a1"].id).must_change_password


def test_resigned_user_cannot_sign_in(db, company):
    update_user(db, company.actor(db, "admin"), company.users["rep_a1"].id, status="resigned")
    db.commit()
    assert auth.authenticate(db, "rep_a1", PASSWORD).reason == "inactive"


def test_bulk_edit_validates_every_row_before_writing(db, company):
    manager = company.actor(db, "bj_manager")
    rows = [
        {"id": company.users["rep_a1"].id, "daily_cap": 25},
        {"id": company.users["rep_a2"].id, "daily_cap": -5},
        {"id": company.users["rep_c1"].id, "daily_cap": 10},
    ]
    changed, errors = bulk_update_users(db, manager, rows)
    assert changed == 0
    assert [(e.row, e.column, e.key) for e in errors] == [
        (2, "daily_cap", "{field} cannot be negative."),
        (3, "daily_cap", "Not found, or outside your data scope."),
    ]
    db.rollback()
    assert db.get(User, company.users["rep_a1"].id).daily_cap == 30
    changed, errors = bulk_update_users(db, manager, rows[:1])
    assert (changed, errors) == (1, [])


def test_list_users_is_scoped_and_searchable(db, company):
    rows, total = list_users(db, company.actor(db, "bj_manager"))
    assert {r.username for r in rows} == {"bj_manager", "lead_a", "rep_a1", "rep_a2", "rep_b1"}
    assert total == 5
    rows, _ = list_users(db, company.actor(db, "admin"), search="rep_a")
    assert [r.roles for r in rows] == [["rep"], ["rep"]]


# --- roles -------------------------------------------------------------------------------


def test_builtin_and_used_roles_cannot_be_deleted(db, company):
    admin = company.actor(db, "admin")
    rep_role = db.exec(select(Role).where(Role.code == "rep")).one()
    with pytest.raises(ValidationError) as caught:
        delete_role(db, admin, rep_role.id)
    assert caught.value.key == "The built-in role {code} cannot be deleted."
    custom = save_role(
        db, admin, code="auditor", name="Auditor", permissions=["view_audit_log"], data_scope="all"
    )
    set_user_roles(db, admin, company.users["rep_b1"].id, ["rep", "auditor"])
    with pytest.raises(ValidationError) as caught:
        delete_role(db, admin, custom.id)
    assert caught.value.key == "The role {code} is held by {count} user and cannot be deleted."
    assert caught.value.params["count"] == 1
    set_user_roles(db, admin, company.users["rep_b1"].id, ["rep"])
    delete_role(db, admin, custom.id)
    assert "auditor" not in {r.code for r in list_roles(db, admin)}


def test_role_change_takes_effect_on_next_actor_load(db, company):
    admin = company.actor(db, "admin")
    rep_role = db.exec(select(Role).where(Role.code == "rep")).one()
    save_role(
        db,
        admin,
        code="rep",
        name="Rep",
        role_id=rep_role.id,
        permissions=sorted(set(rep_role.permissions) | {"export_leads"}),
        data_scope="team",
    )
    db.commit()
    actor = company.actor(db, "rep_a1")
    assert actor.can("export_leads") and actor.scope == "team"


def test_role_validation(db, company):
    admin = company.actor(db, "admin")
    for kwargs, key in [
        (
            {"code": "Bad Code"},
            "A role code is 2-60 lower-case letters, digits or _ and starts with a letter ({code}).",
        ),
        ({"permissions": ["fly"]}, "Unknown permission: {permission}."),
        ({"data_scope": "galaxy"}, "Unknown data scope {scope}."),
        ({"data_scope": "custom"}, "A custom scope needs at least one unit."),
        ({"code": "rep"}, "The role code {code} is taken."),
    ]:
        args = {
            "code": "x_role",
            "name": "X",
            "permissions": ["view_leads"],
            "data_scope": "self",
            **kwargs,
        }
        with pytest.raises(ValidationError) as caught:
            save_role(db, admin, **args)
        assert caught.value.key == key


def test_a_narrow_role_editor_with_all_scope_cannot_grant_more_permissions(db, company):
    admin = company.actor(db, "admin")
    save_role(
        db,
        admin,
        code="roles_only",
        name="Roles only",
        permissions=["manage_roles"],
        data_scope="all",
    )
    set_user_roles(db, admin, company.users["rep_c1"].id, ["roles_only"])
    db.commit()
    editor = company.actor(db, "rep_c1")
    role = db.exec(select(Role).where(Role.code == "roles_only")).one()
    with pytest.raises(PermissionDenied):
        save_role(
            db,
            editor,
            code="roles_only",
            name="Roles only",
            role_id=role.id,
            permissions=["manage_roles", "manage_settings"],
            data_scope="all",
        )


def test_the_last_administrator_stays(db, company):
    admin = company.actor(db, "admin")
    admin_id = company.users["admin"].id
    with pytest.raises(ValidationError) as caught:
        update_user(db, admin, admin_id, status="resigned")
    assert (
        caught.value.key
        == "This is the last active administrator; make someone else an administrator first."
    )
    with pytest.raises(ValidationError):
        update_user(db, admin, admin_id, enabled=False)
    set_user_roles(db, admin, company.users["boss"].id, ["executive", "admin"])
    update_user(db, admin, admin_id, status="resigned")  # someone else is admin now
    admin_role = db.exec(select(Role).where(Role.code == "admin")).one()
    with pytest.raises(ValidationError) as caught:
        save_role(
            db,
            admin,
            code="admin",
            name="Admin",
            role_id=admin_role.id,
            permissions=["view_leads"],
            data_scope="all",
        )
    assert (
        caught.value.key == "The administrator role always holds every permission over everything."
    )


def test_rejoining_forces_a_new_password(db, company):
    admin = company.actor(db, "admin")
    update_user(db, admin, company.users["rep_a1"].id, status="resigned")
    update_user(db, admin, company.users["rep_a1"].id, status="active")
    db.commit()
    user = db.get(User, company.users["rep_a1"].id)
    assert user.must_change_password and user.left_on is None
    assert auth.authenticate(db, "rep_a1", PASSWORD).ok


def test_nobody_grants_a_discount_limit_above_their_own(db):
    """A sales manager (30%) may give a rep's role (10%) but not the admin's (100%)."""
    from crm_core.org.users import ensure_can_grant, role_by_code
    from tests.factories import build_small_company

    company = build_small_company(db)
    manager = company.actor(db, "bj_manager")
    ensure_can_grant(db, manager, role_by_code(db, "rep"))
    lead_role = role_by_code(db, "team_lead")
    lead_role.max_discount_pct = 40
    db.add(lead_role)
    db.flush()
    with pytest.raises(PermissionDenied) as refused:
        ensure_can_grant(db, manager, lead_role)
    assert (
        refused.value.key
        == "You cannot grant the role {role}: its discount limit ({limit}%) is above yours."
    )
