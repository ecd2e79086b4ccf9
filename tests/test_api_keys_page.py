"""The API keys page (administrators), in both languages: create a key (shown once), see it
listed with its scope and last use, rotate and revoke it - each change audited."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.leads.api_keys import authenticate_key
from crm_core.models import ApiKey, AuditLog
from crm_core.platform.i18n import translate
from tests.apptest import assert_page_refused, login

PAGE = "pages/admin/api_keys.py"


def _open(app_env, session, username: str, language: str):
    user = app_env.users[username]
    user.language = language
    session.add(user)
    session.commit()
    at = login(username)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_administrator_creates_rotates_and_revokes_a_key(app_env, committed_db, language):
    at = _open(app_env, committed_db, "admin", language)
    assert at.title[0].value == translate("API keys", language)
    at.text_input(key="api_key_name").input("Website form")
    at.multiselect(key="api_key_channels").select("form")
    at.multiselect(key="api_key_lines").select(app_env.line.id)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    shown = at.code[0].value
    assert shown.startswith("crm_")
    assert authenticate_key(committed_db, shown).name == "Website form"
    # Shown once: the next run no longer has it.
    at.run()
    assert not at.code
    table = at.dataframe[0].value
    assert table.iloc[0, 0] == "Website form"
    assert translate("Never", language) in set(table.iloc[0])
    at.button(key="api_key_rotate").click().run()
    assert not at.exception, at.exception
    rotated = at.code[0].value
    assert rotated != shown and authenticate_key(committed_db, rotated).name == "Website form"
    at.button(key="api_key_revoke").click().run()
    assert not at.exception, at.exception
    committed_db.expire_all()
    key = committed_db.exec(select(ApiKey)).one()
    assert key.revoked_at is not None
    actions = committed_db.exec(
        select(AuditLog.action).where(AuditLog.target_type == "api_key").order_by(AuditLog.id)
    ).all()
    assert list(actions) == ["api_key.create", "api_key.rotate", "api_key.revoke"]


def test_a_key_without_a_scope_is_refused_with_a_message(app_env, committed_db):
    at = _open(app_env, committed_db, "admin", "en")
    at.text_input(key="api_key_name").input("No scope")
    at.button[0].click().run()
    assert not at.exception
    assert at.error and at.error[0].value == translate("Choose at least one channel.", "en")


def test_a_manager_cannot_open_the_page(app_env):
    at = login("bj_manager")
    assert_page_refused(at, PAGE)
