"""Passwords, sign-in with a timed lockout, and server-side session validity.

The login form is drawn by streamlit-authenticator in the app; every decision about a
credential or a session is made here, against the users table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
import jwt
from sqlalchemy import update
from sqlmodel import Session, select

from crm_core import audit, clock
from crm_core.access import Actor
from crm_core.errors import ValidationError
from crm_core.models import LoginEvent, User
from crm_core.permissions import Permission
from crm_core.settings import get_setting

MIN_PASSWORD_LENGTH = 8


def bcrypt_rounds() -> int:
    """Work factor for new hashes; `CRM_BCRYPT_ROUNDS` lowers it for tests (minimum 4)."""
    return max(4, min(16, int(os.environ.get("CRM_BCRYPT_ROUNDS", "12"))))


def hash_password(password: str, rounds: int | None = None) -> str:
    """A bcrypt hash of `password`."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds or bcrypt_rounds())).decode()


def password_matches(password: str, password_hash: str) -> bool:
    """True when `password` matches the bcrypt `password_hash`."""
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


@lru_cache(maxsize=8)
def _dummy_hash(rounds: int) -> str:
    return hash_password("not-a-real-password", rounds)


def _rounds_of(password_hash: str) -> int:
    try:
        return int(password_hash.split("$")[2])
    except (IndexError, ValueError):
        return bcrypt_rounds()


def can_sign_in(user: User) -> bool:
    """Only enabled, not-resigned accounts may sign in or keep a session."""
    return user.enabled and user.status != "resigned"


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str  # ok | bad_credentials | locked | inactive
    user_id: int | None = None
    locked_until: datetime | None = None


def _log(session: Session, username: str, user_id: int | None, event: str, detail=None) -> None:
    session.add(
        LoginEvent(
            at=clock.now(), username=username[:200], user_id=user_id, event=event, detail=detail
        )
    )


def authenticate(session: Session, username: str, password: str) -> LoginResult:
    """Check a username and password, applying the timed lockout, and log the attempt.

    An unknown username costs the same bcrypt work as a wrong password, so timing does not
    tell which usernames exist.
    """
    name = (username or "").strip().lower()
    user = session.exec(select(User).where(User.username == name)).first() if name else None
    if user is None:
        password_matches(password or "", _dummy_hash(bcrypt_rounds()))
        _log(session, name or "", None, "failure", "unknown_user")
        session.commit()
        return LoginResult(False, "bad_credentials")

    matches = password_matches(password or "", user.password_hash)
    now = clock.now()
    if user.locked_until is not None and now < user.locked_until:
        _log(session, name, user.id, "refused_locked")
        session.commit()
        return LoginResult(False, "locked", user.id, user.locked_until)
    if not matches:
        return _record_failure(session, user, now)
    if not can_sign_in(user):
        _log(session, name, user.id, "refused_inactive", user.status)
        session.commit()
        return LoginResult(False, "inactive", user.id)
    user.failed_login_count = 0
    user.locked_until = None
    session.add(user)
    _log(session, name, user.id, "success")
    session.commit()
    return LoginResult(True, "ok", user.id)


def _record_failure(session: Session, user: User, now: datetime) -> LoginResult:
    max_attempts = get_setting(session, "login.max_failed_attempts")
    # Counted in SQL so two failures at once both count.
    session.exec(
        update(User)
        .where(User.id == user.id)
        .values(failed_login_count=User.failed_login_count + 1)
    )
    session.refresh(user)
    _log(session, user.username, user.id, "failure", "bad_password")
    if user.failed_login_count >= max_attempts:
        user.locked_until = now + timedelta(minutes=get_setting(session, "login.lock_minutes"))
        user.failed_login_count = 0
        session.add(user)
        _log(session, user.username, user.id, "locked", f"{user.locked_until:%Y-%m-%d %H:%M}")
        session.commit()
        return LoginResult(False, "locked", user.id, user.locked_until)
    session.commit()
    return LoginResult(False, "bad_credentials", user.id)


