"""Regression tests for the sign-in findings of the security issue (3, 10, 12, 14, 15).

Each test is named after its finding and failed on the code before the fix.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from crm_core import auth, clock
from crm_core.models import LoginEvent, User
from db.engine import build_engine
from tests.factories import PASSWORD, build_small_company

WRONG = "wrong-pass1"
THREADS = 40
# Long enough for every thread of a burst to get its turn on a busy machine; the waits end
# as soon as the awaited thing happens, they are not sleeps.
GATE_TIMEOUT = 120


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 11, 2, 9, 0))
    return build_small_company(db)


@pytest.fixture
def threads_engine(database_url):
    """A connection per thread: the pool would make the burst queue for connections."""
    engine = build_engine(database_url, pooled=False)
    yield engine
    engine.dispose()


class HashSpy:
    """Counts the bcrypt checks made against one account's real hash, by password."""

    def __init__(self, monkeypatch, password_hash: str) -> None:
        self.password_hash = password_hash
        self.checked: list[str] = []
        self._lock = threading.Lock()
        self.hold_right = False
        self.right_in_check = threading.Event()
        self.release = threading.Event()
        original = auth.password_matches

        def spy(password: str, stored: str) -> bool:
            if stored == self.password_hash:
                with self._lock:
                    self.checked.append(password)
                if password == PASSWORD and self.hold_right:
                    # Keep the right password's check in flight while the burst runs.
                    self.right_in_check.set()
                    self.release.wait(GATE_TIMEOUT)
            return original(password, stored)

        monkeypatch.setattr(auth, "password_matches", spy)

    def count(self, password: str) -> int:
        return sum(1 for p in self.checked if p == password)


def _sign_in(engine, password: str, results: list, barrier: threading.Barrier | None = None):
    with Session(engine, expire_on_commit=False) as session:
        if barrier is not None:
            barrier.wait(GATE_TIMEOUT)
        results.append(auth.authenticate(session, "rep_a1", password))


def _burst(engine, passwords: list[str]) -> list[auth.LoginResult]:
    results: list[auth.LoginResult] = []
    barrier = threading.Barrier(len(passwords))
    threads = [
        threading.Thread(target=_sign_in, args=(engine, pw, results, barrier)) for pw in passwords
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GATE_TIMEOUT)
    assert len(results) == len(passwords)
    return results


def _account(db) -> User:
    db.expire_all()
    return db.exec(select(User).where(User.username == "rep_a1")).one()


def test_finding_3_parallel_guessing_passes_lockout(db, company, threads_engine, monkeypatch):
    """40 wrong passwords at once: only the allowed 5 reach bcrypt, and the account locks."""
    spy = HashSpy(monkeypatch, company.users["rep_a1"].password_hash)
    results = _burst(threads_engine, [WRONG] * THREADS)

    assert spy.count(WRONG) == 5, f"{spy.count(WRONG)} wrong passwords were checked"
    assert not any(r.ok for r in results)
    account = _account(db)
    assert account.locked_until == clock.now() + timedelta(minutes=15)
    # Every refused attempt is in the sign-in log.
    events = db.exec(select(LoginEvent.event).where(LoginEvent.username == "rep_a1")).all()
    assert events.count("failure") == 5
    assert events.count("refused_locked") == THREADS - 5
    # The right password after the burst is refused without a check, until the lock ends.
    assert not auth.authenticate(db, "rep_a1", PASSWORD).ok
    assert spy.count(PASSWORD) == 0
    clock.advance(timedelta(minutes=15, seconds=1))
    assert auth.authenticate(db, "rep_a1", PASSWORD).ok


def test_finding_3_right_password_in_the_burst_does_not_clear_the_lock(
    db, company, threads_engine, monkeypatch
):
    """The right password is being checked while 40 wrong ones arrive: the wrong ones lock
    the account, and the right one, finishing last, neither signs in nor clears the lock."""
    spy = HashSpy(monkeypatch, company.users["rep_a1"].password_hash)
    spy.hold_right = True
    right: list[auth.LoginResult] = []
    first = threading.Thread(target=_sign_in, args=(threads_engine, PASSWORD, right))
    first.start()
    try:
        assert spy.right_in_check.wait(GATE_TIMEOUT)
        results = _burst(threads_engine, [WRONG] * THREADS)
    finally:
        spy.release.set()
        first.join(GATE_TIMEOUT)

    # Five attempts in all were allowed: the right one and four wrong ones.
    assert spy.count(PASSWORD) == 1
    assert spy.count(WRONG) == 4, f"{spy.count(WRONG)} wrong passwords were checked"
    assert not any(r.ok for r in results)
    assert len(right) == 1 and not right[0].ok
    account = _account(db)
    assert account.locked_until is not None and account.locked_until > clock.now()
    assert not auth.authenticate(db, "rep_a1", PASSWORD).ok


