"""The workbench (工作台), a rep's home: follow-ups overdue and due today, new assignments not
yet touched, what a recycle rule will soon take back, today's trials, the pipeline by stage
and how the day went; one click from each line to the opportunity, and a call from the
rep's seat to any of them. A manager also sees each rep's backlog and the transfer requests
waiting for them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.circulation.recycle import recycle_due
from crm_core.commerce.instalments import OverdueList, overdue_instalments
from crm_core.models import OPEN_STAGES
from crm_core.platform import clock
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.notices import list_notices, mark_read, unread_count
from crm_core.platform.permissions import Permission
from crm_core.sales.expected_value import STAGE_WEIGHTS
from crm_core.sales.transfers import count_pending_transfers
from crm_core.sales.workbench import WorkLine, new_assignments, workbench
from ui.calls import call_picker
from ui.circulation import number
from ui.collaborators import show_shared_with_me
from ui.context import actor
from ui.db import session
from ui.figures import percent
from ui.i18n import nt, show_error, t, tmd
from ui.notices import notice_text
from ui.options import option_text
from ui.rankings import my_rank_line
from ui.sales import (
    BOARD_PAGE,
    line_text,
    local,
    money,
    open_link,
    stage_text,
    when_relative,
)
from ui.tables import open_table
from ui.targets import my_targets_line

REFRESH_SECONDS = 15
me = actor()
now = clock.now()
try:
    with session() as s:
        bench = workbench(s, me)
        due = recycle_due(s, me)
        overdue = (
            overdue_instalments(s, me, owner_id=me.user_id, limit=20)
            if me.can(Permission.VIEW_OPPORTUNITIES)
            else OverdueList(0, [])
        )
        transfers = (
            count_pending_transfers(s, me) if me.can(Permission.ASSIGN_OPPORTUNITIES) else None
        )
except CrmError as error:
    show_error(error)
    st.stop()

# The landing page of everyone who works opportunities: greeted like the home page.
st.title(tmd("Welcome, {name}", name=me.full_name))
st.caption(
    t(
        "Your day: who to call, what is new, what a rule will soon take back. Times are company time."
    )
)
show_shared_with_me(me)

metrics = st.columns(5)
metrics[0].metric(t("Overdue follow-ups"), number(bench.overdue_count))
metrics[1].metric(t(NC_("workbench.metric", "Due today")), number(bench.due_today_count))
metrics[2].metric(t("New, not yet contacted"), number(bench.new_count))
metrics[3].metric(t("Follow-ups today"), number(bench.today.follow_ups))
metrics[4].metric(
    t("Calls today"),
    number(bench.today.calls),
    help=t(
        "{connected} connected, {minutes} minutes in all",
        connected=number(bench.today.connected_calls),
        minutes=number(bench.today.call_seconds // 60),
    ),
)


# Click-to-call on the rep's own work (overdue, due today, new), each line with a number;
# the opportunity page's button, so the same checks and the same call state.
call_picker(
    {
        line.opportunity_id: line_text(
            line.opportunity_id, line.lead_name, line.business_line, stage_text(line.stage)
        )
        for line in [*bench.overdue, *bench.due_today, *bench.new_assignments]
        if line.has_phone
    }
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
            tags.append(
                t("Intention {level}", level=option_text("intention_level", line.intention_level))
            )
        if line.pipeline_type == "renewal":
            tags.append(t("Renewal"))
        open_link(line.opportunity_id, line_text(line.opportunity_id, line.lead_name, *tags))
    if count > len(lines):
        st.page_link(
            BOARD_PAGE,
            label=t("{count} more on the board", count=number(count - len(lines))),
            icon=":material/view_kanban:",
        )


left, right = st.columns(2)
with left:
    work_list(
        N_("Overdue follow-ups ({count})"),
        bench.overdue,
        bench.overdue_count,
        N_("Nothing overdue."),
        due=True,
    )
    work_list(
        N_("Due later today ({count})"),
        bench.due_today,
        bench.due_today_count,
        N_("Nothing else due today."),
        due=True,
    )


def fresh(kind: str, ids: list[int]) -> list[int]:
    """The ids not seen on this page before; the first look only remembers them, so a toast
    means something arrived while the page was open."""
    key = f"workbench_seen_{kind}"
    seen = st.session_state.get(key)
    st.session_state[key] = set(ids) | (seen or set())
    return [] if seen is None else [i for i in ids if i not in seen]


# New work arrives while a rep keeps the page open (dispatch runs every few minutes): these two
# parts poll on their own, without rerunning the whole page.
@st.fragment(run_every=REFRESH_SECONDS)
def live_new_assignments() -> None:
    """The new assignments, reloaded every REFRESH_SECONDS, with a toast for each newcomer."""
    try:
        with session() as s:
            lines, count = new_assignments(s, me)
    except CrmError as error:
        show_error(error)
        return
    arrived = set(fresh("assignments", [line.opportunity_id for line in lines]))
    for line in lines:
        if line.opportunity_id in arrived:
            st.toast(
                tmd("New assignment: {name}", name=line.lead_name), icon=":material/person_add:"
            )
    work_list(
        N_("New assignments to contact ({count})"),
        lines,
        count,
        N_("Every new opportunity has been contacted."),
        due=False,
    )


@st.fragment(run_every=REFRESH_SECONDS)
def live_notices() -> None:
    """The unread notices, reloaded every REFRESH_SECONDS, with a toast for each new one."""
    try:
        with session() as s:
            unread = unread_count(s, me)
            notices = list_notices(s, me, unread_only=True, limit=10)
    except CrmError as error:
        show_error(error)
        return
    arrived = set(fresh("notices", [n.id for n in notices]))
    st.subheader(t("Notices ({count} unread)", count=number(unread)))
    if notices:
        for notice in notices:
            text = notice_text(notice)
            if notice.id in arrived:
                st.toast(text, icon=":material/notifications:")
            st.info(f"{local(notice.created_at)} · {text}")
        if st.button(t("Mark all read"), key="workbench_mark_read"):
            with session() as s:
                mark_read(s, me)
            st.rerun()
    else:
        st.caption(t("No new notices."))


with right:
    live_new_assignments()
    st.subheader(t("Will be recycled soon ({count})", count=number(len(due))))
    if due:
        for item in due[:20]:
            days = item.days_left(now)
            left_text = (
                t("Within a day")
                if days == 0
                else nt("Recycled in {n} day", "Recycled in {n} days", days)
            )
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
        st.caption(t("No recycle rule will take anything back from you soon."))
    st.subheader(t("Overdue instalments ({count})", count=number(overdue.total)))
    for item in overdue.rows:
        open_link(
            item.opportunity_id,
            line_text(
                item.opportunity_id,
                item.lead_name or "",
                t("due {day}", day=item.due_on.isoformat()),
                t("{amount} owed", amount=money(item.owed)),
            ),
        )
    if not overdue.rows:
        st.caption(t("No instalment of your customers is overdue."))

st.subheader(t("Trial lessons today ({count})", count=number(len(bench.trials_today))))
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
    st.caption(t("No trial lessons today."))

pipeline_col, notices_col = st.columns(2)
with pipeline_col:
    st.subheader(t("Your pipeline"))
    if bench.pipeline:
        # A stage's row opens the board on the reader's own opportunities at that stage.
        open_table(
            pd.DataFrame(
                [
                    {
                        t("Stage"): stage_text(c.stage),
                        t(NC_("workbench", "Opportunities")): c.count,
                        t("Amount"): money(c.amount),
                        t("Weighted"): money(c.weighted),
                    }
                    for c in bench.pipeline
                ]
            ),
            [c.stage for c in bench.pipeline],
            key="bench_pipeline",
            open_page=BOARD_PAGE,
            params_of=lambda stage: {"stage": stage, "owner": str(me.user_id)},
        )
        st.caption(t("Click a stage to open its opportunities on the board."))
        st.caption(
            t(
                "Amount: the order's amount, else the business line's reference price (the average list price of its active products). Weighted: the amount times the stage's chance of a win: {weights}.",
                weights=" · ".join(
                    f"{stage_text(stage)} {percent(float(weight))}"
                    for stage, weight in STAGE_WEIGHTS.items()
                    if stage in OPEN_STAGES
                ),
            )
        )
    else:
        st.caption(t("You hold no open opportunities."))
    if bench.today.by_channel:
        done = " · ".join(
            f"{t(label_of('follow_up.channel', c))} {number(n)}"
            for c, n in sorted(bench.today.by_channel.items())
        )
        st.caption(t("Done today: {done}", done=done))
    my_rank_line()
    my_targets_line()
with notices_col:
    live_notices()

if bench.team is not None:
    st.subheader(
        nt(
            "Your team's backlog ({count} rep)",
            "Your team's backlog ({count} reps)",
            len(bench.team),
            count=number(len(bench.team)),
        )
    )
    if transfers:
        st.page_link(
            "pages/circulation/desk.py",
            label=t(
                "{count} transfer requests wait for you on the manager desk",
                count=number(transfers),
            ),
            icon=":material/swap_horiz:",
        )
    if bench.team:
        open_table(
            pd.DataFrame(
                [
                    {
                        t(NC_("workbench.team", "Rep")): r.name,
                        t("Holding"): r.owned,
                        t(NC_("workbench.team", "Holding cap")): r.holding_cap,
                        t(NC_("workbench.team", "Overdue")): r.overdue,
                        t("Not contacted"): r.untouched,
                    }
                    for r in bench.team
                ]
            ),
            [r.user_id for r in bench.team],
            key="bench_team",
            open_page=BOARD_PAGE,
            params_of=lambda rep: {"owner": str(rep)},
        )
        st.caption(t("Click a rep to open the board on their opportunities."))
    else:
        st.caption(t("Nobody in your scope holds open opportunities."))
