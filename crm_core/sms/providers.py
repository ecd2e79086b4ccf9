"""SMS provider adapters. A provider takes a batch of messages and answers, per message,
whether it accepted it and under which id; its delivery reports arrive later by callback
(`crm_core.sms.delivery.record_reports`). Another vendor is one class with `send`.

`HttpSmsProvider` speaks a plain JSON protocol (docs/sms.md): POST `{base_url}/messages`
with `{"account", "messages": [{"client_id", "to", "text"}]}`, signed in `X-Signature`
(hex HMAC-SHA256 of the body with the shared secret); it answers `{"results": [{"client_id",
"message_id", "status": "accepted"|"rejected", "error"}]}`. Our message id travels as
`client_id`, so a batch sent again after a crash is recognised by the provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from crm_core.platform.provider_http import (  # noqa: F401 - the names SMS callers use
    ProviderUnavailable,
    post_json,
    sign,
    signature_matches,
)


@dataclass(frozen=True)
class OutgoingSms:
    id: int
    phone: str
    text: str


@dataclass(frozen=True)
class SendReceipt:
    id: int
    accepted: bool
    provider_message_id: str | None = None
    error: str | None = None


class SmsProvider(Protocol):
    name: str
    # Whether delivery reports arrive by callback; otherwise acceptance counts as delivery.
    reports_delivery: bool

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendReceipt]: ...


class DemoSmsProvider:
    """Accepts every message and reports it delivered: the demo company's provider, which
    sends nothing anywhere."""

    name = "demo"
    reports_delivery = False

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendReceipt]:
        return [SendReceipt(m.id, True, f"demo-{m.id}") for m in messages]


class HttpSmsProvider:
    """A provider behind the JSON protocol above."""

    name = "http"
    reports_delivery = True

    def __init__(self, base_url: str, account: str, secret: str, timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/messages"
        self.account = account
        self.secret = secret
        self.timeout = timeout

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendReceipt]:
        answer = post_json(
            self.url,
            {
                "account": self.account,
                "messages": [
                    {"client_id": str(m.id), "to": m.phone, "text": m.text} for m in messages
                ],
            },
            self.secret,
            self.timeout,
        )
        results = {str(r.get("client_id")): r for r in answer.get("results", [])}
        receipts = []
        for m in messages:
            r = results.get(str(m.id))
            if r is None:
                receipts.append(SendReceipt(m.id, False, None, "no answer for this message"))
            else:
                accepted = r.get("status") == "accepted"
                receipts.append(
                    SendReceipt(
                        m.id,
                        accepted,
                        str(r.get("message_id") or "")[:80] or None,
                        None if accepted else str(r.get("error") or "rejected")[:200],
                    )
                )
        return receipts
