"""Work-chat notices (administrators): each org unit's WeCom or DingTalk group robot (its
webhook address and secret written once, never shown again), a test message, and the log of
pushed notices. Users choose what is pushed on their account page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.models.work_chat import PUSH_STATES, ROBOT_KINDS
from crm_core.org.units import unit_tree
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.settings import get_setting
from crm_core.work_chat.kinds import PUSH_KINDS
from crm_core.work_chat.log import list_deliveries, state_counts
from crm_core.work_chat.setup import list_robots, remove_robot, save_robot, send_test_push
from ui.company_time import show_time, zone_caption
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import nt, show_error, t

me = actor()
st.title(t("Work-chat notices"))
show_flash()
st.caption(
    t(
        "Notices users opt into are pushed to the WeCom or DingTalk group robot of their unit (or the nearest unit above it with one). The notice in the app stays as it is."
    )
)
zone_caption()


def _act(action, done: str) -> None:
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(done)
        st.rerun()


def robots_tab() -> None:
    with session() as s:
        robots = list_robots(s, me)
        units = {u.id: "　" * u.depth + u.name for u in unit_tree(s, me)}
    if robots:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Org unit"): r.unit_name,
                        t("Robot"): t(label_of("work_chat.kind", r.kind)),
                        t("Webhook address"): t("Set") if r.has_webhook else "",
                        t("Signing secret"): t("Set") if r.has_secret else "",
                        t("On"): r.enabled,
                        t("Changed"): show_time(r.updated_at),
                    }
                    for r in robots
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("No unit has a robot yet."))
    with st.form("work_chat_robot"):
        st.subheader(t("Set a unit's robot"))
        unit_id = st.selectbox(t("Org unit"), list(units), format_func=lambda u: units[u])
        kind = st.selectbox(
            t("Robot"), ROBOT_KINDS, format_func=lambda k: t(label_of("work_chat.kind", k))
        )
        webhook = st.text_input(
            t("Webhook address (stored encrypted; leave empty to keep the stored one)"),
            type="password",
        )
        secret = st.text_input(
            t("Signing secret of a DingTalk robot (stored encrypted; leave empty to keep it)"),
            type="password",
        )
        enabled = st.checkbox(t("On"), value=True)
        if st.form_submit_button(t("Save the robot")):
            _act(
                lambda s: save_robot(
                    s,
                    me,
                    org_unit_id=unit_id,
                    kind=kind,
                    webhook=webhook or None,
                    secret=secret or None,
                    enabled=enabled,
                ),
                N_("Robot saved."),
            )
    if not robots:
        return
    with_robot = {r.org_unit_id: r.unit_name for r in robots}
    st.subheader(t("Test or remove a robot"))
    chosen = st.selectbox(
        t("Org unit"), list(with_robot), format_func=lambda u: with_robot[u], key="wc_test_unit"
    )
    left, right = st.columns(2)
    if left.button(t("Send a test message"), key="wc_test"):
        try:
            with session() as s:
                answer = send_test_push(s, me, chosen, t("A test message from the CRM."))
        except CrmError as error:
            show_error(error)
        else:
            if answer.accepted:
                st.success(t("The robot took the test message."))
            else:
                st.error(t("The robot did not take it: {error}", error=answer.error or ""))
    if right.button(t("Remove the robot"), key="wc_remove"):
        _act(lambda s: remove_robot(s, me, chosen), N_("Robot removed."))


def log_tab() -> None:
    with session() as s:
        counts = state_counts(s, me)
        per_minute = get_setting(s, "push.per_minute")
    columns = st.columns(len(PUSH_STATES))
    for column, state in zip(columns, PUSH_STATES, strict=True):
        column.metric(t(label_of("work_chat.state", state)), counts[state])
    st.caption(
        nt(
            "Each robot gets at most {n} message a minute.",
            "Each robot gets at most {n} messages a minute.",
            per_minute,
        )
    )
    options = ["", *PUSH_STATES]
    state = st.selectbox(
        t("State"),
        options,
        format_func=lambda s: t(label_of("work_chat.state", s)) if s else t("All"),
        key="wc_state",
    )
    with session() as s:
        rows = list_deliveries(s, me, state=state or None)
    if not rows:
        st.caption(t("Nothing has been pushed yet."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Notice"): r.notice_id,
                    t("Kind"): t(PUSH_KINDS.get(r.notice_kind, r.notice_kind)),
                    t("User"): r.user_name,
                    t("Robot of"): r.unit_name or "",
                    t("Robot"): t(label_of("work_chat.kind", r.channel)),
                    t("State"): t(label_of("work_chat.state", r.state)),
                    t("Attempts"): r.attempts,
                    t("Last error"): r.last_error or "",
                    t("Queued"): show_time(r.created_at),
                    t("Sent"): show_time(r.sent_at),
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


tabs = [(t("Robots"), robots_tab), (t("Delivery log"), log_tab)]
shown = st.tabs([title for title, _ in tabs], key="wc_tabs", on_change="rerun")
for tab, (_, show) in zip(shown, tabs, strict=True):
    with tab:
        if tab.open:
            show()
