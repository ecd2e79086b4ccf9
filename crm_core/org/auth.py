"""Passwords, sign-in with a timed lockout, and server-side session validity.

The login form is drawn by streamlit-authenticator in the app; every decision about a
credential or a session is made here, against the users table.

Transactions: like every core service, the functions here flush and leave the commit to the
caller - except the two password checks, `authenticate` and `change_password`. They are
caller-level entry points that own their transaction, like a job: each attempt must be
counted and committed BEFORE its password hash is checked, or parallel guesses would all
see the same count and pass the lockout. Call them with a session that holds no other
uncommitted work (they commit it too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
import jwt
from sqlalchemy import and_, case, or_, update
from sqlmodel import Session, col, select

from crm_core.models import LoginEvent, User
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting

MIN_PASSWORD_LENGTH = 8
# bcrypt's limit: a longer password cannot be hashed (bcrypt 5 raises, older ones truncated).
MAX_PASSWORD_BYTES = 72


def bcrypt_rounds() -> int:
    """Work factor for new hashes; `CRM_BCRYPT_ROUNDS` lowers it for tests (minimum 4)."""
    return max(4, min(16, int(os.environ.get("CRM_BCRYPT_ROUNDS", "12"))))


def hash_password(password: str, rounds: int | None = None) -> str:
    """A bcrypt hash of `password` (at most `MAX_PASSWORD_BYTES`: check it first with
    `validate_new_password`)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds or bcrypt_rounds())).decode()


def password_matches(password: str, password_hash: str) -> bool:
    """True when `password` matches the bcrypt `password_hash`. A password longer than
    bcrypt takes matches nothing (no password that long can have been set)."""
    encoded = (password or "").encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode())
    except ValueError:  # a malformed stored hash
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


# The one message of every failed sign-in: saying "locked" or "disabled" would tell anyone
# which usernames exist (an unknown one never locks) and what state they are in.
SIGN_IN_FAILED = N_(
    "Wrong username or password, or the account cannot sign in right now. After several failed attempts, sign-in is paused for a while; if it keeps failing, ask your administrator."
)


@dataclass(frozen=True)
class LoginResult:
    """A sign-in attempt's outcome. `reason` is for the sign-in log and the tests; what the
    person at the form is told is `message_key`, the same for every failure."""

    ok: bool
    reason: str  # ok | bad_credentials | locked | inactive
    user_id: int | None = None
    locked_until: datetime | None = None

    @property
    def message_key(self) -> str | None:
        """The translation key to show at the form: None on success, else one key for all."""
        return None if self.ok else SIGN_IN_FAILED


def _log(session: Session, username: str, user_id: int | None, event: str, detail=None) -> None:
    session.add(
        LoginEvent(
            at=clock.now(), username=username[:200], user_id=user_id, event=event, detail=detail
        )
    )


@dataclass(frozen=True)
class _Attempt:
    """One password attempt's reservation: the account's counters as it left them."""

    user_id: int
    count: int
    locked_until: datetime | None
    password_hash: str


def _reserve_attempt(session: Session, name: str, now: datetime) -> _Attempt | None:
    """Count an attempt on the account named `name` before its password is checked, or None
    when the account is locked (or unknown).

    One conditional UPDATE ... RETURNING, committed at once: parallel attempts queue on the
    row, each sees the count the previous one left, and no more than the allowed number
    reach bcrypt between two locks. The attempt that uses up the allowance also sets the
    lock, so the lock exists even if that attempt never reports back.
    """
    max_attempts = get_setting(session, "login.max_failed_attempts")
    lock_minutes = get_setting(session, "login.lock_minutes")
    lock_ended = and_(col(User.locked_until).is_not(None), col(User.locked_until) <= now)
    # SET expressions all read the row as it was: the count restarts after an ended lock.
    count = case((lock_ended, 0), else_=User.failed_login_count) + 1
    row = session.exec(
        update(User)
        .where(User.username == name, or_(col(User.locked_until).is_(None), lock_ended))
        .values(
            failed_login_count=count,
            locked_until=case(
                (count >= max_attempts, now + timedelta(minutes=lock_minutes)), else_=None
            ),
        )
        .returning(User.id, User.failed_login_count, User.locked_until, User.password_hash)
    ).first()
    # Committed before bcrypt runs: the next attempt must see this one, and no lock (a row
    # lock on PostgreSQL, the write lock on SQLite) may be held while the hash is checked.
    session.commit()
    if row is None:
        return None
    return _Attempt(row[0], row[1], row[2], row[3])


