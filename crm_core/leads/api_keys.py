"""API keys of the lead intake API: one per source (a website form, a chat widget, an ad
platform), created, listed, rotated and revoked by administrators (`manage_settings`: keys
are company settings, like the cookie key and the time zone).

A key reads `crm_<prefix>_<secret>`: the prefix (12 hex digits) finds the row, the secret is
32 random bytes. Only the SHA-256 of the whole key is stored - a random 256-bit secret needs
no slow password hash, so a request costs one indexed read and one hash. The key is shown
once, when it is created or rotated; rotating gives a new prefix and secret, so the old key
is refused at once.

A key is scoped to channels and business lines: its leads must name one of each
(`check_scope`, called by the API intake in the core, not only by the HTTP shell). It
enters leads as the source itself: an actor without a user, holding only `create_leads`
(as the scheduler acts without a user), named after the key in flow events' notes and in
collision notices.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from crm_core.models import ApiKey, ApiRateWindow, BusinessLine
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import AuthenticationError, NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import find_option
from crm_core.platform.permissions import DataScope, Permission

TOKEN_START = "crm_"
DEFAULT_REQUESTS_PER_MINUTE = 600
MAX_REQUESTS_PER_MINUTE = 100_000
WINDOW = timedelta(minutes=1)
KEEP_WINDOWS = timedelta(hours=1)

KEY_REFUSED = N_("The API key is missing, unknown or revoked.")


class KeyRefused(AuthenticationError):
    """No key, an unknown key, a rotated-away or a revoked one."""

    key = KEY_REFUSED


@dataclass(frozen=True)
class ApiGrant:
    """What an authenticated key may do: whose leads it sends and how often."""

    key_id: int
    name: str
    prefix: str
    channels: frozenset[str]
    business_line_ids: frozenset[int]
    requests_per_minute: int

    @property
    def actor(self) -> Actor:
        """The actor the key's intake runs as: the source, with `create_leads` only."""
        return Actor(
            user_id=None,
            username=f"api:{self.prefix}",
            full_name=self.name,
            org_unit_id=None,
            org_path=None,
            permissions=frozenset({Permission.CREATE_LEADS.value}),
            scope=DataScope.ALL,
        )


