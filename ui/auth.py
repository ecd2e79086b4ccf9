"""The login gate: streamlit-authenticator draws the form and keeps the cookie; every check
of a password or a session is made by `crm_core.auth` against the users table.

What we add to the library (see TESTING.md): a real cookie key, a timed lockout, an issue
time in the cookie, and on every rerun a server-side check that the account may still be
used and that the session was not revoked by a log-out or a password change.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import datetime

import streamlit as st
import streamlit_authenticator as stauth

from crm_core import auth, clock
from crm_core.access import Actor, load_actor
from crm_core.i18n import LANGUAGES
from crm_core.models import User
from crm_core.settings import get_setting
from db.engine import DATA_DIR
from ui import cookies
from ui.db import session
from ui.i18n import language, t

COOKIE_NAME = "crm_session"
_LOGIN_AT = "crm_login_at"
_LOGIN_RESULT = "crm_login_result"
_NOTICE = "crm_notice"
_AUTHENTICATOR = "crm_authenticator"
_COOKIE_PENDING = "crm_cookie_pending"

cookies.install()


def cookie_signing_key() -> str:
    """`CRM_COOKIE_KEY`, or a random secret made once in the (git-ignored) data folder."""
    key = os.environ.get("CRM_COOKIE_KEY", "").strip()
    if key:
        return key
    path = DATA_DIR / "cookie_secret"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _credentials_entry(user: User) -> dict:
    # The library only needs a display name; the password hash never leaves the core.
    return {"name": user.full_name, "email": user.email, "password": "", "roles": []}


def _build_authenticator(key: str, expiry_days: float, cookie_user: User | None):
    usernames = {cookie_user.username: _credentials_entry(cookie_user)} if cookie_user else {}
    # Built per browser session and per run: a cached instance would share one user's
    # login with every other browser.
    authenticator = stauth.Authenticate(
        {"usernames": usernames}, COOKIE_NAME, key, expiry_days, auto_hash=False
    )
    model = authenticator.authentication_controller.authentication_model
    cookie_model = authenticator.cookie_controller.cookie_model

    def check_credentials(username: str, password: str) -> bool:
        with session() as s:
            result = auth.authenticate(s, username, password)
            st.session_state[_LOGIN_RESULT] = result
            if result.ok:
                user = s.get(User, result.user_id)
                model.credentials["usernames"][user.username] = _credentials_entry(user)
                st.session_state[_LOGIN_AT] = clock.now()
                st.session_state["crm_language"] = user.language
        return result.ok

    def token_encode() -> str:
        cookie_model.exp_date = time.time() + expiry_days * 86400
        return auth.encode_session_token(
            st.session_state["username"],
            st.session_state.get(_LOGIN_AT) or clock.now(),
            cookie_model.exp_date,
            key,
        )

    model.check_credentials = check_credentials
    cookie_model._token_encode = token_encode
    return authenticator


def _cookie_user(key: str, expiry_days: float) -> tuple[User | None, datetime | None, bool]:
    """The user of a valid cookie, its issue time, and whether a cookie was refused."""
    raw = st.context.cookies.get(COOKIE_NAME) if st.context.cookies else None
    token = auth.decode_session_token(raw, key, expiry_days, time.time())
    if token is None:
        return None, None, raw is not None
    with session() as s:
        user = auth.session_user(s, token.username, token.issued_at)
    return user, token.issued_at, user is None


def _language_picker() -> None:
    codes = list(LANGUAGES)
    choice = st.sidebar.selectbox(
        t("app.language"),
        codes,
        index=codes.index(language()),
        format_func=LANGUAGES.get,
        key="crm_login_language",
    )
    st.session_state["crm_language"] = choice


def _login_fields() -> dict[str, str]:
    return {
        "Form name": t("login.form_name"),
        "Username": t("login.username"),
        "Password": t("login.password"),
        "Login": t("login.submit"),
        "Captcha": t("login.captcha"),
    }


def _show_login_result() -> None:
    result: auth.LoginResult | None = st.session_state.pop(_LOGIN_RESULT, None)
    if result is None or result.ok:
        return
    # One message whatever the reason (locked, unknown, inactive, wrong): see the core.
    st.error(t(result.message_key))


def _end_session(authenticator, message_key: str | None) -> None:
    if st.session_state.get("authentication_status"):
        # Clears the library's state and deletes the cookie in the browser.
        authenticator.logout(location="unrendered")
    st.session_state.pop(_LOGIN_AT, None)
    if message_key:
        st.session_state[_NOTICE] = message_key


def current_actor() -> Actor | None:
    """The signed-in user's actor, checked against the database on every run; None when
    nobody is signed in (then `login_page` is the only page). Draws no widgets."""
    with session() as s:
        expiry_days = float(get_setting(s, "login.cookie_expiry_days"))
    key = cookie_signing_key()
    cookie_user, cookie_refused = None, False
    if not st.session_state.get("authentication_status"):
        cookie_user, issued_at, cookie_refused = _cookie_user(key, expiry_days)
        # Keep the library from reading a revoked or forged cookie.
        st.session_state["logout"] = True if cookie_refused else None
        if cookie_user is not None:
            st.session_state[_LOGIN_AT] = issued_at
    authenticator = _build_authenticator(key, expiry_days, cookie_user)
    st.session_state[_AUTHENTICATOR] = authenticator
    if cookie_refused:
        authenticator.cookie_controller.delete_cookie()
    if cookie_user is not None:
        # Signs the session in from the cookie without drawing anything.
        authenticator.login(location="unrendered")
    if not st.session_state.get("authentication_status"):
        return None

    username = st.session_state.get("username")
    login_at = st.session_state.setdefault(_LOGIN_AT, clock.now())
    with session() as s:
        user = auth.session_user(s, username, login_at)
        if user is not None:
            st.session_state["crm_must_change_password"] = user.must_change_password
            st.session_state["crm_language"] = user.language
            actor = load_actor(s, user.id)
    if user is None:
        _end_session(authenticator, "app.session_ended")
        return None
    if st.session_state.pop(_COOKIE_PENDING, False):
        authenticator.cookie_controller.set_cookie()
    return actor


def login_page() -> None:
    """The sign-in page: the only page before sign-in."""
    authenticator = st.session_state[_AUTHENTICATOR]
    # The library sets the cookie inside the form; it is set after the rerun instead,
    # when the page has switched to the user's pages.
    authenticator.cookie_controller.cookie_model.set_cookie = lambda: None
    _language_picker()
    st.title(t("app.title"))
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(t(notice))
    st.caption(t("login.intro"))
    authenticator.login(location="main", fields=_login_fields(), key="crm_login")
    if st.session_state.get("authentication_status"):
        st.session_state[_COOKIE_PENDING] = True
        return
    _show_login_result()


def log_out(actor: Actor) -> None:
    """Sign out here and revoke every other session and cookie of the user."""
    with session() as s:
        auth.log_out(s, actor.user_id)
    _end_session(st.session_state[_AUTHENTICATOR], None)


def password_changed() -> None:
    """Keep this browser signed in after its own password change revoked older sessions:
    a new session time and a new cookie."""
    st.session_state[_LOGIN_AT] = clock.now()
    st.session_state[_AUTHENTICATOR].cookie_controller.set_cookie()