def _release_attempt(session: Session, attempt: _Attempt) -> bool:
    """After a right password: clear the counters if no other attempt was reserved since
    this one. False when others were: their failures stand, and so does any lock they set."""
    if attempt.locked_until is None:
        same_lock = col(User.locked_until).is_(None)
    else:
        same_lock = User.locked_until == attempt.locked_until
    cleared = session.exec(
        update(User)
        .where(
            User.id == attempt.user_id,
            User.failed_login_count == attempt.count,
            same_lock,
        )
        .values(failed_login_count=0, locked_until=None)
    ).rowcount
    return bool(cleared)


def _log_failure(session: Session, name: str, attempt: _Attempt, detail: str) -> None:
    """Log a wrong password, and the lock if this attempt used up the allowance; commits."""
    _log(session, name, attempt.user_id, "failure", detail)
    if attempt.locked_until is not None:
        _log(session, name, attempt.user_id, "locked", f"{attempt.locked_until:%Y-%m-%d %H:%M}")
    session.commit()


def _refused_locked(session: Session, name: str, password: str) -> LoginResult:
    """A locked account (or an unknown name): the same bcrypt work against a dummy hash,
    never against the account's own, so the lock neither shows in the timing nor lets a
    guess through."""
    user = session.exec(select(User).where(User.username == name)).first() if name else None
    if user is None:
        password_matches(password, _dummy_hash(bcrypt_rounds()))
        _log(session, name, None, "failure", "unknown_user")
        session.commit()
        return LoginResult(False, "bad_credentials")
    password_matches(password, _dummy_hash(_rounds_of(user.password_hash)))
    _log(session, name, user.id, "refused_locked")
    session.commit()
    return LoginResult(False, "locked", user.id, user.locked_until)


def authenticate(session: Session, username: str, password: str) -> LoginResult:
    """Check a username and password, applying the timed lockout, and log the attempt.

    Each attempt is counted before its password is checked (`_reserve_attempt`), so
    attempts made in parallel cannot check more passwords than the lockout allows; a right
    password does not clear a lock that other attempts of the same burst set. An unknown
    username costs the same bcrypt work as a wrong password, so timing does not tell which
    usernames exist.

    Owns its transaction (see the module docstring): it commits the attempt before the
    hash is checked, and the sign-in log and the counters after it, since they must outlive
    the request whatever the caller does next.
    """
    name = (username or "").strip().lower()
    password = password or ""
    now = clock.now()
    attempt = _reserve_attempt(session, name, now) if name else None
    if attempt is None:
        return _refused_locked(session, name, password)
    if not password_matches(password, attempt.password_hash):
        _log_failure(session, name, attempt, "bad_password")
        if attempt.locked_until is not None:
            return LoginResult(False, "locked", attempt.user_id, attempt.locked_until)
        return LoginResult(False, "bad_credentials", attempt.user_id)
    user = session.get(User, attempt.user_id)
    if user is None or not can_sign_in(user):
        _log(session, name, attempt.user_id, "refused_inactive", user.status if user else None)
        session.commit()
        return LoginResult(False, "inactive", attempt.user_id)
    if not _release_attempt(session, attempt):
        # Other attempts came in while this one was checked: if they locked the account,
        # the lock stands and this sign-in is refused with it.
        session.refresh(user)
        if user.locked_until is not None and user.locked_until > now:
            _log(session, name, user.id, "refused_locked", "right_password_in_burst")
            session.commit()
            return LoginResult(False, "locked", user.id, user.locked_until)
    _log(session, name, attempt.user_id, "success")
    session.commit()
    return LoginResult(True, "ok", attempt.user_id)


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
    """End every session and cookie issued to the user so far (log-out everywhere);
    flushes, the caller commits."""
    at = clock.now()
    session.exec(update(User).where(User.id == user_id).values(sessions_valid_after=at))
    session.flush()
    return at


