"""The login gate: streamlit-authenticator draws the form; every check of a password or a
session is made by `crm_core.org.auth` against the users table.

What we add to the library (see TESTING.md): a real cookie key, a timed lockout, an issue
time in the cookie, and on every rerun a server-side check that the account may still be
used and that the session was not revoked by a log-out or a password change. The cookie is
set by the server, HttpOnly and Secure (`ui.session_cookie`), lives one idle period
(`login.session_idle_minutes`) and is renewed while the user is active; a browser left idle
longer is signed out at its next click.
"""

from __future__ import annotations

from datetime import UTC

import streamlit as st
import streamlit_authenticator as stauth

from crm_core.models import User
from crm_core.org import auth
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import LANGUAGES, N_
from crm_core.platform.settings import get_setting
from ui import cookies
from ui.db import session
from ui.i18n import language, t
from ui.session_cookie import COOKIE_NAME, cookie_signing_key

__all__ = ["COOKIE_NAME", "cookie_signing_key", "current_actor", "log_out", "login_page"]

_LOGIN_AT = "crm_login_at"
_LOGIN_RESULT = "crm_login_result"
_NOTICE = "crm_notice"
_AUTHENTICATOR = "crm_authenticator"
_COOKIE_PENDING = "crm_cookie_pending"
# When the cookie last ordered from the server expires: the browser's session ends with it.
_COOKIE_EXPIRES = "crm_cookie_expires"

cookies.install()


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

    model.check_credentials = check_credentials
    # Whatever path of the library sets the cookie, the server sets it.
    authenticator.cookie_controller.cookie_model.set_cookie = _order_cookie
    return authenticator


def _order_cookie() -> bool:
    """Have the server set or renew this session's cookie, and remember until when; False
    when the session has lived its longest (no cookie may be made for it any more)."""
    username = st.session_state.get("username")
    login_at = st.session_state.get(_LOGIN_AT)
    if not username or login_at is None:
        return False
    with session() as s:
        expires = auth.cookie_expiry(auth.cookie_policy(s), login_at, clock.now())
    if expires is None:
        return False
    cookies.order_session_cookie(username, login_at)
    st.session_state[_COOKIE_EXPIRES] = expires
    return True


def _cookie_user(
    key: str, expiry_days: float
) -> tuple[User | None, auth.SessionToken | None, bool]:
    """The user of a valid cookie, the cookie, and whether a cookie was refused."""
    raw = st.context.cookies.get(COOKIE_NAME) if st.context.cookies else None
    at_epoch = clock.now().replace(tzinfo=UTC).timestamp()
    token = auth.decode_session_token(raw, key, expiry_days, at_epoch)
    if token is None:
        return None, None, raw is not None
    with session() as s:
        user = auth.session_user(s, token.username, token.issued_at)
    return user, token, user is None


def _language_picker() -> None:
    codes = list(LANGUAGES)
    choice = st.sidebar.selectbox(
        t("Language"),
        codes,
        index=codes.index(language()),
        format_func=LANGUAGES.get,
        key="crm_login_language",
    )
    st.session_state["crm_language"] = choice


def _login_fields() -> dict[str, str]:
    return {
        "Form name": t("Sign in"),
        "Username": t("Username"),
        "Password": t("Password"),
        "Login": t("Login"),
        "Captcha": t("Captcha"),
    }


def _show_login_result() -> None:
    result: auth.LoginResult | None = st.session_state.pop(_LOGIN_RESULT, None)
    if result is None or result.ok:
        return
    # One message whatever the reason (locked, unknown, inactive, wrong): see the core.
    st.error(t(result.message_key))


def _end_session(authenticator, message_key: str | None) -> None:
    if st.session_state.get("authentication_status"):
        # Clears the library's state and has the server delete the cookie.
        authenticator.logout(location="unrendered")
    st.session_state.pop(_LOGIN_AT, None)
    st.session_state.pop(_COOKIE_EXPIRES, None)
    if message_key:
        st.session_state[_NOTICE] = message_key


def _keep_cookie(authenticator, policy: auth.CookiePolicy) -> bool:
    """Set, renew or end this browser's cookie-backed session; False when it has ended.

    The cookie lives one idle period and is renewed while the user is active (every run
    is a click). A browser idle past its cookie's life is signed out here too, so an open
    tab left alone expires like the cookie."""
    now = clock.now()
    login_at = st.session_state[_LOGIN_AT]
    expires = st.session_state.get(_COOKIE_EXPIRES)
    if now >= login_at + policy.longest:
        ended = N_(
            "Your session has ended. Please sign in again."
        )  # the longest a sign-in lasts, however active
    elif st.session_state.pop(_COOKIE_PENDING, False) or expires is None:
        ended = None if _order_cookie() else N_("Your session has ended. Please sign in again.")
    elif now >= expires:
        ended = N_("You were signed out after a while without activity. Please sign in again.")
    else:
        if auth.renewed_expiry(policy, login_at, expires, now) is not None:
            _order_cookie()
        ended = None
    if ended is not None:
        _end_session(authenticator, ended)
        return False
    return True


def current_actor() -> Actor | None:
    """The signed-in user's actor, checked against the database on every run; None when
    nobody is signed in (then `login_page` is the only page). Draws no widgets."""
    with session() as s:
        expiry_days = float(get_setting(s, "login.cookie_expiry_days"))
        policy = auth.cookie_policy(s)
    key = cookie_signing_key()
    cookie_user, cookie_refused = None, False
    if not st.session_state.get("authentication_status"):
        cookie_user, token, cookie_refused = _cookie_user(key, expiry_days)
        # Keep the library from reading a revoked or forged cookie.
        st.session_state["logout"] = True if cookie_refused else None
        if cookie_user is not None:
            st.session_state[_LOGIN_AT] = token.issued_at
            st.session_state[_COOKIE_EXPIRES] = token.expires_at
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
        _end_session(authenticator, N_("Your session has ended. Please sign in again."))
        return None
    if not _keep_cookie(authenticator, policy):
        return None
    return actor


def login_page() -> None:
    """The sign-in page: the only page before sign-in."""
    authenticator = st.session_state[_AUTHENTICATOR]
    # The library sets the cookie inside the form; it is set after the rerun instead,
    # when the page has switched to the user's pages.
    authenticator.cookie_controller.cookie_model.set_cookie = lambda: None
    _language_picker()
    st.title(t("Sales CRM"))
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(t(notice))
    st.caption(t("Sign in with your employee account."))
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
    _order_cookie()
