"""What stands between an unexpected error and the browser.

An exception that escapes a page used to reach the reader as Streamlit's traceback, SQL
and all. `run_guarded` runs the app: a refusal of the core (`CrmError`) shows as its
message, anything else as a friendly message with an error number, while the traceback
goes to the server log under the same number, so an administrator can find it.
`.streamlit/config.toml` sets `client.showErrorDetails = "none"` for whatever escapes
even this (a widget callback, say).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import streamlit as st
from streamlit.logger import get_logger

from crm_core.platform.errors import CrmError
from ui.i18n import show_error, tmd

# Streamlit's own logger set-up: the server's log, at its level and in its format.
log = get_logger(__name__)


def new_error_id() -> str:
    """A short, unguessable number that ties the reader's message to the log entry."""
    return secrets.token_hex(6)


def run_guarded(render: Callable[[], None]) -> None:
    """Run `render` (the app: sign-in, navigation, the page) and show what it could not
    finish. `st.stop()` and `st.rerun()` are not errors (they are `BaseException`s that
    Streamlit handles) and pass through."""
    try:
        render()
    except CrmError as error:
        # A refusal the page did not expect here; its message says what was wrong.
        show_error(error)
    except Exception:
        error_id = new_error_id()
        log.exception("Unexpected error %s on page %s", error_id, _page_name())
        st.error(
            tmd(
                "Something went wrong on our side. Please try again; if it keeps happening, give your administrator this error number: {error_id}.",
                error_id=error_id,
            )
        )


def _page_name() -> str:
    """The page that failed, for the log (never shown to the reader)."""
    try:
        return st.context.url or "?"
    except Exception:  # noqa: BLE001 - the log line must not fail
        return "?"