def log_out(session: Session, user_id: int) -> None:
    """Sign the user out everywhere: their cookies, copied or not, stop working once the
    caller commits (the core flushes)."""
    user = session.get(User, user_id)
    if user is None:
        return
    _log(session, user.username, user.id, "logout")
    revoke_sessions(session, user_id)


def change_password(session: Session, actor: Actor, old_password: str, new_password: str) -> None:
    """Change the actor's own password; every earlier session and cookie is revoked.

    The current password is checked like a sign-in: the attempt is counted first, wrong
    ones lock the account as wrong sign-ins do, and a locked account checks nothing. Owns
    its transaction like `authenticate`: it commits the attempt before the check and the
    change after it.
    """
    user = session.get(User, actor.user_id)
    if user is None:
        raise ValidationError(N_("The current password is not correct."))
    # The new password first: a typo there should not use up an attempt.
    validate_new_password(new_password)
    now = clock.now()
    attempt = _reserve_attempt(session, user.username, now)
    if attempt is None:
        session.refresh(user)
        raise _locked_error(user.locked_until, now)
    if not password_matches(old_password or "", attempt.password_hash):
        _log_failure(session, user.username, attempt, "bad_old_password")
        raise ValidationError(N_("The current password is not correct."))
    if not _release_attempt(session, attempt):
        session.refresh(user)
        if user.locked_until is not None and user.locked_until > now:
            session.commit()
            raise _locked_error(user.locked_until, now)
    session.refresh(user)
    if password_matches(new_password, user.password_hash):
        session.commit()
        raise ValidationError(N_("The new password must differ from the current one."))
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.sessions_valid_after = clock.now()
    session.add(user)
    audit.record(session, actor, "user.change_password", "user", user.id)
    session.commit()


