"""Driving app.py in-process with AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.factories import PASSWORD

APP = str(Path(__file__).resolve().parent.parent / "app.py")
_ROOT = Path(APP).parent

# What AppTest raises for a page the app's `st.navigation` did not register for the user
# (a missing file raises "Could not find page ...", which must not count as a refusal).
NOT_IN_NAVIGATION = "Could not find a navigation page"


def login(username: str, password: str = PASSWORD) -> AppTest:
    """Sign in through the real form and return the app on the user's landing page.

    The form costs streamlit-authenticator's 0.7 s sleep per render: use it where the form
    is what the test is about, and `signed_in` everywhere else."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    at.run()
    return at


def signed_in(username: str) -> AppTest:
    """The app on `username`'s landing page, signed in without the form.

    Sets the session state the form leaves behind (the library's status and user name, and
    `ui.auth`'s sign-in time); every run still goes through `ui.auth.current_actor`, which
    checks the user against the database, so a resigned or locked user is still refused."""
    from crm_core.platform import clock
    from ui.db import session

    with session() as s:
        user = s.exec(_user_by_name(username)).one()
        full_name, email, lang = user.full_name, user.email, user.language
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = full_name
    at.session_state["email"] = email
    at.session_state["crm_login_at"] = clock.now()
    at.session_state["crm_language"] = lang
    at.run()
    return at


def _user_by_name(username: str):
    from sqlmodel import select

    from crm_core.models import User

    return select(User).where(User.username == username)


def open_pages(at: AppTest) -> set[str]:
    """The page scripts the app's navigation registered for the signed-in user, relative to
    the project root (AppTest keeps them after each run)."""
    return {
        Path(str(info["script_path"])).resolve().relative_to(_ROOT).as_posix()
        for info in at._registered_pages.values()
        if info.get("script_path")
    }


def assert_page_refused(at: AppTest, page: str) -> None:
    """Opening `page` fails because the user's navigation lacks it, not for another reason."""
    assert (_ROOT / page).is_file(), f"{page} does not exist: the refusal would prove nothing"
    assert page not in open_pages(at)
    with pytest.raises(ValueError, match=NOT_IN_NAVIGATION):
        at.switch_page(page).run()
