"""Sign-in rules: lockout and its expiry, inactive accounts, revoked sessions, timing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.models import LoginEvent, User
from crm_core.org import auth
from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.platform.settings import set_setting
from tests.factories import PASSWORD, SYSTEM, build_small_company

KEY = "unit-test-cookie-key-0123456789abcdef"


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 11, 2, 9, 0))
    return build_small_company(db)


def events(db, username):
    return [
        e.event
        for e in db.exec(
            select(LoginEvent).where(LoginEvent.username == username).order_by(LoginEvent.id)
        ).all()
    ]


def test_right_password_signs_in_and_is_logged(db, company):
    result = auth.authenticate(db, "  Rep_A1 ", PASSWORD)
    assert result.ok and result.user_id == company.users["rep_a1"].id
    assert events(db, "rep_a1") == ["success"]


def test_five_failures_lock_the_account_then_the_lock_expires(db, company):
    for _ in range(4):
        assert auth.authenticate(db, "rep_a1", "wrong-pass1").reason == "bad_credentials"
    fifth = auth.authenticate(db, "rep_a1", "wrong-pass1")
    assert fifth.reason == "locked"
    assert fifth.locked_until == clock.now() + timedelta(minutes=15)
    # Locked: even the right password is refused, and the refusal is logged.
    assert auth.authenticate(db, "rep_a1", PASSWORD).reason == "locked"
    clock.advance(timedelta(minutes=14, seconds=59))
    assert auth.authenticate(db, "rep_a1", PASSWORD).reason == "locked"
    clock.advance(timedelta(seconds=2))
    assert auth.authenticate(db, "rep_a1", PASSWORD).ok
    assert events(db, "rep_a1") == ["failure"] * 5 + [
        "locked",
        "refused_locked",
        "refused_locked",
        "success",
    ]


def test_lockout_threshold_and_duration_are_settings(db, company):
    set_setting(db, SYSTEM, "login.max_failed_attempts", 2)
    set_setting(db, SYSTEM, "login.lock_minutes", 60)
    db.commit()
    auth.authenticate(db, "rep_a1", "wrong-pass1")
    locked = auth.authenticate(db, "rep_a1", "wrong-pass1")
    assert locked.reason == "locked"
    assert locked.locked_until == clock.now() + timedelta(minutes=60)


def test_success_resets_the_failure_count(db, company):
    for _ in range(4):
        auth.authenticate(db, "rep_a1", "wrong-pass1")
    assert auth.authenticate(db, "rep_a1", PASSWORD).ok
    for _ in range(4):
        assert auth.authenticate(db, "rep_a1", "wrong-pass1").reason == "bad_credentials"


def test_unknown_user_is_logged_and_answered_like_a_wrong_password(db, company):
    result = auth.authenticate(db, "nobody", "whatever1")
    assert (result.ok, result.reason) == (False, "bad_credentials")
    assert events(db, "nobody") == ["failure"]


@pytest.mark.parametrize("change", [{"status": "resigned"}, {"enabled": False}])
def test_resigned_or_disabled_user_is_refused(db, company, change):
    user = company.users["rep_a1"]
    for field, value in change.items():
        setattr(user, field, value)
    db.add(user)
    db.commit()
    assert auth.authenticate(db, "rep_a1", PASSWORD).reason == "inactive"
    # and an existing session of theirs ends at its next check
    assert auth.session_user(db, "rep_a1", clock.now() - timedelta(minutes=5)) is None


def test_user_on_leave_may_still_sign_in(db, company):
    user = company.users["rep_a1"]
    user.status = "on_leave"
    db.add(user)
    db.commit()
    assert auth.authenticate(db, "rep_a1", PASSWORD).ok


def test_log_out_revokes_every_earlier_cookie(db, company):
    issued = clock.now()
    token = auth.encode_session_token("rep_a1", issued, time.time() + 86400, KEY)
    decoded = auth.decode_session_token(token, KEY, 1.0, time.time())
    assert decoded.issued_at == issued
    assert auth.session_user(db, "rep_a1", decoded.issued_at) is not None
    clock.advance(timedelta(minutes=1))
    auth.log_out(db, company.users["rep_a1"].id)
    assert auth.session_user(db, "rep_a1", decoded.issued_at) is None
    # A session started after the log-out is fine.
    clock.advance(timedelta(seconds=1))
    assert auth.session_user(db, "rep_a1", clock.now()) is not None
    assert events(db, "rep_a1")[-1] == "logout"


def test_password_change_revokes_earlier_sessions(db, company):
    actor = company.actor(db, "rep_a1")
    before = clock.now()
    clock.advance(timedelta(seconds=5))
    auth.change_password(db, actor, PASSWORD, "n3w-password")
    assert auth.session_user(db, "rep_a1", before) is None
    assert auth.authenticate(db, "rep_a1", PASSWORD).reason == "bad_credentials"
    assert auth.authenticate(db, "rep_a1", "n3w-password").ok


def test_password_rules(db, company):
    actor = company.actor(db, "rep_a1")
    from crm_core.platform.errors import ValidationError

    for old, new, key in [
        ("wrong-one1", "n3w-password", "The current password is not correct."),
        (PASSWORD, "short1", "The password must have at least {minimum} characters."),
        (PASSWORD, "lettersonly", "The password must contain letters and digits."),
        (PASSWORD, PASSWORD, "The new password must differ from the current one."),
    ]:
        with pytest.raises(ValidationError) as caught:
            auth.change_password(db, actor, old, new)
        assert caught.value.key == key


def test_forged_or_expired_cookie_is_not_accepted(db, company):
    token = auth.encode_session_token("rep_a1", clock.now(), time.time() + 60, KEY)
    assert (
        auth.decode_session_token(token, "another-key-0123456789abcdef-0123456789", 1, time.time())
        is None
    )
    assert auth.decode_session_token(token, KEY, 1, time.time() + 120) is None
    assert auth.decode_session_token("not-a-token", KEY, 1, time.time()) is None


def test_cookie_without_issue_time_takes_it_from_expiry(db, company):
    import jwt

    expires = datetime(2026, 11, 9, 9, 0)
    token = jwt.encode(
        {"username": "rep_a1", "exp_date": expires.timestamp()}, KEY, algorithm="HS256"
    )
    decoded = auth.decode_session_token(token, KEY, 7.0, expires.timestamp() - 10)
    expected = datetime.fromtimestamp(expires.timestamp() - 7 * 86400, UTC).replace(tzinfo=None)
    assert decoded.issued_at == expected


def test_unknown_user_takes_as_long_as_a_wrong_password(db, company, monkeypatch):
    # The time of a sign-in is bcrypt's: each path must run exactly one check at the cost of
    # the account's own hash. Spying on the checks shows that without timing anything.
    monkeypatch.setenv("CRM_BCRYPT_ROUNDS", "6")
    user = db.exec(select(User).where(User.username == "rep_b1")).one()
    user.password_hash = auth.hash_password(PASSWORD)
    db.add(user)
    db.commit()
    set_setting(db, SYSTEM, "login.max_failed_attempts", 100)
    db.commit()
    checked: list[str] = []
    real_checkpw = auth.bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        checked.append(hashed.decode())
        return real_checkpw(password, hashed)

    monkeypatch.setattr(auth.bcrypt, "checkpw", spy)

    def hashes_checked(username: str) -> list[str]:
        checked.clear()
        assert not auth.authenticate(db, username, "wrong-pass1").ok
        return list(checked)

    assert hashes_checked("rep_b1") == [user.password_hash]
    (unknown,) = hashes_checked("ghost")
    assert unknown.startswith("$2b$06$")
    # A locked account costs the same too, checked against a dummy, never its own hash.
    user.locked_until = clock.now() + timedelta(hours=1)
    db.add(user)
    db.commit()
    (locked,) = hashes_checked("rep_b1")
    assert locked.startswith("$2b$06$") and locked != user.password_hash


@pytest.mark.parametrize(
    ("key", "value", "reason", "params"),
    [
        (
            "login.max_failed_attempts",
            0,
            "{setting}: must be at least {minimum}.",
            {"setting": "login.max_failed_attempts", "minimum": 1},
        ),
        (
            "login.lock_minutes",
            10**6,
            "{setting}: must be at most {maximum}.",
            {"setting": "login.lock_minutes", "maximum": 24 * 60},
        ),
        (
            "login.lock_minutes",
            "soon",
            "{setting}: wrong type of value.",
            {"setting": "login.lock_minutes"},
        ),
        ("no.such.setting", 1, "Unknown setting {setting}.", {"setting": "no.such.setting"}),
    ],
)
def test_a_setting_out_of_bounds_is_refused_with_its_reason(db, key, value, reason, params):
    with pytest.raises(ValidationError) as error:
        set_setting(db, SYSTEM, key, value)
    assert (error.value.key, error.value.params) == (reason, params)
