"""AppTest: the login page, each role's page set, and a refused admin page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from crm_core.platform.i18n import translate
from tests.apptest import APP, assert_page_refused, login, open_pages

ADMIN_PAGES = {
    "pages/admin/settings.py",
    "pages/admin/login_log.py",
    "pages/admin/metadata.py",
    "pages/admin/api_keys.py",
}


def test_login_page_shows_the_form(app_env):
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert len(at.text_input) == 2
    assert [w.label for w in at.text_input] == [
        translate("Username", "zh"),
        translate("Password", "zh"),
    ]


def test_wrong_password_is_refused_with_a_message(app_env):
    at = login("rep_a1", "wrong-password1")
    assert not at.exception
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert at.session_state["authentication_status"] is False


def test_rep_logs_in_and_sees_home(app_env):
    at = login("rep_a1")
    assert not at.exception, at.exception
    assert at.session_state["authentication_status"] is True
    assert any("Rep A1" in t.value for t in at.title)


EVERYONE = {
    "pages/workspace/home.py",
    "pages/workspace/account.py",
    "pages/workspace/approval_inbox.py",
}
SEES_OPPORTUNITIES = {
    "pages/sales/board.py",
    "pages/sales/opportunity.py",
    "pages/circulation/flow_log.py",
    "pages/leads/library.py",
}
DASHBOARDS = {
    "pages/dashboards/funnel.py",
    "pages/dashboards/circulation_health.py",
    "pages/dashboards/performance.py",
    "pages/dashboards/channel_roi.py",
    "pages/dashboards/rankings.py",
    "pages/sales/targets.py",
}
REP_PAGES = (
    EVERYONE
    | SEES_OPPORTUNITIES
    | {
        "pages/sales/workbench.py",
        "pages/circulation/pool.py",
        "pages/dashboards/rankings.py",
        "pages/workspace/qa_results.py",
    }
)
MANAGER_PAGES = (
    REP_PAGES
    | DASHBOARDS
    | {
        "pages/sales/approvals.py",
        "pages/leads/lead_import.py",
        "pages/circulation/desk.py",
        "pages/circulation/rules.py",
        "pages/admin/history_import.py",
        "pages/admin/org.py",
        "pages/admin/users.py",
        "pages/admin/roster.py",
        "pages/leads/sms.py",
        "pages/workspace/qa.py",
    }
)
EXECUTIVE_PAGES = EVERYONE | SEES_OPPORTUNITIES | DASHBOARDS
ALL_PAGES = (
    MANAGER_PAGES
    | ADMIN_PAGES
    | {
        "pages/sales/payments.py",
        "pages/workspace/customers.py",
        "pages/leads/learning_import.py",
        "pages/admin/roles.py",
        "pages/admin/products.py",
        "pages/admin/audit_log.py",
        "pages/admin/custom_fields.py",
        "pages/admin/call_centre.py",
        "pages/admin/work_chat.py",
        "pages/admin/approval_flows.py",
    }
)


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("rep_a1", REP_PAGES),
        ("bj_manager", MANAGER_PAGES),
        ("boss", EXECUTIVE_PAGES),
        ("admin", ALL_PAGES),
    ],
)
def test_each_role_gets_its_page_set(app_env, username, expected):
    # The page set is what the app's navigation registered for the user: exactly these.
    at = login(username)
    assert not at.exception, at.exception
    assert open_pages(at) == expected
    for page in sorted(ADMIN_PAGES - expected):
        assert_page_refused(at, page)
    for page in sorted(ADMIN_PAGES & expected):
        at.switch_page(page).run()
        assert not at.exception, at.exception


def test_rep_asking_for_admin_page_is_refused(app_env):
    at = login("rep_a1")
    assert_page_refused(at, "pages/admin/settings.py")


def test_admin_changes_a_setting(app_env, db):
    from crm_core.platform.settings import get_setting

    at = login("admin")
    at.switch_page("pages/admin/settings.py").run()
    assert not at.exception
    at.number_input(key="setting_login.max_failed_attempts").set_value(7)
    next(b for b in at.button if b.label == translate("Save settings", "zh")).click()
    at.run()
    assert not at.exception
    db.expire_all()
    assert get_setting(db, "login.max_failed_attempts") == 7


def test_resigned_user_is_signed_out_at_the_next_rerun(app_env, db):
    at = login("rep_a1")
    assert at.session_state["authentication_status"] is True
    user = app_env.users["rep_a1"]
    user.status = "resigned"
    db.add(user)
    db.commit()
    at.run()
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert any(
        translate("Your session has ended. Please sign in again.", "zh") in i.value for i in at.info
    )
    assert [w.label for w in at.text_input] == [
        translate("Username", "zh"),
        translate("Password", "zh"),
    ]


def test_log_out_button_signs_out(app_env):
    at = login("rep_a1")
    at.button(key="crm_logout").click()
    at.run()
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert [w.label for w in at.text_input] == [
        translate("Username", "zh"),
        translate("Password", "zh"),
    ]


def test_language_switch_is_remembered_per_user(app_env, db):
    from crm_core.models import User

    at = login("rep_a1")
    at.selectbox(key="crm_language_picker").set_value("en")
    at.run()
    assert not at.exception
    assert any("Welcome, Rep A1" in t.value for t in at.title)
    db.expire_all()
    assert db.get(User, app_env.users["rep_a1"].id).language == "en"


def test_forced_password_change_shows_only_the_account_page(app_env, db):
    user = app_env.users["rep_a1"]
    user.must_change_password = True
    db.add(user)
    db.commit()
    at = login("rep_a1")
    assert not at.exception
    assert any(
        translate("Please choose a new password before you continue.", "zh") in w.value
        for w in at.warning
    )
    assert open_pages(at) == {"pages/workspace/account.py"}
    assert_page_refused(at, "pages/workspace/home.py")


def test_admin_reads_the_sign_in_log(app_env):
    login("rep_a1", "wrong-password1")
    at = login("admin")
    at.switch_page("pages/admin/login_log.py").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert "rep_a1" in set(frame[translate("Username", "zh")])
    assert translate("Wrong password", "zh") in set(frame[translate("Detail", "zh")])
