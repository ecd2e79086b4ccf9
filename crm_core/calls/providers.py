"""Call-centre provider adapters. `dial` asks the vendor to ring the rep's seat and then the
customer and answers the vendor's call id; the call's progress and its record arrive later
by callback (`crm_core.calls.records.record_call_events`). Another vendor is one class.

`HttpCallProvider`: POST `{base_url}/calls` with `{"account", "seat", "caller", "callee",
"client_id"}` signed like every provider request (`crm_core.platform.provider_http`); it
answers `{"call_id", "status": "ringing"}` or `{"status": "rejected", "error"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from crm_core.platform.actor import Actor
from crm_core.platform.provider_http import ProviderUnavailable, post_json
from crm_core.platform.provider_settings import (
    ProviderConfig,
    read_config,
    save_config,
    stored,
    stored_secret,
)

KEY = "calls.provider"
KINDS = ("none", "demo", "http")


@dataclass(frozen=True)
class DialReceipt:
    accepted: bool
    provider_call_id: str | None = None
    error: str | None = None


class CallProvider(Protocol):
    name: str

    def dial(self, *, client_id: str, seat: str, caller: str, callee: str) -> DialReceipt: ...


class DemoCallProvider:
    """Rings nobody: the demo company's vendor. The call stays ringing until a record for it
    arrives (the demo has none), and the rep logs the conversation by hand."""

    name = "demo"

    def dial(self, *, client_id: str, seat: str, caller: str, callee: str) -> DialReceipt:
        return DialReceipt(True, f"demo-{client_id}")


class HttpCallProvider:
    name = "http"

    def __init__(self, base_url: str, account: str, secret: str, timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/calls"
        self.account, self.secret, self.timeout = account, secret, timeout

    def dial(self, *, client_id: str, seat: str, caller: str, callee: str) -> DialReceipt:
        answer = post_json(
            self.url,
            {
                "account": self.account,
                "seat": seat,
                "caller": caller,
                "callee": callee,
                "client_id": client_id,
            },
            self.secret,
            self.timeout,
        )
        call_id = str(answer.get("call_id") or "")[:80]
        if answer.get("status") == "ringing" and call_id:
            return DialReceipt(True, call_id)
        return DialReceipt(False, None, str(answer.get("error") or "rejected")[:200])


def call_provider_config(session: Session, actor: Actor) -> ProviderConfig:
    """The call-centre provider settings without the secret (administrators)."""
    return read_config(session, actor, KEY)


def save_call_provider_config(
    session: Session, actor: Actor, *, kind: str, **settings
) -> ProviderConfig:
    """Store the call-centre provider settings (see `provider_settings.save_config`)."""
    return save_config(
        session, actor, KEY, kinds=KINDS, audit_action="calls.provider", kind=kind, **settings
    )


def call_provider_secret(session: Session) -> str | None:
    """The vendor's shared secret in clear (callbacks only)."""
    return stored_secret(session, KEY)


def active_call_provider(session: Session) -> CallProvider | None:
    """The configured vendor, or None when click-to-call is off."""
    data = stored(session, KEY)
    kind = data.get("kind", "none")
    if kind == "demo":
        return DemoCallProvider()
    if kind == "http":
        return HttpCallProvider(
            data.get("base_url", ""),
            data.get("account", ""),
            call_provider_secret(session) or "",
            float(data.get("timeout_seconds", 10.0)),
        )
    return None


__all__ = ["ProviderUnavailable"]
