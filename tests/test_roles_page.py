"""The roles page: the admin's matrix and forms, refusals shown translated, who may open it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import Role
from crm_core.org.roles import list_roles
from crm_core.platform.i18n import LANGUAGES, NC_, is_message, label_of, translate
from crm_core.platform.permissions import Permission
from tests.apptest import assert_page_refused, login, signed_in
from tests.browser import app_with_company, idle, launch, require_chromium, sign_in
from tests.factories import PASSWORD, SYSTEM

PAGE = "pages/admin/roles.py"


def open_page(username: str = "admin"):
    at = login(username)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_every_permission_has_a_label_in_both_languages():
    assert [p for p in Permission if not is_message(label_of("permission", p))] == []
    for language in LANGUAGES:
        labels = [translate(label_of("permission", p), language) for p in Permission]
        assert len(set(labels)) == len(labels), language  # the matrix rows stay distinct


def test_admin_sees_the_matrix_and_the_roles(app_env, db):
    at = open_page()
    assert [t.value for t in at.title] == [translate("Roles and permissions", "zh")]
    codes = {r.code: r.id for r in list_roles(db, app_env.actor(db, "admin"))}
    matrix = at.dataframe[0].value  # the editor: a row per permission, a column per role
    assert len(matrix) == len(Permission)
    assert bool(matrix.loc[translate("Manage roles", "zh"), f"r{codes['admin']}"])
    assert not bool(matrix.loc[translate("Manage roles", "zh"), f"r{codes['rep']}"])
    assert bool(matrix.loc[translate("View leads", "zh"), f"r{codes['rep']}"])
    overview = at.dataframe[1].value
    assert translate("Sales manager", "zh") in set(overview[translate(NC_("org", "Name"), "zh")])
    assert (
        dict(
            zip(
                overview[translate(NC_("roles", "Code"), "zh")],
                overview[translate("Holders", "zh")],
                strict=True,
            )
        )["rep"]
        == 4
    )


def test_admin_creates_a_role_through_the_form(app_env, db):
    at = open_page()
    at.text_input(key="roles_new_code_0").input("night_shift")
    at.text_input(key="roles_new_name_0").input("Night shift")
    at.selectbox(key="roles_new_scope_0").set_value("team")
    at.multiselect(key="roles_new_perms_0").select("view_leads").select("view_opportunities")
    button(at, translate("Create role", "zh")).click()
    at.run()
    assert not at.exception, at.exception
    assert any("Night shift" in s.value for s in at.success)
    assert at.text_input(key="roles_new_code_1").value == ""  # the form starts empty again
    db.expire_all()
    role = db.exec(select(Role).where(Role.code == "night_shift")).one()
    assert role.name == "Night shift"
    assert role.data_scope == "team"
    assert sorted(role.permissions) == ["view_leads", "view_opportunities"]
    assert not role.builtin


def test_a_refused_new_role_keeps_the_input_and_shows_why(app_env, db):
    at = open_page()
    at.text_input(key="roles_new_code_0").input("Bad Code!")
    at.text_input(key="roles_new_name_0").input("Bad")
    button(at, translate("Create role", "zh")).click()
    at.run()
    assert not at.exception
    assert any("角色编码须为" in e.value for e in at.error)
    assert at.text_input(key="roles_new_code_0").value == "Bad Code!"


def test_admin_sets_a_custom_scope_for_a_role(app_env, db):
    at = open_page()
    at.text_input(key="roles_new_code_0").input("auditor")
    at.text_input(key="roles_new_name_0").input("Auditor")
    button(at, translate("Create role", "zh")).click()
    at.run()
    role_id = db.exec(select(Role.id).where(Role.code == "auditor")).one()
    at.selectbox(key="roles_edit_choice").set_value(role_id).run()
    assert not at.exception
    at.selectbox(key=f"roles_scope_{role_id}").set_value("custom").run()
    shanghai = app_env.units["shanghai"].id
    at.multiselect(key=f"roles_units_{role_id}").select(shanghai)
    at.button(key=f"roles_save_{role_id}").click()
    at.run()
    assert not at.exception, at.exception
    db.expire_all()
    role = db.get(Role, role_id)
    assert (role.data_scope, role.scope_unit_ids) == ("custom", [shanghai])


def test_deleting_a_builtin_role_shows_the_translated_refusal(app_env, db):
    at = open_page()
    rep = db.exec(select(Role.id).where(Role.code == "rep")).one()
    at.selectbox(key="roles_delete_choice").set_value(rep)
    button(at, translate("Delete a role", "zh")).click()
    at.run()
    assert not at.exception
    assert any("内置角色 rep 不能删除" in e.value for e in at.error)
    assert db.get(Role, rep) is not None


def test_deleting_an_unused_role_through_the_page(app_env, db):
    at = open_page()
    at.text_input(key="roles_new_code_0").input("temp_role")
    at.text_input(key="roles_new_name_0").input("Temp")
    button(at, translate("Create role", "zh")).click()
    at.run()
    role_id = db.exec(select(Role.id).where(Role.code == "temp_role")).one()
    at.selectbox(key="roles_delete_choice").set_value(role_id)
    button(at, translate("Delete a role", "zh")).click()
    at.run()
    assert not at.exception, at.exception
    assert any("Temp" in s.value for s in at.success)
    db.expire_all()
    assert db.get(Role, role_id) is None
    assert "temp_role" not in [r.code for r in list_roles(db, app_env.actor(db, "admin"))]


def test_saving_an_unchanged_matrix_changes_nothing(app_env):
    at = open_page()
    button(at, translate("Save matrix", "zh")).click()
    at.run()
    assert not at.exception
    assert any(translate("No permission was changed.", "zh") in i.value for i in at.info)


@pytest.mark.parametrize("username", ["rep_a1", "bj_manager"])
def test_rep_and_sales_manager_cannot_open_the_page(app_env, username):
    assert_page_refused(signed_in(username), PAGE)


# The matrix itself needs a browser: AppTest cannot tick data_editor cells.
REP_COLUMN = 6  # index, admin, executive, finance, marketing, qa_inspector, rep
EXPORT_ROW = 3  # view, create, import, export


def add_role_keeper(session, company):
    """A user who manages roles but holds only a rep's permissions, over Beijing."""
    from crm_core.org.roles import save_role
    from crm_core.org.users import create_user
    from crm_core.platform.permissions import BUILTIN_ROLES

    rep_permissions = sorted(BUILTIN_ROLES["rep"][0])
    # A rep's discount limit too: editing a role with a larger one is refused for that.
    save_role(
        session,
        SYSTEM,
        code="role_keeper",
        name="Role keeper",
        data_scope="subtree",
        permissions=[*rep_permissions, Permission.MANAGE_ROLES],
        max_discount_pct=10,
    )
    create_user(
        session,
        SYSTEM,
        username="keeper",
        full_name="Keeper",
        employee_no="E0100",
        password=PASSWORD,
        org_unit_id=company.units["beijing"].id,
        role_codes=["role_keeper"],
    )
    session.commit()


