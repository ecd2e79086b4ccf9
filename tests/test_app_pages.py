"""AppTest: the login page, each role's page set, and a refused admin page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import APP, login

ADMIN_PAGES = {"pages/admin/settings.py", "pages/admin/login_log.py"}


def test_login_page_shows_the_form(app_env):
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert len(at.text_input) == 2
    assert [w.label for w in at.text_input] == ["用户名", "密码"]


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


@pytest.mark.parametrize(
    ("username", "admin_pages"),
    [("rep_a1", False), ("bj_manager", False), ("boss", False), ("admin", True)],
)
def test_each_role_gets_its_page_set(app_env, username, admin_pages):
    at = login(username)
    for page in ADMIN_PAGES:
        if admin_pages:
            at.switch_page(page).run()
            assert not at.exception, at.exception
        else:
            with pytest.raises(Exception):  # noqa: B017 - AppTest raises a plain error
                at.switch_page(page).run()


def test_rep_asking_for_admin_page_is_refused(app_env):
    at = login("rep_a1")
    with pytest.raises(Exception, match="(?i)page"):
        at.switch_page("pages/admin/settings.py").run()


def test_admin_changes_a_setting(app_env, db):
    from crm_core.platform.settings import get_setting

    at = login("admin")
    at.switch_page("pages/admin/settings.py").run()
    assert not at.exception
    at.number_input(key="setting_login.max_failed_attempts").set_value(7)
    next(b for b in at.button if b.label == "保存设置").click()
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
    assert any("会话已结束" in i.value for i in at.info)
    assert [w.label for w in at.text_input] == ["用户名", "密码"]


def test_log_out_button_signs_out(app_env):
    at = login("rep_a1")
    at.button(key="crm_logout").click()
    at.run()
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert [w.label for w in at.text_input] == ["用户名", "密码"]


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
    assert any("请先设置新密码" in w.value for w in at.warning)
    with pytest.raises(Exception):  # noqa: B017
        at.switch_page("pages/workspace/home.py").run()


def test_admin_reads_the_sign_in_log(app_env):
    login("rep_a1", "wrong-password1")
    at = login("admin")
    at.switch_page("pages/admin/login_log.py").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert "rep_a1" in set(frame["用户名"])
    assert "密码错误" in set(frame["详情"])