@dataclass(frozen=True)
class ApiKeyRow:
    """One key as the administrators' page lists it (never its secret)."""

    id: int
    name: str
    prefix: str
    channels: list[str]
    business_lines: list[str]  # codes
    requests_per_minute: int
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token(session: Session) -> tuple[str, str]:
    """(prefix, whole key) with a prefix no key has."""
    while True:
        prefix = secrets.token_hex(6)
        if session.exec(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            return prefix, f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"


def _checked_scope(
    session: Session, channels: Sequence[str], line_ids: Sequence[int]
) -> tuple[list[str], list[int]]:
    codes: list[str] = []
    for text in channels:
        option = find_option(session, "channel", text, active_only=True)
        if option is None:
            raise ValidationError(
                N_("Unknown or disabled channel {channel}."), channel=str(text), field="channels"
            )
        if option.code not in codes:
            codes.append(option.code)
    if not codes:
        raise ValidationError(N_("Choose at least one channel."), field="channels")
    lines = sorted(set(line_ids))
    found = set(
        session.exec(
            select(BusinessLine.id).where(col(BusinessLine.id).in_(lines), BusinessLine.active)
        ).all()
    )
    if not lines or found != set(lines):
        raise ValidationError(N_("Choose at least one business line."), field="business_lines")
    return codes, lines


def create_api_key(
    session: Session,
    actor: Actor,
    name: str,
    channels: Sequence[str],
    business_line_ids: Sequence[int],
    *,
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
) -> tuple[ApiKey, str]:
    """Create a key for the source `name`, scoped to `channels` (codes or labels) and
    business lines; return it with the whole key, which is shown this once. Requires
    manage_settings; audited. Flushes."""
    actor.require(Permission.MANAGE_SETTINGS)
    name = (name or "").strip()
    if not name:
        raise ValidationError(N_("A name is required."), field="name")
    if len(name) > 120:
        raise ValidationError(N_("{field} has at most {max} characters."), field="name", max=120)
    if not 1 <= int(requests_per_minute) <= MAX_REQUESTS_PER_MINUTE:
        raise ValidationError(
            N_("Requests per minute lie between 1 and {max}."), max=MAX_REQUESTS_PER_MINUTE
        )
    codes, lines = _checked_scope(session, channels, business_line_ids)
    prefix, token = _new_token(session)
    key = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=_hash(token),
        channels=codes,
        business_line_ids=lines,
        requests_per_minute=int(requests_per_minute),
        created_by_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(key)
    session.flush()
    audit.record(session, actor, "api_key.create", "api_key", key.id, None, _snapshot(key))
    session.flush()
    return key, token


def _snapshot(key: ApiKey) -> dict:
    return {
        "name": key.name,
        "prefix": key.prefix,
        "channels": list(key.channels),
        "business_line_ids": list(key.business_line_ids),
        "requests_per_minute": key.requests_per_minute,
    }


def _key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    actor.require(Permission.MANAGE_SETTINGS)
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound()
    return key


def rotate_api_key(session: Session, actor: Actor, key_id: int) -> str:
    """Give the key a new prefix and secret (the old key is refused from now on); return
    the new whole key, shown once. A revoked key is not rotated. Audited; flushes."""
    key = _key(session, actor, key_id)
    if key.revoked_at is not None:
        raise ValidationError(N_("The key is revoked."))
    before = _snapshot(key)
    key.prefix, token = _new_token(session)
    key.secret_hash = _hash(token)
    key.rotated_at = clock.now()
    session.add(key)
    audit.record(session, actor, "api_key.rotate", "api_key", key.id, before, _snapshot(key))
    session.flush()
    return token


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> None:
    """Refuse the key from now on (kept for its history). Audited; flushes."""
    key = _key(session, actor, key_id)
    if key.revoked_at is not None:
        return
    key.revoked_at = clock.now()
    session.add(key)
    audit.record(session, actor, "api_key.revoke", "api_key", key.id, _snapshot(key), None)
    session.flush()


def list_api_keys(session: Session, actor: Actor) -> list[ApiKeyRow]:
    """Every key, newest first, with its scope and last use. Requires manage_settings."""
    actor.require(Permission.MANAGE_SETTINGS)
    codes = dict(session.exec(select(BusinessLine.id, BusinessLine.code)).all())
    keys = session.exec(select(ApiKey).order_by(col(ApiKey.id).desc())).all()
    return [
        ApiKeyRow(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            channels=list(key.channels),
            business_lines=[codes.get(i, str(i)) for i in key.business_line_ids],
            requests_per_minute=key.requests_per_minute,
            created_at=key.created_at,
            rotated_at=key.rotated_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )
        for key in keys
    ]


def authenticate_key(session: Session, token: str | None) -> ApiGrant:
    """The grant of the whole key `token`; raise KeyRefused for a missing, malformed,
    unknown, rotated-away or revoked key. Reads only."""
    token = (token or "").strip()
    parts = token[len(TOKEN_START) :].split("_", 1) if token.startswith(TOKEN_START) else []
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise KeyRefused()
    key = session.exec(select(ApiKey).where(ApiKey.prefix == parts[0])).first()
    # Compared in constant time: the hash of a guess says nothing about the stored one.
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(token)):
        raise KeyRefused()
    if key.revoked_at is not None:
        raise KeyRefused()
    return ApiGrant(
        key_id=key.id,
        name=key.name,
        prefix=key.prefix,
        channels=frozenset(key.channels),
        business_line_ids=frozenset(key.business_line_ids),
        requests_per_minute=key.requests_per_minute,
    )


def count_request(session: Session, grant: ApiGrant) -> int | None:
    """Count one request of the key in this minute's window (an upsert, so every API
    process shares the count) and mark the key used. Return None while within the key's
    limit, else the seconds until the window ends (for `Retry-After`). Flushes; the
    caller commits at once, so the counter row is not held."""
    now = clock.now()
    start = now.replace(second=0, microsecond=0)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ApiRateWindow.__table__
    statement = insert(table).values(api_key_id=grant.key_id, window_start=start, requests=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.api_key_id, table.c.window_start],
        set_={"requests": table.c.requests + 1},
    ).returning(table.c.requests)
    count = session.connection().execute(statement).scalar_one()
    if count == 1:
        # The key's first request of a minute clears its counters of the hour before.
        windows = ApiRateWindow.__table__
        session.connection().execute(
            windows.delete().where(
                windows.c.api_key_id == grant.key_id, windows.c.window_start < start - KEEP_WINDOWS
            )
        )
    if count > grant.requests_per_minute:
        return max(1, math.ceil((start + WINDOW - now).total_seconds()))
    session.connection().execute(
        update(ApiKey.__table__)
        .where(ApiKey.__table__.c.id == grant.key_id)
        .values(last_used_at=now)
    )
    return None
