"""Sign-in log (admins): every success, failure and lock."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.org.auth import recent_login_events
from crm_core.platform.i18n import label_of
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.i18n import t


def detail_text(event) -> str:
    if not event.detail:
        return ""
    if event.event == "locked":
        return t("Locked until {until} (UTC)", until=event.detail)
    return t(label_of("login_detail", event.detail))


me = actor()
st.title(t("Sign-in log"))
with session() as s:
    events = recent_login_events(s, me, limit=500)
if not events:
    st.info(t("No sign-in events yet."))
else:
    frame = pd.DataFrame(
        [
            {
                t("Time"): show_time(e.at),
                t("Username"): e.username,
                t("Event"): t(label_of("login_event", e.event)),
                t("Detail"): detail_text(e),
            }
            for e in events
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")
