"""The browser cookie for streamlit-authenticator, without its cookie component.

The library's cookie manager is an iframe component that posts its value back on every
mount; each post starts a rerun that can swallow a login form's submit. Reading needs no
component (`st.context.cookies`, which the library already uses), and writing is one line of
script, so we give the library this jar instead.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import streamlit as st
import streamlit_authenticator.models.cookie_model as cookie_model


class BrowserCookieJar:
    """The subset of `extra_streamlit_components.CookieManager` the library calls."""

    def __init__(self, key: str = "init") -> None:
        self.cookies = dict(st.context.cookies or {})

    def get(self, cookie: str) -> str | None:
        return self.cookies.get(cookie)

    def set(
        self,
        cookie: str,
        val: str,
        key: str = "set",
        path: str = "/",
        expires_at: datetime | None = None,
        **_: object,
    ) -> None:
        expires = (expires_at or datetime.now() + timedelta(days=1)).astimezone(UTC)
        self._write(f"{cookie}={val}; path={path}; expires={_http_date(expires)}; SameSite=Strict")
        self.cookies[cookie] = val

    def delete(self, cookie: str, key: str = "delete") -> None:
        self._write(f"{cookie}=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Strict")
        self.cookies.pop(cookie, None)

    @staticmethod
    def _write(assignment: str) -> None:
        st.html(
            f"<script>document.cookie = {json.dumps(assignment)};</script>",
            unsafe_allow_javascript=True,
        )


def _http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def install() -> None:
    """Make every Authenticate built from now on use `BrowserCookieJar`."""
    cookie_model.stx = SimpleNamespace(CookieManager=BrowserCookieJar)
