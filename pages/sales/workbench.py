"""The workbench (工作台), a rep's home: follow-ups overdue and due today, new assignments not
yet touched, what a recycle rule will soon take back, today's trials, the pipeline by stage
and how the day went; one click from each line to the opportunity. A manager also sees
each rep's backlog and the transfer requests waiting for them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.circulation.recycle import recycle_due
from crm_core.platform import clock
from crm_core.platform.errors import CrmError
from crm_core.platform.notices import list_notices, mark_read, unread_count
from crm_core.platform.permissions import Permission
from crm_core.sales.transfers import count_pending_transfers
from crm_core.sales.workbench import WorkLine, workbench
from ui.circulation import number
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t, tmd
from ui.sales import (
    BOARD_PAGE,
    line_text,
    local,
    money,
    open_link,
    stage_text,
    when_relative,
)

me = actor()
now = clock.now()
try:
    with session() as s:
        bench = workbench(s, me)
        due = recycle_due(s, me)
        unread = unread_count(s, me)
        notices = list_notices(s, me, unread_only=True, limit=10)
        transfers = (
            count_pending_transfers(s, me) if me.can(Permission.ASSIGN_OPPORTUNITIES) else None
        )
except CrmError as error:
    show_error(error)
    st.stop()

# The landing page of everyone who works opportunities: greeted like the home page.
st.title(tmd("home.title", name=me.full_name))
st.caption(t("workbench.intro"))

metrics = st.columns(5)
metrics[0].metric(t("workbench.metric.overdue"), number(bench.overdue_count))
metrics[1].metric(t("workbench.metric.due_today"), number(bench.due_today_count))
metrics[2].metric(t("workbench.metric.new"), number(bench.new_count))
metrics[3].metric(t("workbench.metric.follow_ups_today"), number(bench.today.follow_ups))
metrics[4].metric(
    t("workbench.metric.calls_today"),
    number(bench.today.calls),
    help=t(
        "workbench.metric.calls_help",
        connected=number(bench.today.connected_calls),
        minutes=number(bench.today.call_seconds // 60),
    ),
)


def work_list(title: str, lines: list[WorkLine], count: int, empty: str, *, due: bool) -> None:
    """A heading, one link per line, and how many more there are."""
    st.subheader(t(title, count=number(count)))
    if not lines:
        st.caption(t(empty))
        return
    for line in lines:
        when = when_relative(line.at, now) if due else local(line.at)
        tags = [line.business_line, stage_text(line.stage), when]
        if line.intention_level:
            tags.append(t("opportunity.intention", level=line.intention_level))
        if line.pipeline_type == "renewal":
            tags.append(t("opportunity.renewal"))
        open_link(line.opportunity_id, line_text(line.opportunity_id, line.lead_name, *tags))
    if count > len(lines):
        st.page_link(
            BOARD_PAGE,
            label=t("workbench.more", count=number(count - len(lines))),
            icon=":material/view_kanban:",
        )


left, right = st.columns(2)
with left:
    work_list(
        "workbench.overdue", bench.overdue, bench.overdue_count, "workbench.none_overdue", due=True
    )
    work_list(
        "workbench.due_today",
        bench.due_today,
        bench.due_today_count,
        "workbench.none_due",
        due=True,
    )
with right:
    work_list(
        "workbench.new", bench.new_assignments, bench.new_count, "workbench.none_new", due=False
    )
    st.subheader(t("workbench.recycle", count=number(len(due))))
    if due:
        for item in due[:20]:
            days = item.days_left(now)
            left_text = t("home.due.today") if days == 0 else t("home.due.in_days", days=days)
            open_link(
                item.opportunity_id,
                line_text(
                    item.opportunity_id,
                    item.lead_name,
                    item.business_line,
                    left_text,
                    item.rule_name,
                ),
            )
    else:
        st.caption(t("workbench.none_recycle"))

st.subheader(t("workbench.trials", count=number(len(bench.trials_today))))
if bench.trials_today:
    for trial in bench.trials_today:
        open_link(
            trial.opportunity_id,
            line_text(
                trial.opportunity_id,
                trial.lead_name,
                local(trial.scheduled_at, "%H:%M"),
                trial.course,
            ),
        )
else:
    st.caption(t("workbench.none_trials"))

pipeline_col, notices_col = st.columns(2)
with pipeline_col:
    st.subheader(t("workbench.pipeline"))
    if bench.pipeline:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("workbench.stage"): stage_text(c.stage),
                        t("workbench.count"): c.count,
                        t("workbench.amount"): money(c.amount),
                    }
                    for c in bench.pipeline
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("workbench.none_pipeline"))
    if bench.today.by_channel:
        done = " · ".join(
            f"{t(f'follow_up.channel.{c}')} {number(n)}"
            for c, n in sorted(bench.today.by_channel.items())
        )
        st.caption(t("workbench.done_today", done=done))
with notices_col:
    st.subheader(t("home.notices.title", count=number(unread)))
    if notices:
        for notice in notices:
            st.info(
                f"{local(notice.created_at)} · {tmd(f'notice.{notice.kind}', **(notice.params or {}))}"
            )
        if st.button(t("home.notices.mark_all"), key="workbench_mark_read"):
            with session() as s:
                mark_read(s, me)
            st.rerun()
    else:
        st.caption(t("home.notices.none"))

if bench.team is not None:
    st.subheader(t("workbench.team", count=number(len(bench.team))))
    if transfers:
        st.page_link(
            "pages/circulation/desk.py",
            label=t("workbench.transfers", count=number(transfers)),
            icon=":material/swap_horiz:",
        )
    if bench.team:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("workbench.team.rep"): r.name,
                        t("workbench.team.owned"): r.owned,
                        t("workbench.team.cap"): r.holding_cap,
                        t("workbench.team.overdue"): r.overdue,
                        t("workbench.team.untouched"): r.untouched,
                    }
                    for r in bench.team
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("workbench.team.none"))