def test_finding_3_old_password_guesses_count_towards_the_lock(db, company, monkeypatch):
    """The account page's "current password" is a password check too: guessing it there
    uses up the same allowance as the sign-in form, and a locked account checks nothing."""
    from crm_core.errors import ValidationError

    actor = company.actor(db, "rep_a1")
    spy = HashSpy(monkeypatch, company.users["rep_a1"].password_hash)
    for _ in range(5):
        with pytest.raises(ValidationError) as wrong:
            auth.change_password(db, actor, WRONG, "n3w-password")
        assert wrong.value.key == "auth.error.old_password"
    with pytest.raises(ValidationError) as locked:
        auth.change_password(db, actor, PASSWORD, "n3w-password")
    assert locked.value.key == "auth.error.password_locked"
    assert spy.count(PASSWORD) == 0 and spy.count(WRONG) == 5
    assert not auth.authenticate(db, "rep_a1", PASSWORD).ok
    clock.advance(timedelta(minutes=16))
    auth.change_password(db, actor, PASSWORD, "n3w-password")
    assert auth.authenticate(db, "rep_a1", "n3w-password").ok


# -- Finding 10 (long passwords) and 15 (a password ending in a space) ---------------------

TOO_LONG = {
    "73 ASCII bytes": "a1" * 36 + "x",
    "26 characters, 76 bytes": "汉字" * 12 + "a1xx",
}


def _set_password_everywhere(db, company, password: str) -> list[str]:
    """Set `password` in each place the product sets one; the error key each answered."""
    from crm_core.errors import ValidationError
    from crm_core.users import create_user, reset_password

    admin = company.actor(db, "admin")
    user = db.get(User, company.users["rep_a2"].id)
    user.must_change_password = True  # the first-password change
    db.add(user)
    db.commit()
    attempts = {
        "account page": lambda: auth.change_password(
            db, company.actor(db, "rep_a1"), PASSWORD, password
        ),
        "first password": lambda: auth.change_password(
            db, company.actor(db, "rep_a2"), PASSWORD, password
        ),
        "admin reset": lambda: reset_password(db, admin, company.users["rep_b1"].id, password),
        "new user": lambda: create_user(
            db, admin, username="newbie", full_name="New Bie", employee_no="E9999",
            password=password, org_unit_id=company.units["team_a"].id, role_codes=["rep"],
        ),
    }  # fmt: skip
    keys = []
    for name, attempt in attempts.items():
        with pytest.raises(ValidationError) as refused:
            attempt()
        db.rollback()
        keys.append((name, refused.value.key, refused.value.params))
    return keys


@pytest.mark.parametrize("password", TOO_LONG.values(), ids=TOO_LONG.keys())
def test_finding_10_password_over_72_bytes_is_refused_by_name(db, company, password):
    keys = _set_password_everywhere(db, company, password)
    assert keys == [
        (name, "auth.error.password_too_long", {"maximum": 72})
        for name in ("account page", "first password", "admin reset", "new user")
    ]
    # Signing in with it fails like a wrong password, known account or not.
    result = auth.authenticate(db, "rep_a1", password)
    assert (result.ok, result.reason) == (False, "bad_credentials")
    assert auth.authenticate(db, "nobody", password).reason == "bad_credentials"
    # Exactly 72 bytes is fine, and signs in.
    auth.change_password(db, company.actor(db, "rep_a1"), PASSWORD, "a1" * 36)
    assert auth.authenticate(db, "rep_a1", "a1" * 36).ok


def test_finding_10_account_page_answers_a_long_password_with_a_message(app_env):
    from crm_core.i18n import translate
    from tests.apptest import login

    at = login("rep_a1")
    at.switch_page("pages/workspace/account.py").run()
    long_password = TOO_LONG["73 ASCII bytes"]
    for label, value in (("当前密码", PASSWORD), ("新密码", long_password),
                         ("再次输入新密码", long_password)):  # fmt: skip
        next(w for w in at.text_input if w.label == label).input(value)
    next(b for b in at.button if b.label == "修改密码").click()
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        translate("auth.error.password_too_long", "zh", maximum=72)
    ]


EDGE_SPACES = {
    "trailing space": "secret456 ",
    "leading space": " secret456",
    "trailing ideographic space": "secret456\u3000",
    "trailing tab": "secret456\t",
}


@pytest.mark.parametrize("password", EDGE_SPACES.values(), ids=EDGE_SPACES.keys())
def test_finding_15_password_with_a_space_at_an_end_is_refused_when_set(db, company, password):
    keys = _set_password_everywhere(db, company, password)
    assert keys == [
        (name, "auth.error.password_spaces", {})
        for name in ("account page", "first password", "admin reset", "new user")
    ]


def test_finding_15_only_spaces_at_the_ends_are_refused(app_env, db):
    """The sign-in form strips the ends only: a space inside is kept and signs in."""
    from crm_core.errors import ValidationError
    from tests.apptest import login

    actor = app_env.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as refused:
        auth.change_password(db, actor, PASSWORD, "secret 456 ")
    assert refused.value.key == "auth.error.password_spaces"
    auth.change_password(db, actor, PASSWORD, "secret 456")
    at = login("rep_a1", "secret 456")
    assert not at.exception
    assert at.session_state["authentication_status"] is True