def token_issued_at(expires_at_epoch: float, expiry_days: float) -> datetime:
    """When a re-authentication cookie was issued, from its expiry stamp (naive UTC).

    streamlit-authenticator stamps only the expiry, at issue time + `expiry_days`.
    """
    issued = expires_at_epoch - expiry_days * 86400
    return datetime.fromtimestamp(issued, UTC).replace(tzinfo=None)


def session_user(session: Session, username: str, issued_at: datetime) -> User | None:
    """The user of a session issued at `issued_at`, or None if that session is no longer valid.

    Called on every rerun: a resigned or disabled account, or a session issued before the
    user's last log-out or password change, is refused.
    """
    name = (username or "").strip().lower()
    if not name:
        return None
    user = session.exec(select(User).where(User.username == name)).first()
    if user is None or not can_sign_in(user):
        return None
    if user.sessions_valid_after is not None and issued_at < user.sessions_valid_after:
        return None
    return user


def revoke_sessions(session: Session, user_id: int) -> datetime:
    """End every session and cookie issued to the user so far (log-out everywhere)."""
    at = clock.now()
    session.exec(update(User).where(User.id == user_id).values(sessions_valid_after=at))
    session.commit()
    return at


def log_out(session: Session, user_id: int) -> None:
    """Sign the user out everywhere: their cookies, copied or not, stop working."""
    user = session.get(User, user_id)
    if user is None:
        return
    _log(session, user.username, user.id, "logout")
    revoke_sessions(session, user_id)


def change_password(session: Session, actor: Actor, old_password: str, new_password: str) -> None:
    """Change the actor's own password; every earlier session and cookie is revoked."""
    user = session.get(User, actor.user_id)
    if user is None or not password_matches(old_password, user.password_hash):
        raise ValidationError("auth.error.old_password")
    validate_new_password(new_password)
    if password_matches(new_password, user.password_hash):
        raise ValidationError("auth.error.same_password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.sessions_valid_after = clock.now()
    session.add(user)
    audit.record(session, actor, "user.change_password", "user", user.id)
    session.commit()


def validate_new_password(password: str) -> None:
    """Refuse passwords that are too short or have no letter or no digit."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError("auth.error.password_short", minimum=MIN_PASSWORD_LENGTH)
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise ValidationError("auth.error.password_weak")


def recent_login_events(session: Session, actor: Actor, limit: int = 200) -> list[LoginEvent]:
    """The newest sign-in events (admins only)."""
    actor.require(Permission.VIEW_AUDIT_LOG)
    return list(
        session.exec(
            select(LoginEvent).order_by(LoginEvent.at.desc(), LoginEvent.id.desc()).limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class SessionToken:
    username: str
    issued_at: datetime


def encode_session_token(
    username: str, issued_at: datetime, expires_at_epoch: float, key: str
) -> str:
    """The signed re-authentication cookie: what streamlit-authenticator reads, plus the
    issue time that revocation is checked against."""
    return jwt.encode(
        {
            "username": username,
            "exp_date": expires_at_epoch,
            "issued_at": issued_at.replace(tzinfo=UTC).timestamp(),
        },
        key,
        algorithm="HS256",
    )


def decode_session_token(
    token: str | None, key: str, expiry_days: float, at_epoch: float
) -> SessionToken | None:
    """The cookie's user and issue time, or None if it is forged, malformed or expired."""
    if not token:
        return None
    try:
        payload = jwt.decode(token, key, algorithms=["HS256"])
        expires = float(payload["exp_date"])
        username = str(payload["username"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    if expires <= at_epoch:
        return None
    if "issued_at" in payload:
        issued = datetime.fromtimestamp(float(payload["issued_at"]), UTC).replace(tzinfo=None)
    else:
        issued = token_issued_at(expires, expiry_days)
    return SessionToken(username=username, issued_at=issued)
