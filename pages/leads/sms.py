"""SMS (短信平台): the send log with delivery states, templates and their approval, the
sensitive-word list, and the provider settings. Sends start from the lead library (a search
or checked rows) and from a lead's card."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from crm_core.models import MESSAGE_STATUSES
from crm_core.platform import clock
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.permissions import Permission
from crm_core.sms.log import list_messages, status_counts
from ui.company_time import show_time, zone_caption
from ui.context import actor
from ui.db import session
from ui.feedback import show_flash
from ui.figures import count, money
from ui.i18n import show_error, t
from ui.sms_admin import settings_tab, templates_tab, words_tab


def _status(code: str) -> str:
    return t(label_of("sms.status", code))


def log_tab() -> None:
    me = actor()
    status = st.selectbox(
        t("Status"),
        ["", *MESSAGE_STATUSES],
        format_func=lambda s: _status(s) if s else t("Any"),
        key="sms_log_status",
    )
    try:
        with session() as s:
            since = clock.now() - timedelta(days=30)
            counts = status_counts(s, me, since=since)
            rows = list_messages(s, me, status=status or None)
    except CrmError as error:
        show_error(error)
        return
    st.caption(t("The last 30 days"))
    columns = st.columns(len(MESSAGE_STATUSES))
    for column, code in zip(columns, MESSAGE_STATUSES, strict=True):
        number, cost = counts.get(code, (0, 0))
        column.metric(_status(code), count(number), help=money(cost))
    if not rows:
        st.caption(t("No message yet."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Queued"): show_time(r.created_at),
                    t("Lead"): r.lead_name,
                    t("Phone"): r.phone,
                    t("Template"): r.template or "",
                    t("Text"): r.body,
                    t("Status"): _status(r.status),
                    t("Reason"): r.error or "",
                    t("Sent by"): r.sent_by or t("Automatic"),
                    t("Settled"): show_time(r.settled_at),
                    t("Cost"): float(r.cost),
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


me = actor()
st.title(t("SMS"))
show_flash()
zone_caption()
tabs = [("log", t("Send log"), log_tab)]
if me.can(Permission.MANAGE_SMS) or me.can(Permission.APPROVE_SMS):
    tabs.append(("templates", t("Templates"), templates_tab))
if me.can(Permission.MANAGE_SMS):
    tabs.append(("words", t("Sensitive words"), words_tab))
if me.can(Permission.MANAGE_SETTINGS):
    tabs.append(("settings", t("Provider and settings"), settings_tab))
# Only the open tab runs; switching tabs reruns and keeps the tab after an action.
shown = st.tabs([title for _, title, _ in tabs], key="sms_tabs", on_change="rerun")
for tab, (_, _, show) in zip(shown, tabs, strict=True):
    with tab:
        if tab.open:
            show()
