"""Group-robot adapters. A robot takes one Markdown message for one person and answers
whether it took it; another chat tool is one class with `push`.

- WeCom (企业微信) group robot: POST `{"msgtype": "markdown", "markdown": {"content"}}` to
  its webhook (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`).
- DingTalk (钉钉) custom robot: POST `{"msgtype": "markdown", "markdown": {"title", "text"},
  "at": {...}}` to its webhook (`https://oapi.dingtalk.com/robot/send?access_token=...`),
  signed when it has a secret: `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret,
  f"{timestamp}\\n{secret}")) as query parameters.

Both answer `{"errcode": 0, "errmsg": "ok"}` when they took the message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote_plus

from crm_core.platform.provider_http import ProviderUnavailable

# Errcodes that say "too many messages": the robot is fine, the message waits for the
# next minute (WeCom 45009, DingTalk 130101) without spending an attempt.
RATE_LIMITED = frozenset({45009, 130101})
# WeCom refuses Markdown over 4096 bytes; DingTalk's limit is larger. Longer text is cut.
MAX_BYTES = 4000


@dataclass(frozen=True)
class PushMessage:
    title: str
    text: str  # Markdown, naming the person it is for


@dataclass(frozen=True)
class PushAnswer:
    accepted: bool
    rate_limited: bool = False
    error: str | None = None


class Robot(Protocol):
    kind: str

    def push(self, message: PushMessage) -> PushAnswer: ...


def _cut(text: str) -> str:
    data = text.encode()
    return text if len(data) <= MAX_BYTES else data[:MAX_BYTES].decode(errors="ignore")


def _post(url: str, payload: dict, timeout: float) -> PushAnswer:
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an admin-set URL
            answer = json.loads(response.read().decode() or "{}")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ProviderUnavailable(str(exc)[:200]) from exc
    if not isinstance(answer, dict) or "errcode" not in answer:
        raise ProviderUnavailable("the answer is not a robot's answer")
    code = answer.get("errcode")
    if code == 0:
        return PushAnswer(True)
    error = f"{code} {answer.get('errmsg') or ''}".strip()[:300]
    return PushAnswer(False, rate_limited=code in RATE_LIMITED, error=error)


class WeComRobot:
    """A WeCom group robot: its webhook address carries the key; no signature."""

    kind = "wecom"

    def __init__(self, webhook: str, timeout: float = 5.0) -> None:
        self.webhook = webhook
        self.timeout = timeout

    def push(self, message: PushMessage) -> PushAnswer:
        """Post the message as Markdown."""
        content = _cut(f"**{message.title}**\n{message.text}")
        return _post(
            self.webhook, {"msgtype": "markdown", "markdown": {"content": content}}, self.timeout
        )


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64 of HMAC-SHA256 of f"{timestamp}\\n{secret}" keyed by the
    secret (URL-encoded by the caller)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


class DingTalkRobot:
    """A DingTalk custom robot, signed when it has a secret ("加签" security setting)."""

    kind = "dingtalk"

    def __init__(
        self, webhook: str, secret: str | None, timeout: float = 5.0, clock_ms=None
    ) -> None:
        self.webhook = webhook
        self.secret = secret
        self.timeout = timeout
        self._clock_ms = clock_ms

    def signed_url(self) -> str:
        """The webhook with `timestamp` and `sign` added (as it is when there is no secret)."""
        if not self.secret:
            return self.webhook
        # DingTalk checks the timestamp against its own clock (within an hour): the real
        # time, not the core clock that tests and the demo move.
        stamp = self._clock_ms() if self._clock_ms else int(time.time() * 1000)
        sign = quote_plus(dingtalk_sign(self.secret, stamp))
        joiner = "&" if "?" in self.webhook else "?"
        return f"{self.webhook}{joiner}timestamp={stamp}&sign={sign}"

    def push(self, message: PushMessage) -> PushAnswer:
        """Post the message as Markdown (no @-mention by phone: users carry no work mobile,
        so the text names them)."""
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": message.title[:60], "text": _cut(message.text)},
            "at": {"atMobiles": [], "isAtAll": False},
        }
        return _post(self.signed_url(), payload, self.timeout)


def robot_for(kind: str, webhook: str, secret: str | None, timeout: float = 5.0) -> Robot:
    """The adapter of a robot kind."""
    if kind == "dingtalk":
        return DingTalkRobot(webhook, secret, timeout)
    return WeComRobot(webhook, timeout)
