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

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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


class ProviderUnavailable(Exception):
    """The provider did not take the batch (down, slow, refused the request as a whole): the
    messages stay queued for the next run."""


class SmsProvider(Protocol):
    name: str
    # Whether delivery reports arrive by callback; otherwise acceptance counts as delivery.
    reports_delivery: bool

    def send(self, messages: Sequence[OutgoingSms]) -> list[SendReceipt]: ...


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` with `secret`, as both directions carry it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` signs `body` with `secret` (compared in constant time)."""
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature.strip())


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
        body = json.dumps(
            {
                "account": self.account,
                "messages": [
                    {"client_id": str(m.id), "to": m.phone, "text": m.text} for m in messages
                ],
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Signature": sign(self.secret, body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - an admin-set URL
                answer = json.loads(response.read().decode() or "{}")
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise ProviderUnavailable(str(exc)[:200]) from exc
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