def tick_export_for_rep(page) -> None:
    """Tick the rep's export cell in the matrix and save it."""
    from playwright.sync_api import expect

    expect(
        page.get_by_role("heading", name=translate("Roles and permissions", "zh"))
    ).to_be_visible(timeout=30_000)
    idle(page)
    # The grid lays itself out after the run ends: wait for its full width and its canvas.
    page.wait_for_function(
        "document.querySelector('[data-testid=stDataFrameResizable]')?.offsetWidth > 600"
    )
    expect(page.get_by_test_id("data-grid-canvas").first).to_be_visible()
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    idle(page)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 30, box["y"] + 35 * (EXPORT_ROW + 1) + 17)  # the row's label
    page.wait_for_function("document.activeElement?.closest('[data-testid=stDataFrame]') != null")
    for _ in range(REP_COLUMN):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.get_by_role("button", name=translate("Save matrix", "zh")).click()
    idle(page)


def rep_permissions(engine) -> list[str]:
    from sqlmodel import Session

    with Session(engine) as session:
        return session.exec(select(Role).where(Role.code == "rep")).one().permissions


@pytest.mark.browser
def test_matrix_saves_for_the_admin_and_refuses_what_the_editor_lacks(
    engine, database_url, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    require_chromium()
    with (
        app_with_company(engine, database_url, tmp_path, add_role_keeper) as url,
        sync_playwright() as p,
    ):
        browser = launch(p)
        try:
            keeper = browser.new_context(viewport={"width": 1600, "height": 1400}).new_page()
            sign_in(keeper, url, "keeper", PASSWORD)
            keeper.get_by_role("link", name=translate(NC_("nav", "Roles"), "zh")).click()
            tick_export_for_rep(keeper)
            expect(keeper.get_by_text("无法授予角色 rep:其中包含您没有的权限。")).to_be_visible()
            assert "export_leads" not in rep_permissions(engine)

            admin = browser.new_context(viewport={"width": 1600, "height": 1400}).new_page()
            sign_in(admin, url, "admin", PASSWORD)
            admin.get_by_role("link", name=translate(NC_("nav", "Roles"), "zh")).click()
            tick_export_for_rep(admin)
            expect(admin.get_by_text("课程顾问 的权限已保存。")).to_be_visible()
            assert "export_leads" in rep_permissions(engine)
        finally:
            browser.close()
