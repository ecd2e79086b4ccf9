"""Driving app.py in-process with AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.factories import PASSWORD

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def login(username: str, password: str = PASSWORD) -> AppTest:
    """Sign in through the real form and return the app on the user's landing page."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    at.run()
    return at
