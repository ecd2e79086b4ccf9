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
