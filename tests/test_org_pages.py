"""AppTest: the org chart and users pages, as an admin and as a sales manager."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import OrgUnit, User
from crm_core.org.units import move_unit
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in


def find_button(at, label):
    return next(b for b in at.button if b.label == label)


def test_admin_sees_the_whole_tree_and_adds_a_unit(app_env, db):
    at = login("admin")
    at.switch_page("pages/admin/org.py").run()
    assert not at.exception
    labels = [b.label for b in at.button if "HQ" in b.label or "Beijing" in b.label]
    assert any("HQ" in label for label in labels)
    at.selectbox(key="org_unit").set_value(app_env.units["beijing"].id).run()
    at.text_input[1].input("Team D")
    find_button(at, translate("Add a sub-unit", "zh")).click().run()
    assert not at.exception
    unit = db.exec(select(OrgUnit).where(OrgUnit.name == "Team D")).one()
    assert unit.parent_id == app_env.units["beijing"].id
    assert any(translate("Unit added.", "zh") in s.value for s in at.success)


def test_moving_a_unit_under_itself_is_not_offered_and_refused_in_core(app_env, db):
    units = app_env.units
    at = signed_in("admin")
    at.switch_page("pages/admin/org.py").run()
    at.selectbox(key="org_unit").set_value(units["beijing"].id).run()
    # The move form offers neither the unit itself nor anything below it...
    move_under = next(box for box in at.selectbox if box.label == translate("Move under", "zh"))
    move_targets = set(move_under.options)
    assert not any("Beijing" in option for option in move_targets), move_targets
    assert {"HQ", "HQ / Shanghai", "HQ / Shanghai / Team C"} <= move_targets
    # ...and the core refuses such a move from whatever shell asks for it.
    admin = app_env.actor(db, "admin")
    for below in ("beijing", "team_a"):
        with pytest.raises(ValidationError) as refused:
            move_unit(db, admin, units["beijing"].id, units[below].id)
        assert refused.value.key == "{unit} cannot move under {parent}: that unit is inside it."
    db.rollback()
    assert db.get(OrgUnit, units["beijing"].id).parent_id == units["hq"].id


def test_manager_sees_only_their_subtree(app_env):
    at = login("bj_manager")
    at.switch_page("pages/admin/org.py").run()
    assert not at.exception
    text = " ".join(b.label for b in at.button) + " ".join(m.value for m in at.markdown)
    assert "Beijing" in text and "Shanghai" not in text
    at.switch_page("pages/admin/users.py").run()
    assert not at.exception
    assert any("5" in c.value for c in at.caption)


def test_rep_cannot_open_the_org_or_users_page(app_env):
    at = signed_in("rep_a1")
    for page in ("pages/admin/org.py", "pages/admin/users.py"):
        assert_page_refused(at, page)


def test_admin_moves_a_user_from_the_users_page(app_env, db):
    at = login("admin")
    at.switch_page("pages/admin/users.py").run()
    assert not at.exception
    at.text_input(key="users_search").input("rep_a1").run()
    at.selectbox[3].set_value(app_env.users["rep_a1"].id).run()
    at.selectbox[4].set_value(app_env.units["team_c"].id)
    find_button(at, translate(NC_("users", "Move"), "zh")).click().run()
    assert not at.exception
    db.expire_all()
    assert db.get(User, app_env.users["rep_a1"].id).org_unit_id == app_env.units["team_c"].id


def test_manager_adds_a_user_in_their_subtree(app_env, db):
    at = login("bj_manager")
    at.switch_page("pages/admin/users.py").run()
    form_inputs = {w.label: w for w in at.text_input}
    form_inputs[translate("Username", "zh")].input("newrep")
    form_inputs[translate("Employee number", "zh")].input("E9001")
    form_inputs[translate("Name", "zh")].input("新人")
    form_inputs[translate("Initial password (changed at first sign-in)", "zh")].input("start1234")
    find_button(at, translate("Add a user", "zh")).click().run()
    assert not at.exception, at.exception
    user = db.exec(select(User).where(User.username == "newrep")).one()
    assert user.must_change_password
