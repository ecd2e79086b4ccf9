"""Serve the console (`app.py`) with the server-side sign-in cookie route:
`streamlit run server.py`.

A Streamlit script cannot send HTTP headers, so it cannot set an HttpOnly cookie; Streamlit's
`st.App` lets the app add an HTTP route that can (`ui.session_cookie`). Run through `app.py`
alone, the app still works, but the browser keeps no cookie: every reload asks to sign in.
"""

from __future__ import annotations

import streamlit as st

from ui.session_cookie import session_cookie_routes

app = st.App("app.py", routes=session_cookie_routes())
