"""A clean start (issue 18, item 1): `python -m db.setup` and the console's setup page make
an empty company through `crm_core.org.setup`; the one-time token works once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from crm_core.models import BusinessLine, Lead, OrgUnit, Role, SetupToken, User, UserRole
from crm_core.org.auth import authenticate
from crm_core.org.setup import (
    check_setup_token,
    create_company,
    create_company_with_token,
    create_setup_token,
    needs_setup,
)
from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import translate
from crm_core.platform.permissions import BUILTIN_ROLES
from crm_core.platform.settings import get_setting
from db import setup as setup_command
from tests.apptest import APP
from tests.conftest import empty_database

PASSWORD = "Start1234"


def _count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def empty_url(database_url, engine, committed_db):
    """The suite's database with no rows at all (not even the bootstrap's)."""
    empty_database(engine)
    return database_url


def _run_command(url: str, tmp_path, *extra: str) -> int:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    return setup_command.main(
        [
            "--database",
            url,
            "--company",
            "Acme Learning",
            "--time-zone",
            "America/New_York",
            "--currency",
            "usd",
            "--admin",
            "Boss",
            "--admin-password-file",
            str(secret),
            *extra,
        ]
    )


def test_the_command_makes_an_empty_company(empty_url, engine, tmp_path):
    assert _run_command(empty_url, tmp_path) == 0
    with Session(engine) as s:
        assert not needs_setup(s)
        (admin,) = s.exec(select(User)).all()
        assert admin.username == "boss" and admin.must_change_password
        roles = s.exec(select(Role.code).join(UserRole, UserRole.role_id == Role.id)).all()
        assert roles == ["admin"]
        assert {r.code for r in s.exec(select(Role)).all()} == set(BUILTIN_ROLES)
        (unit,) = s.exec(select(OrgUnit)).all()
        assert unit.name == "Acme Learning" and admin.org_unit_id == unit.id
        assert unit.path == f"/{unit.id}/" and unit.parent_id is None
        assert _count(s, BusinessLine) == 0 and _count(s, Lead) == 0
        assert get_setting(s, "company.name") == "Acme Learning"
        assert get_setting(s, "company.time_zone") == "America/New_York"
        assert get_setting(s, "company.currency") == "USD"
        # The administrator signs in with the password and is asked to change it.
        result = authenticate(s, "boss", PASSWORD)
        assert result.ok


def test_the_command_refuses_a_database_with_users(empty_url, engine, tmp_path, capsys):
    assert _run_command(empty_url, tmp_path) == 0
    capsys.readouterr()
    assert _run_command(empty_url, tmp_path) == 2
    assert (
        translate(
            "This database already holds user accounts: a clean start is only for an empty database.",
            "en",
        )
        in capsys.readouterr().err
    )
    with Session(engine) as s:
        assert _count(s, User) == 1 and _count(s, OrgUnit) == 1


def test_the_command_refuses_a_weak_password(empty_url, engine, tmp_path):
    secret = tmp_path / "weak.txt"
    secret.write_text("short", encoding="utf-8")
    code = setup_command.main(
        ["--database", empty_url, "--company", "A", "--admin", "a"]
        + ["--admin-password-file", str(secret)]
    )
    assert code == 1
    with Session(engine) as s:
        assert needs_setup(s) and _count(s, OrgUnit) == 0


def test_create_company_refuses_users_and_bad_values(db):
    with pytest.raises(ValidationError) as refused:
        create_company(
            db,
            company_name="X",
            time_zone="Mars/Olympus",
            currency="CNY",
            admin_username="a",
            admin_password=PASSWORD,
        )
    assert refused.value.key == "“{zone}” is not a known time zone."
    create_company(
        db,
        company_name="X",
        time_zone="Asia/Shanghai",
        currency="CNY",
        admin_username="a",
        admin_password=PASSWORD,
    )
    with pytest.raises(ValidationError) as refused:
        create_company(
            db,
            company_name="Y",
            time_zone="Asia/Shanghai",
            currency="CNY",
            admin_username="b",
            admin_password=PASSWORD,
        )
    assert (
        refused.value.key
        == "This database already holds user accounts: a clean start is only for an empty database."
    )


COMPANY = {
    "company_name": "Tokened",
    "time_zone": "Asia/Shanghai",
    "currency": "CNY",
    "admin_username": "root",
    "admin_password": PASSWORD,
}


def test_the_token_is_stored_hashed_and_works_once(db):
    token = create_setup_token(db)
    stored = db.exec(select(SetupToken)).one()
    assert token not in stored.token_hash
    assert check_setup_token(db, token).ok
    create_company_with_token(db, token, **COMPANY)
    assert not check_setup_token(db, token).ok
    assert create_setup_token(db) is None  # users exist: no more tokens
    with pytest.raises(ValidationError) as refused:
        create_company_with_token(db, token, **COMPANY)
    assert refused.value.key == "That setup token is not valid."


def test_a_newer_token_retires_the_older_one(db):
    first = create_setup_token(db)
    second = create_setup_token(db)
    assert not check_setup_token(db, first).ok
    assert check_setup_token(db, second).ok


def test_wrong_tokens_are_throttled_like_sign_in(db):
    token = create_setup_token(db)
    most = get_setting(db, "login.max_failed_attempts")
    for _ in range(most):
        assert check_setup_token(db, "wrong").key == "That setup token is not valid."
    # Locked out: even the right token is not checked now.
    locked = check_setup_token(db, token)
    assert (
        locked.key == "Too many wrong setup tokens. Try again in {minutes} minutes."
        and locked.minutes > 0
    )
    clock.freeze(clock.now() + timedelta(minutes=get_setting(db, "login.lock_minutes") + 1))
    assert check_setup_token(db, token).ok


def _setup_form(at: AppTest, token: str, password: str = PASSWORD, again: str | None = None):
    at.text_input(key="setup_token").input(token)
    at.text_input(key="setup_company").input("Page Company")
    at.text_input(key="setup_currency").input("USD")
    at.text_input(key="setup_username").input("Founder")
    at.text_input(key="setup_full_name").input("Ada Founder")
    at.text_input(key="setup_password").input(password)
    at.text_input(key="setup_again").input(password if again is None else again)
    at.selectbox(key="setup_zone").set_value("America/New_York")
    at.button[0].click()
    return at.run()


def test_the_setup_page_flow(empty_url, engine, app_settings):
    with Session(engine) as s:
        token = create_setup_token(s)
        s.commit()
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == translate("Set up your company", "zh")

    _setup_form(at, "not-the-token")
    assert [e.value for e in at.error] == [translate("That setup token is not valid.", "zh")]
    with Session(engine) as s:
        assert needs_setup(s)
        assert s.exec(select(SetupToken.failed_count)).one() == 1

    _setup_form(at, token, again="Different1")
    assert [e.value for e in at.error] == [translate("The two passwords differ.", "zh")]

    _setup_form(at, token)
    assert not at.exception and not at.error
    assert at.success[0].value == translate(
        "The company {company} is ready. Sign in as {username}; you will be asked to choose a new password.",
        "zh",
        company="Page Company",
        username="founder",
    )
    # The setup page is gone: the sign-in form is shown instead.
    assert translate("Set up your company", "zh") not in [t.value for t in at.title]
    with Session(engine) as s:
        admin = s.exec(select(User)).one()
        assert (admin.username, admin.full_name) == ("founder", "Ada Founder")
        assert admin.must_change_password
        assert get_setting(s, "company.time_zone") == "America/New_York"
        assert not check_setup_token(s, token).ok
    again = AppTest.from_file(APP, default_timeout=30).run()
    assert translate("Set up your company", "zh") not in [t.value for t in again.title]


def test_the_demo_database_shows_no_setup_page(committed_db, app_settings):
    from tests.factories import build_small_company

    build_small_company(committed_db)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert translate("Set up your company", "zh") not in [t.value for t in at.title]


def test_every_admin_page_opens_on_a_clean_start(empty_url, engine, app_settings):
    """The empty company (one unit, one administrator, no business line) is a working
    console: each of the administrator's pages opens without an exception or error box."""
    from crm_core.org.access import load_actor
    from tests.apptest import signed_in
    from ui.navigation import allowed_pages

    with Session(engine) as s:
        made = create_company(s, **COMPANY)
        s.get(User, made.admin_user_id).must_change_password = False
        s.commit()
        actor = load_actor(s, made.admin_user_id)
    for page in allowed_pages(actor):
        at = signed_in("root")
        at.switch_page(page.path).run()
        assert not at.exception, page.path
        assert not at.error, (page.path, [e.value for e in at.error])