def _locked_error(locked_until: datetime | None, now: datetime) -> ValidationError:
    """The refusal of a password check on a locked account, for a user already signed in
    (who may be told; the sign-in form never says it)."""
    left = (locked_until - now) if locked_until is not None else timedelta(0)
    minutes = max(1, -(-int(left.total_seconds()) // 60))
    return ValidationError(
        N_("Too many wrong passwords. Try again in {minutes} minutes."), minutes=minutes
    )


def validate_new_password(password: str) -> None:
    """Refuse a password that could not be used or is too weak: longer than bcrypt takes,
    beginning or ending with white space, too short, or without a letter and a digit.

    Every place that sets a password (account page, first-password change, admin reset, new
    account, roster) goes through here, so each refusal has its own message.
    """
    password = password or ""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        # bcrypt refuses more than 72 bytes (older versions silently cut the rest off).
        raise ValidationError(
            N_(
                "The password is too long: at most {maximum} bytes (a Chinese character counts as 3)."
            ),
            maximum=MAX_PASSWORD_BYTES,
        )
    if password != password.strip():
        # The sign-in form (streamlit-authenticator) strips both ends of what is typed, so
        # such a password could never be entered again. Refused rather than kept: the
        # library's stripping happens before our check is called.
        raise ValidationError(
            N_(
                "The password may not begin or end with a space: the sign-in form drops such spaces, so it could never be used."
            )
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            N_("The password must have at least {minimum} characters."), minimum=MIN_PASSWORD_LENGTH
        )
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise ValidationError(N_("The password must contain letters and digits."))


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
    expires_at: datetime | None = None


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def encode_session_token(
    username: str, issued_at: datetime, expires_at_epoch: float, key: str
) -> str:
    """The signed re-authentication cookie: what streamlit-authenticator reads, plus the
    issue time that revocation is checked against."""
    return jwt.encode(
        {
            "username": username,
            "exp_date": expires_at_epoch,
            "issued_at": _epoch(issued_at),
        },
        key,
        algorithm="HS256",
    )


def decode_session_token(
    token: str | None, key: str, expiry_days: float, at_epoch: float
) -> SessionToken | None:
    """The cookie's user, issue time and expiry, or None if it is forged, malformed, expired
    at `at_epoch` (pass the core clock's time), or not a session cookie at all (a cookie
    order carries a `purpose`)."""
    if not token:
        return None
    try:
        payload = jwt.decode(token, key, algorithms=["HS256"])
        expires = float(payload["exp_date"])
        username = str(payload["username"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    if "purpose" in payload or expires <= at_epoch:
        return None
    if "issued_at" in payload:
        issued = _from_epoch(float(payload["issued_at"]))
    else:
        issued = token_issued_at(expires, expiry_days)
    return SessionToken(username=username, issued_at=issued, expires_at=_from_epoch(expires))


# -- The session cookie's life ----------------------------------------------------------------
#
# The cookie is set by the server (an HTTP route answering with Set-Cookie: HttpOnly, Secure,
# SameSite=Strict), never by a script in the page. The page only hands the route a signed
# order that lives one minute (`cookie_ticket`); the route checks it (`redeem_cookie_ticket`)
# and makes the cookie. The cookie lives `idle` and is renewed while the user is active, so
# a copied cookie is worth an hour of the user's absence, not a week.

COOKIE_TICKET_SECONDS = 60
_TICKET_PURPOSE = "session_cookie"


@dataclass(frozen=True)
class CookiePolicy:
    """How long the sign-in cookie lives: `idle` after it was last set or renewed (renewed
    while the user is active), and never past `longest` after the sign-in."""

    idle: timedelta
    longest: timedelta


def cookie_policy(session: Session) -> CookiePolicy:
    """The policy from the settings (`login.session_idle_minutes`,
    `login.cookie_expiry_days`)."""
    return CookiePolicy(
        idle=timedelta(minutes=get_setting(session, "login.session_idle_minutes")),
        longest=timedelta(days=get_setting(session, "login.cookie_expiry_days")),
    )


def cookie_expiry(policy: CookiePolicy, issued_at: datetime, now: datetime) -> datetime | None:
    """When a cookie set or renewed at `now`, for a session signed in at `issued_at`,
    expires: one idle period on, cut at the session's longest life; None past it."""
    end = issued_at + policy.longest
    if now >= end:
        return None
    return min(now + policy.idle, end)


def renewed_expiry(
    policy: CookiePolicy, issued_at: datetime, expires_at: datetime, now: datetime
) -> datetime | None:
    """The new expiry if the cookie is due for renewal at `now` (less than half its idle
    period left, so an active user stays ahead of it with a few renewals an hour), else
    None (not due, already expired, or no later expiry is allowed)."""
    if now >= expires_at or expires_at - now >= policy.idle / 2:
        return None
    renewed = cookie_expiry(policy, issued_at, now)
    return renewed if renewed is not None and renewed > expires_at else None


def cookie_ticket(
    key: str, now: datetime, *, username: str | None = None, issued_at: datetime | None = None
) -> str:
    """A signed order, valid `COOKIE_TICKET_SECONDS`, for the server's cookie route: set the
    session cookie of `username`'s session signed in at `issued_at`, or (without a user)
    clear it. What the page holds is this short-lived order, never the cookie."""
    payload: dict = {"purpose": _TICKET_PURPOSE, "until": _epoch(now) + COOKIE_TICKET_SECONDS}
    if username is not None and issued_at is not None:
        payload.update(username=username, issued_at=_epoch(issued_at))
    return jwt.encode(payload, key, algorithm="HS256")


@dataclass(frozen=True)
class CookieOrder:
    """What the cookie route answers: the cookie to set (`token`, for `max_age` seconds,
    until `expires_at`), or to clear (`token` None)."""

    token: str | None
    max_age: int = 0
    expires_at: datetime | None = None


def redeem_cookie_ticket(
    session: Session, ticket: str | None, key: str, now: datetime
) -> CookieOrder | None:
    """The cookie a ticket orders, or None if the ticket is forged, stale, no ticket at all,
    or for a session that is no longer valid (signed out, password changed, account
    disabled) or has lived its longest."""
    if not ticket:
        return None
    try:
        payload = jwt.decode(ticket, key, algorithms=["HS256"])
        until = float(payload["until"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    if payload.get("purpose") != _TICKET_PURPOSE or until <= _epoch(now):
        return None
    if "username" not in payload:
        return CookieOrder(token=None)
    try:
        username = str(payload["username"])
        issued_at = _from_epoch(float(payload["issued_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    if session_user(session, username, issued_at) is None:
        return None
    expires = cookie_expiry(cookie_policy(session), issued_at, now)
    if expires is None:
        return None
    token = encode_session_token(username, issued_at, _epoch(expires), key)
    return CookieOrder(token, int((expires - now).total_seconds()), expires)
