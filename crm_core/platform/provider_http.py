"""How the console talks to an outside provider over HTTP (the SMS platform, the call
centre): a JSON body signed with the shared secret in `X-Signature` (hex HMAC-SHA256 of the
body), and the same signature checked on the provider's callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request


class ProviderUnavailable(Exception):
    """The provider did not take the request (down, slow, refused it as a whole, or answered
    what cannot be read)."""


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` with `secret`, as both directions carry it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` signs `body` with `secret` (compared in constant time)."""
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature.strip())


def post_json(url: str, payload: dict, secret: str, timeout: float) -> dict:
    """POST `payload` signed; the provider's JSON answer, or ProviderUnavailable."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Signature": sign(secret, body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an admin-set URL
            answer = json.loads(response.read().decode() or "{}")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ProviderUnavailable(str(exc)[:200]) from exc
    if not isinstance(answer, dict):
        raise ProviderUnavailable("the answer is not a JSON object")
    return answer
