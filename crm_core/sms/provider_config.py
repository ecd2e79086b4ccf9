"""Which provider sends the company's SMS (`crm_core.platform.provider_settings`)."""

from __future__ import annotations

from sqlmodel import Session

from crm_core.platform.actor import Actor
from crm_core.platform.provider_settings import (
    ProviderConfig,
    read_config,
    save_config,
    stored,
    stored_secret,
)
from crm_core.sms.providers import DemoSmsProvider, HttpSmsProvider, SmsProvider

KEY = "sms.provider"
KINDS = ("none", "demo", "http")


def provider_config(session: Session, actor: Actor) -> ProviderConfig:
    """The SMS provider settings without the secret (administrators)."""
    return read_config(session, actor, KEY)


def save_provider_config(
    session: Session, actor: Actor, *, kind: str, **settings
) -> ProviderConfig:
    """Store the SMS provider settings (see `provider_settings.save_config`)."""
    return save_config(
        session, actor, KEY, kinds=KINDS, audit_action="sms.provider", kind=kind, **settings
    )


def provider_secret(session: Session) -> str | None:
    """The SMS provider's shared secret in clear (callbacks only)."""
    return stored_secret(session, KEY)


def active_provider(session: Session) -> SmsProvider | None:
    """The configured provider, or None when sending is off (messages wait queued)."""
    data = stored(session, KEY)
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
