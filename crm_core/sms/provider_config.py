"""Which provider sends the company's SMS, and its credentials: set by administrators, the
secret stored encrypted (`crm_core.platform.secrets`) and never shown again."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from sqlmodel import Session

from crm_core.models import Setting
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.secrets import decrypt, encrypt
from crm_core.sms.providers import DemoSmsProvider, HttpSmsProvider, SmsProvider

KEY = "sms.provider"
KINDS = ("none", "demo", "http")


@dataclass(frozen=True)
class ProviderConfig:
    kind: str = "none"
    base_url: str = ""
    account: str = ""
    has_secret: bool = False
    timeout_seconds: float = 10.0


def _stored(session: Session) -> dict:
    row = session.get(Setting, KEY)
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def provider_config(session: Session, actor: Actor) -> ProviderConfig:
    """The provider settings without the secret (administrators)."""
    actor.require(Permission.MANAGE_SETTINGS)
    return _config(_stored(session))


def _config(data: dict) -> ProviderConfig:
    return ProviderConfig(
        kind=data.get("kind", "none"),
        base_url=data.get("base_url", ""),
        account=data.get("account", ""),
        has_secret=bool(data.get("secret")),
        timeout_seconds=float(data.get("timeout_seconds", 10.0)),
    )


def save_provider_config(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    base_url: str = "",
    account: str = "",
    secret: str | None = None,
    timeout_seconds: float = 10.0,
) -> ProviderConfig:
    """Store the provider settings; `secret` None keeps the stored one. Audited without the
    secret."""
    actor.require(Permission.MANAGE_SETTINGS)
    if kind not in KINDS:
        raise ValidationError(N_("Unknown SMS provider kind {kind}."), kind=kind)
    data = _stored(session)
    before = _config(data)
    base_url = (base_url or "").strip()
    if kind == "http":
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError(N_("Give the provider's address, starting with https://."))
        if not (secret or data.get("secret")):
            raise ValidationError(N_("Give the provider's secret."))
    if not 1 <= float(timeout_seconds) <= 60:
        raise ValidationError(N_("The timeout is between 1 and 60 seconds."))
    data.update(
        kind=kind,
        base_url=base_url,
        account=(account or "").strip(),
        timeout_seconds=float(timeout_seconds),
    )
    if secret:
        data["secret"] = encrypt(secret.strip())
    row = session.get(Setting, KEY) or Setting(key=KEY)
    row.value = data
    row.updated_at = clock.now()
    row.updated_by_id = actor.user_id
    session.add(row)
    after = _config(data)
    audit.record(session, actor, "sms.provider", "setting", KEY, before.__dict__, after.__dict__)
    session.flush()
    return after


def provider_secret(session: Session) -> str | None:
    """The provider's shared secret in clear, for signing and checking callbacks (never for
    a page)."""
    token = _stored(session).get("secret")
    return decrypt(token) if token else None


def active_provider(session: Session) -> SmsProvider | None:
    """The configured provider, or None when sending is off (messages wait queued)."""
    data = _stored(session)
    kind = data.get("kind", "none")
    if kind == "demo":
        return DemoSmsProvider()
    if kind == "http":
        return HttpSmsProvider(
            data.get("base_url", ""),
            data.get("account", ""),
            provider_secret(session) or "",
            float(data.get("timeout_seconds", 10.0)),
        )
    return None
