"""What the service checks before a request reaches an endpoint: the body is JSON and at
most `BODY_LIMIT` bytes. A plain ASGI middleware reads the body first and stops at the
limit, so an oversized body is refused while it streams in, never held whole in memory."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_api.errors import NOT_JSON, TOO_LARGE, error_response, language_of

BODY_LIMIT = 1024 * 1024  # 1 MiB: 500 leads with transcripts fit several times over


class BodyChecks:
    """415 for a POST whose body is not JSON; 413 for a body over `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        language = language_of(request)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            response = error_response(language, 415, NOT_JSON, field="Content-Type")
            await response(scope, receive, send)
            return
        too_large = error_response(language, 413, TOO_LARGE, limit=self.limit)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
