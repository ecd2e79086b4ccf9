"""A clean start: an empty database becomes an empty company (issue 18, item 1).

`create_company` is what both `python -m db.setup` and the console's setup page call: the
built-in roles and default option lists (`bootstrap`), the company settings (name, time zone,
currency), one org unit (the company) and the first administrator, who must change the
password at the first sign-in. Nothing else: no demo people, units or business lines.

An empty console asks for a one-time setup token that the starting process printed (the
Metabase way): `create_setup_token` makes one and keeps only its hash; `check_setup_token`
counts wrong tries and locks them out like sign-in does; `create_company_with_token` consumes
it in the same transaction as the company, so it works once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm_core.models import SetupToken, User
from crm_core.org.auth import validate_new_password
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.company_time import zone_named
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.settings import get_setting, set_setting

ADMIN_ROLE = "admin"
ADMIN_EMPLOYEE_NO = "0001"
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_COMPANY_NAME = 120
HAS_USERS = N_(
    "This database already holds user accounts: a clean start is only for an empty database."
)
TOKEN_INVALID = N_("That setup token is not valid.")
TOKEN_LOCKED = N_("Too many wrong setup tokens. Try again in {minutes} minutes.")


@dataclass(frozen=True)
class CompanySetup:
    """What a clean start made."""

    company_unit_id: int
    admin_user_id: int


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of one try of a setup token: `ok`, or the refusal (a message) and the
    minutes of a lockout."""

    ok: bool
    key: str | None = None
    minutes: int = 0


def needs_setup(session: Session) -> bool:
    """Whether the database holds no account at all (the console shows only setup)."""
    return session.exec(select(User.id).limit(1)).first() is None


def _refuse_if_used(session: Session) -> None:
    if not needs_setup(session):
        raise ValidationError(HAS_USERS)


def create_company(
    session: Session,
    *,
    company_name: str,
    time_zone: str,
    currency: str,
    admin_username: str,
    admin_password: str,
    admin_full_name: str | None = None,
) -> CompanySetup:
    """Make an empty database an empty company; flushes, the caller commits. Refuses a
    database that already holds users (HAS_USERS) and anything the app would
    refuse later (a weak password, an unknown zone, a currency that is no ISO code)."""
    _refuse_if_used(session)
    name = (company_name or "").strip()
    if not name or len(name) > MAX_COMPANY_NAME:
        raise ValidationError(N_("Give the company a name (at most 120 characters)."))
    zone = zone_named(time_zone).key
    code = (currency or "").strip().upper()
    if not CURRENCY.match(code):
        raise ValidationError(
            N_("“{currency}” is no currency code: use three capital letters such as CNY or USD."),
            currency=currency,
        )
    username = (admin_username or "").strip().lower()
    if not username:
        raise ValidationError(N_("A username is required."))
    validate_new_password(admin_password)

    system = Actor.system()
    bootstrap(session)
    set_setting(session, system, "company.name", name)
    set_setting(session, system, "company.time_zone", zone)
    set_setting(session, system, "company.currency", code)
    unit = create_unit(session, system, name, None)
    admin = create_user(
        session,
        system,
        username=username,
        full_name=(admin_full_name or "").strip() or username,
        employee_no=ADMIN_EMPLOYEE_NO,
        password=admin_password,
        org_unit_id=unit.id,
        role_codes=[ADMIN_ROLE],
        must_change_password=True,
    )
    _consume_all(session)
    session.flush()
    return CompanySetup(company_unit_id=unit.id, admin_user_id=admin.id)


def _hash(token: str) -> str:
    return hashlib.sha256((token or "").strip().encode()).hexdigest()


def _consume_all(session: Session) -> None:
    session.execute(
        update(SetupToken)
        .where(col(SetupToken.consumed_at).is_(None))
        .values(consumed_at=clock.now())
    )


def _live_token(session: Session) -> SetupToken | None:
    return session.exec(
        select(SetupToken)
        .where(col(SetupToken.consumed_at).is_(None))
        .order_by(col(SetupToken.id).desc())
        .limit(1)
    ).first()


def create_setup_token(session: Session) -> str | None:
    """A new one-time token for an empty database (None when it holds users): any earlier
    token stops working. Only its hash is stored; flushes, the caller commits."""
    if not needs_setup(session):
        return None
    _consume_all(session)
    token = secrets.token_urlsafe(24)
    session.add(SetupToken(token_hash=_hash(token)))
    session.flush()
    return token


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, -(-int((until - now).total_seconds()) // 60))


def check_setup_token(session: Session, token: str) -> TokenCheck:
    """Try `token`. A wrong one counts towards a lockout (the sign-in settings
    `login.max_failed_attempts` and `login.lock_minutes`); while locked out, nothing is
    checked. Flushes the count: the caller commits it whatever the outcome."""
    now = clock.now()
    row = _live_token(session)
    if row is None or not needs_setup(session):
        return TokenCheck(False, TOKEN_INVALID)
    if row.locked_until is not None and row.locked_until > now:
        return TokenCheck(
            False,
            TOKEN_LOCKED,
            _minutes_left(row.locked_until, now),
        )
    if hmac.compare_digest(row.token_hash, _hash(token)):
        return TokenCheck(True)
    most = get_setting(session, "login.max_failed_attempts")
    failed = (0 if row.locked_until is not None else row.failed_count) + 1
    row.failed_count = failed
    row.locked_until = None
    if failed >= most:
        row.failed_count = 0
        row.locked_until = now + timedelta(minutes=get_setting(session, "login.lock_minutes"))
    session.add(row)
    session.flush()
    return TokenCheck(False, TOKEN_INVALID)


def create_company_with_token(session: Session, token: str, **company) -> CompanySetup:
    """`create_company` for whoever holds the live setup token, which it consumes in the
    same transaction (a second use, or a race of two, is refused)."""
    now = clock.now()
    row = _live_token(session)
    if row is None or not hmac.compare_digest(row.token_hash, _hash(token)):
        raise ValidationError(TOKEN_INVALID)
    if row.locked_until is not None and row.locked_until > now:
        raise ValidationError(
            TOKEN_LOCKED,
            minutes=_minutes_left(row.locked_until, now),
        )
    taken = session.execute(
        update(SetupToken)
        .where(SetupToken.id == row.id, col(SetupToken.consumed_at).is_(None))
        .values(consumed_at=now)
    )
    if taken.rowcount != 1:
        raise ValidationError(TOKEN_INVALID)
    return create_company(session, **company)
