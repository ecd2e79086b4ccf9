"""The sign-in cookie, set by the server: HttpOnly, Secure, SameSite=Strict.

A Streamlit script talks to the browser over a WebSocket, which carries no HTTP headers, so
a script cannot set an HttpOnly cookie itself. Streamlit 1.67 serves the app through
Starlette and lets an app add its own HTTP routes (`st.App(..., routes=...)`, see
`server.py`). The page therefore asks this route for the cookie: the script renders a
one-line `fetch` carrying a signed order that lives one minute (`crm_core.org.auth.cookie_ticket`),
and the route answers with the `Set-Cookie` header. No script ever sees the cookie.

This module imports no Streamlit page API: the route runs outside any script.
"""

from __future__ import annotations

import json
import logging
import os
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crm_core.org import auth
from crm_core.platform import clock
from crm_core.platform.shared_secrets import shared_secret
from db.engine import DATA_DIR, database_url, session_scope

COOKIE_NAME = "crm_session"
ROUTE_NAME = "crm-session"

_LOGGER = logging.getLogger(__name__)


def cookie_signing_key() -> str:
    """`CRM_COOKIE_KEY`, or the deployment's key kept in the database: every console process
    on every machine signs and reads cookies with the same key, so a cookie from one works on
    all. Made once; an install that kept its key in the data folder (`cookie_secret`, before
    the key moved to the database) keeps it, and its users stay signed in."""
    key = os.environ.get("CRM_COOKIE_KEY", "").strip()
    if key:
        return key
    url = database_url()
    if url not in _STORED_KEYS:
        with session_scope() as session:
            _STORED_KEYS[url] = shared_secret(session, "cookie_key", _first_key)
    return _STORED_KEYS[url]


# The stored key per database, read once per process: once made, it never changes.
_STORED_KEYS: dict[str, str] = {}


def _first_key() -> str:
    old = DATA_DIR / "cookie_secret"
    if old.exists() and old.read_text().strip():
        return old.read_text().strip()
    return secrets.token_urlsafe(48)


def secure_cookies() -> bool:
    """Whether the cookie carries `Secure` (sent over HTTPS only). On unless
    `CRM_COOKIE_SECURE=0`, for a deployment served over plain HTTP to other machines:
    browsers refuse a Secure cookie there (localhost and 127.0.0.1 count as secure)."""
    return os.environ.get("CRM_COOKIE_SECURE", "1").strip() != "0"


def route_path() -> str:
    """Where the route answers, below Streamlit's `server.baseUrlPath` if one is set."""
    from streamlit import config  # noqa: PLC0415 - the config, not the page API

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{ROUTE_NAME}" if base else f"/{ROUTE_NAME}"


def set_cookie_header(order: auth.CookieOrder, secure: bool) -> str:
    """The `Set-Cookie` value that sets (or, without a token, deletes) the session cookie."""
    value, max_age = (order.token, order.max_age) if order.token else ("", 0)
    parts = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly"]
    if secure:
        parts.append("Secure")
    parts.append("SameSite=Strict")
    return "; ".join(parts)


def _same_origin(request: Request) -> bool:
    # Browsers say where a request comes from (Sec-Fetch-Site); an order posted from
    # another site (login CSRF: planting the attacker's own session) is refused. Origin and
    # Host are not compared: a reverse proxy may rewrite Host.
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _redeem(ticket: str) -> auth.CookieOrder | None:
    with session_scope() as session:
        return auth.redeem_cookie_ticket(session, ticket, cookie_signing_key(), clock.now())


async def _session_cookie(request: Request) -> Response:
    no_store = {"Cache-Control": "no-store"}
    # JSON only: an HTML form cannot send it, so another site cannot post an order without
    # the browser's CORS check, which this route never passes.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return Response(status_code=415, headers=no_store)
    if not _same_origin(request):
        return Response(status_code=403, headers=no_store)
    try:
        ticket = str((await request.json())["ticket"])
    except (ValueError, KeyError, TypeError):
        return Response(status_code=400, headers=no_store)
    order = await run_in_threadpool(_redeem, ticket)
    if order is None:
        return Response(status_code=403, headers=no_store)
    headers = {**no_store, "Set-Cookie": set_cookie_header(order, secure_cookies())}
    return Response(status_code=204, headers=headers)


def session_cookie_routes() -> list[Route]:
    """The route `server.py` adds to the Streamlit app."""
    return [Route(route_path(), _session_cookie, methods=["POST"])]


def order_script(ticket: str, done: str) -> str:
    """The page's part: post the order to the route, then mark the page with the outcome
    (`done`, e.g. "set" or "cleared"; for the browser tests and for anyone debugging). The
    one-minute order is the only secret the page ever holds."""
    body = json.dumps({"ticket": ticket})
    return (
        "<script>"
        f"fetch({json.dumps(route_path())}, {{method: 'POST', credentials: 'same-origin',"
        " cache: 'no-store', headers: {'Content-Type': 'application/json'},"
        f" body: {json.dumps(body)}}})"
        f".then(r => {{ document.documentElement.dataset.crmSession ="
        f" r.ok ? {json.dumps(done)} : 'refused ' + r.status; }})"
        ".catch(() => { document.documentElement.dataset.crmSession = 'failed'; });"
        "</script>"
    )
