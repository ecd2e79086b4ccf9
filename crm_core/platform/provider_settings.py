"""Settings of an outside provider (the SMS platform, the call centre): which kind, its
address, account and shared secret. Set by administrators; the secret is stored encrypted
(`crm_core.platform.secrets`) and never shown again, only replaced."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlparse

from sqlmodel import Session

from crm_core.models import Setting
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.secrets import decrypt, encrypt


@dataclass(frozen=True)
class ProviderConfig:
    kind: str = "none"
    base_url: str = ""
    account: str = ""
    has_secret: bool = False
    timeout_seconds: float = 10.0


def stored(session: Session, key: str) -> dict:
    """The stored settings under `key` (the secret still encrypted)."""
    row = session.get(Setting, key)
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def config_of(data: dict) -> ProviderConfig:
    return ProviderConfig(
        kind=data.get("kind", "none"),
        base_url=data.get("base_url", ""),
        account=data.get("account", ""),
        has_secret=bool(data.get("secret")),
        timeout_seconds=float(data.get("timeout_seconds", 10.0)),
    )


def read_config(session: Session, actor: Actor, key: str) -> ProviderConfig:
    """The provider settings under `key`, without the secret (administrators)."""
    actor.require(Permission.MANAGE_SETTINGS)
    return config_of(stored(session, key))


def save_config(
    session: Session,
    actor: Actor,
    key: str,
    *,
    kinds: Sequence[str],
    audit_action: str,
    kind: str,
    base_url: str = "",
    account: str = "",
    secret: str | None = None,
    timeout_seconds: float = 10.0,
) -> ProviderConfig:
    """Store the provider settings under `key`; `secret` None keeps the stored one. Audited
    without the secret. The kind `http` needs an address and a secret."""
    actor.require(Permission.MANAGE_SETTINGS)
    if kind not in kinds:
        raise ValidationError(N_("Unknown provider kind {kind}."), kind=kind)
    data = stored(session, key)
    before = config_of(data)
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
    row = session.get(Setting, key) or Setting(key=key)
    row.value = data
    row.updated_at = clock.now()
    row.updated_by_id = actor.user_id
    session.add(row)
    after = config_of(data)
    audit.record(session, actor, audit_action, "setting", key, asdict(before), asdict(after))
    session.flush()
    return after


def stored_secret(session: Session, key: str) -> str | None:
    """The provider's shared secret in clear, for signing and checking callbacks (never for a
    page)."""
    token = stored(session, key).get("secret")
    return decrypt(token) if token else None
