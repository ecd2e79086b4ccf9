"""The audit log: filters, paging and permission in the core; the read-only admin page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm_core.org.units import rename_unit
from crm_core.platform import audit, clock
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.i18n import is_message, label_of, translate
from crm_core.platform.settings import set_setting
from tests.factories import SYSTEM, build_small_company

PAGE = "pages/admin/audit_log.py"
T0 = datetime(2026, 3, 1, 9, 0)


@pytest.fixture
def company(db):
    clock.freeze(T0 - timedelta(days=30))  # the company's own creation entries are old
    return build_small_company(db)


def actors(db, company):
    return company.actor(db, "admin"), company.actor(db, "bj_manager")


def test_list_entries_keeps_its_old_signature(db, company):
    admin, _ = actors(db, company)
    clock.freeze(T0)
    rename_unit(db, admin, company.units["team_a"].id, "Team Alpha")
    entry = audit.list_entries(db, admin, action="org_unit.rename")[0]
    assert (entry.target_type, entry.target_id) == ("org_unit", str(company.units["team_a"].id))
    assert entry.before["name"] == "Team A" and entry.after["name"] == "Team Alpha"
    assert audit.list_entries(db, admin, target_type="org_unit", limit=2, offset=0)[0] == entry


def test_filters_by_actor_target_and_time(db, company):
    admin, manager = actors(db, company)
    team_a, team_b = company.units["team_a"].id, company.units["team_b"].id
    clock.freeze(T0)
    rename_unit(db, admin, team_a, "A1")
    clock.freeze(T0 + timedelta(hours=1))
    rename_unit(db, manager, team_b, "B1")
    clock.freeze(T0 + timedelta(days=1))
    rename_unit(db, manager, team_a, "A2")
    audit.record(db, admin, "setting.update", "setting", "login.lock_minutes", 15, 30)
    db.flush()

    renames = audit.list_entries(db, admin, action="org_unit.rename")
    assert [e.after["name"] for e in renames] == ["A2", "B1", "A1"]  # newest first
    by_manager = audit.list_entries(db, admin, action="org_unit.rename", actor_id=manager.user_id)
    assert [e.after["name"] for e in by_manager] == ["A2", "B1"]
    # Ids are stored as text; an int or a string both find them.
    on_a = audit.list_entries(db, admin, target_type="org_unit", target_id=team_a)
    assert [e.after["name"] for e in on_a] == ["A2", "A1", "Team A"]  # with its creation
    assert audit.list_entries(db, admin, target_id=str(team_a), target_type="org_unit") == on_a
    # `since` counts, `until` does not.
    first_day = audit.list_entries(db, admin, since=T0, until=T0 + timedelta(hours=1))
    assert [e.after["name"] for e in first_day] == ["A1"]
    later = audit.list_entries(db, admin, since=T0 + timedelta(hours=1))
    assert [e.action for e in later] == ["setting.update", "org_unit.rename", "org_unit.rename"]
    assert audit.count_entries(db, admin, since=T0 + timedelta(hours=1)) == 3
    assert audit.count_entries(db, admin, action="org_unit.rename", actor_id=admin.user_id) == 1


def test_search_pages_on_the_server_with_a_total_and_actor_names(db, company):
    admin, _ = actors(db, company)
    for n in range(7):
        clock.freeze(T0 + timedelta(minutes=n))
        audit.record(db, admin, "setting.update", "setting", "login.lock_minutes", n, n + 1)
    audit.record(db, SYSTEM, "setting.update", "setting", "login.lock_minutes", 7, 8)
    db.flush()

    first = audit.search_entries(db, admin, action="setting.update", limit=3, offset=0)
    assert first.total == 8
    assert [r.after for r in first.rows] == [8, 7, 6]
    assert first.rows[0].actor_id is None and first.rows[0].actor_name is None  # the system
    assert (first.rows[1].actor_username, first.rows[1].actor_name) == ("admin", "Admin")
    last = audit.search_entries(db, admin, action="setting.update", limit=3, offset=6)
    assert [r.after for r in last.rows] == [2, 1]
    assert last.total == 8
    beyond = audit.search_entries(db, admin, action="setting.update", limit=3, offset=30)
    assert (beyond.rows, beyond.total) == ([], 8)


def test_actions_target_types_and_actor_lookup(db, company):
    admin, _ = actors(db, company)
    rename_unit(db, admin, company.units["team_c"].id, "Team Sea")
    set_setting(db, admin, "login.lock_minutes", 20)
    assert audit.audit_actions(db, admin) == [
        "org_unit.create",
        "org_unit.rename",
        "setting.update",
        "user.create",
    ]
    assert audit.audit_target_types(db, admin) == ["org_unit", "setting", "user"]
    assert audit.actor_id_for_username(db, admin, " BJ_Manager ") == company.users["bj_manager"].id
    assert audit.actor_id_for_username(db, admin, "nobody") is None
    assert audit.actor_id_for_username(db, admin, "  ") is None


def test_every_known_action_has_a_label_in_both_languages():
    actions = (
        "org_unit.create org_unit.rename org_unit.move org_unit.enable org_unit.disable "
        "org_unit.set_head org_unit.set_line user.create user.update user.set_roles "
        "user.reset_password user.change_password role.create role.update role.delete "
        "setting.update roster.apply phone.unmask"
    ).split()
    assert [a for a in actions if not is_message(label_of("audit.action", a))] == []


@pytest.mark.parametrize(
    "read",
    [
        lambda db, who: audit.list_entries(db, who),
        lambda db, who: audit.count_entries(db, who),
        lambda db, who: audit.search_entries(db, who),
        lambda db, who: audit.audit_actions(db, who),
        lambda db, who: audit.audit_target_types(db, who),
        lambda db, who: audit.actor_id_for_username(db, who, "admin"),
    ],
)
def test_a_sales_manager_cannot_read_the_log(db, company, read):
    _, manager = actors(db, company)
    with pytest.raises(PermissionDenied):
        read(db, manager)


# The page, through AppTest.


@pytest.fixture
def app_company(company, db, app_settings):
    clock.reset()
    admin = company.actor(db, "admin")
    rename_unit(db, admin, company.units["team_a"].id, "Team Alpha")
    set_setting(db, admin, "login.lock_minutes", 25)
    db.commit()
    return company


def open_page(username: str = "admin"):
    from tests.apptest import login

    at = login(username)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_admin_sees_entries_and_filters_by_action(app_company):
    at = open_page()
    frame = at.dataframe[0].value
    assert {
        translate("Unit renamed", "zh"),
        translate("Setting changed", "zh"),
        translate("User created", "zh"),
        translate("Unit created", "zh"),
    } <= set(frame[translate("Action", "zh")])
    renamed = frame[frame[translate("Action", "zh")] == translate("Unit renamed", "zh")].iloc[0]
    assert renamed[translate("Actor", "zh")] == "Admin (admin)"
    assert renamed[translate("Target", "zh")] == f"组织 {app_company.units['team_a'].id}"
    assert (
        '"name":"Team A"' in renamed[translate("Before", "zh")]
        and '"name":"Team Alpha"' in renamed[translate("After", "zh")]
    )

    at.selectbox(key="audit_action").set_value("org_unit.rename").run()
    assert not at.exception
    narrowed = at.dataframe[0].value
    assert len(narrowed) == 1 < len(frame)
    assert set(narrowed[translate("Action", "zh")]) == {translate("Unit renamed", "zh")}


def test_admin_filters_by_actor_and_sees_an_unknown_one_refused(app_company):
    at = open_page()
    at.text_input(key="audit_actor").input("admin").run()
    assert set(at.dataframe[0].value[translate("Actor", "zh")]) == {"Admin (admin)"}
    at.text_input(key="audit_actor").input("ghost").run()
    assert not at.exception
    assert any("ghost" in w.value for w in at.warning)
    assert len(at.dataframe) == 0


def test_pages_through_the_log(app_company, db):
    admin = app_company.actor(db, "admin")
    for n in range(60):
        audit.record(db, admin, "setting.update", "setting", "login.lock_minutes", n, n + 1)
    db.commit()
    at = open_page()
    at.selectbox(key="audit_action").set_value("setting.update").run()
    assert len(at.dataframe[0].value) == 50
    assert any("第 1 / 2 页(共 61 条)" in c.value for c in at.caption)
    at.number_input(key="audit_page").set_value(2).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 11
    # A changed filter starts again from the first page.
    at.selectbox(key="audit_target_type").set_value("setting").run()
    assert at.number_input(key="audit_page").value == 1


def test_the_page_is_read_only(app_company):
    at = open_page()
    assert [b.key for b in at.button] == ["crm_logout"]  # no edit or delete controls
    assert at.dataframe[0].proto.editing_mode == 0  # READ_ONLY, not a data editor


@pytest.mark.parametrize("username", ["rep_a1", "bj_manager"])
def test_rep_and_sales_manager_cannot_open_the_page(app_company, username):
    from tests.apptest import assert_page_refused, signed_in

    assert_page_refused(signed_in(username), PAGE)
