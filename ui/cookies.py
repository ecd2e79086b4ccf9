"""The browser cookie for streamlit-authenticator, without its cookie component.

The library's cookie manager is an iframe component that posts its value back on every
mount; each post starts a rerun that can swallow a login form's submit. Reading needs no
component (`st.context.cookies`, which the library already uses). Writing is never done from
the page: a script-written cookie cannot be HttpOnly, so the page posts a one-minute order
to the server's cookie route (`ui.session_cookie`), which sets or deletes the cookie.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import streamlit as st
import streamlit_authenticator.models.cookie_model as cookie_model

from crm_core.org import auth
from crm_core.platform import clock
from ui.session_cookie import cookie_signing_key, order_script

_LOGGER = logging.getLogger(__name__)


class BrowserCookieJar:
    """The subset of `extra_streamlit_components.CookieManager` the library calls."""

    def __init__(self, key: str = "init") -> None:
        self.cookies = dict(st.context.cookies or {})

    def get(self, cookie: str) -> str | None:
        return self.cookies.get(cookie)

    def set(self, cookie: str, val: str, **_: object) -> None:
        # `ui.auth` replaces the library's `set_cookie` with `order_session_cookie`, so this
        # is never reached; a page must never write the cookie itself.
        _LOGGER.warning("refused to write the %s cookie from the page", cookie)

    def delete(self, cookie: str, key: str = "delete") -> None:
        clear_session_cookie()
        self.cookies.pop(cookie, None)


def order_session_cookie(username: str, issued_at) -> None:
    """Have the server set (or renew) the session cookie of `username`'s session signed in
    at `issued_at`."""
    ticket = auth.cookie_ticket(
        cookie_signing_key(), clock.now(), username=username, issued_at=issued_at
    )
    _run(order_script(ticket, "set"))


def clear_session_cookie() -> None:
    """Have the server delete the session cookie."""
    _run(order_script(auth.cookie_ticket(cookie_signing_key(), clock.now()), "cleared"))


def _run(script: str) -> None:
    st.html(script, unsafe_allow_javascript=True)


def install() -> None:
    """Make every Authenticate built from now on use `BrowserCookieJar`."""
    cookie_model.stx = SimpleNamespace(CookieManager=BrowserCookieJar)
