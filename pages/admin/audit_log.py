"""Audit log (admins): every administrative change, filtered and paged on the server.

Read-only: the product offers no way to edit or delete entries.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from crm_core.platform.audit import (
    actor_id_for_username,
    audit_actions,
    audit_target_types,
    search_entries,
)
from crm_core.platform.i18n import NC_, label_of
from ui.company_time import instant_of, show_time
from ui.context import actor
from ui.db import session
from ui.i18n import t, tmd
from ui.inputs import search_input

PAGE_SIZE = 50
PAGE_KEY = "audit_page"

me = actor()
st.title(t("Audit log"))
st.caption(t("Every administrative change, newest first. Entries cannot be edited or deleted."))
with session() as s:
    actions = audit_actions(s, me)
    target_types = audit_target_types(s, me)


def label(family: str, value: str) -> str:
    """The translated label of `value`, or `value` itself when it has no text yet."""
    return t(label_of(family, value))


def compact(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def actor_text(row) -> str:
    if row.actor_id is None:
        return t("System")
    if row.actor_username is None:  # the user row is gone: show the id that was recorded
        return f"#{row.actor_id}"
    return f"{row.actor_name} ({row.actor_username})"


def first_page() -> None:
    """A changed filter starts again from the first page."""
    st.session_state[PAGE_KEY] = 1


top = st.columns(3)
action = top[0].selectbox(
    t("Action"),
    ["", *actions],
    format_func=lambda a: label("audit.action", a) if a else t("All"),
    key="audit_action",
    on_change=first_page,
)
target_type = top[1].selectbox(
    t("Target type"),
    ["", *target_types],
    format_func=lambda v: label("audit.target", v) if v else t("All"),
    key="audit_target_type",
    on_change=first_page,
)
username = search_input(
    t("Actor (username)"), key="audit_actor", on_change=first_page, container=top[2]
)
bottom = st.columns(3)
target_id = search_input(
    t("Target id"), key="audit_target_id", on_change=first_page, container=bottom[0]
)
since = bottom[1].date_input(
    t(NC_("flow_log", "From")), value=None, key="audit_since", on_change=first_page
)
until = bottom[2].date_input(
    t("To (UTC, inclusive)"), value=None, key="audit_until", on_change=first_page
)

filters: dict[str, Any] = {
    "action": action or None,
    "target_type": target_type or None,
    "target_id": target_id.strip() or None,
    "since": instant_of(since) if since else None,
    "until": instant_of(until + timedelta(days=1)) if until else None,
}
with session() as s:
    if username.strip():
        filters["actor_id"] = actor_id_for_username(s, me, username)
    if username.strip() and filters["actor_id"] is None:
        result = None
    else:
        page = int(st.columns(4)[0].number_input(t("Page"), min_value=1, step=1, key=PAGE_KEY))
        result = search_entries(s, me, **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        pages = max(1, math.ceil(result.total / PAGE_SIZE))
        if page > pages:  # past the end: show the last page
            page = pages
            result = search_entries(
                s, me, **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )

if result is None:
    st.warning(tmd("There is no user called {username}.", username=username.strip()))
elif not result.rows:
    st.info(t("No entries match."))
else:
    st.caption(
        t("Page {page} of {pages} ({total} entries).", page=page, pages=pages, total=result.total)
    )
    frame = pd.DataFrame(
        [
            {
                t("Time"): show_time(row.at),
                t("Actor"): actor_text(row),
                t("Action"): label("audit.action", row.action),
                t("Target"): " ".join(
                    filter(None, [label("audit.target", row.target_type), row.target_id])
                ),
                t("Before"): compact(row.before),
                t("After"): compact(row.after),
            }
            for row in result.rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")
