"""Home: who you are, your unit, what your data scope holds, your unread notices and the
opportunities a recycle rule will soon take back from you."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.circulation.recycle import recycle_due
from crm_core.models import DEFAULT_STAGES, POOL_STATES
from crm_core.platform import clock
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.notices import list_notices, mark_read, unread_count
from crm_core.platform.permissions import Permission
from crm_core.sales.home import home_summary
from ui.circulation import label, number, when
from ui.context import actor
from ui.db import session
from ui.i18n import nt, t, tmd
from ui.notices import notice_text
from ui.options import stage_text
from ui.sales import BOARD_PAGE, DETAIL_PAGE
from ui.tables import open_table
from ui.text import md

me = actor()
with session() as s:
    summary = home_summary(s, me)
    unread = unread_count(s, me)
    notices = list_notices(s, me, unread_only=True)
    due = recycle_due(s, me) if me.can(Permission.VIEW_OPPORTUNITIES) else None

st.title(tmd("Welcome, {name}", name=summary.full_name))
left, middle, right = st.columns(3)
left.markdown(f"**{t('Your unit')}**  \n" + (md(" / ".join(summary.unit_path)) or t("No unit")))
middle.markdown(
    f"**{t('Roles')}**  \n"
    + ", ".join(md(t(label_of("role", code))) for code in summary.role_codes)
)
right.markdown(f"**{t('Data scope')}**  \n" + t(label_of("scope", summary.scope)))

metrics = [
    (N_("Leads in your scope"), summary.lead_count),
    (N_("Opportunities in your scope"), summary.opportunity_count),
    (N_("Open opportunities"), summary.open_count),
    (N_("Owned by you"), summary.owned_by_me),
]
shown = [(key, value) for key, value in metrics if value is not None]
for column, (key, value) in zip(st.columns(max(len(shown), 1)), shown, strict=False):
    column.metric(t(key), f"{value:,}")


def counts_table(
    title: str, counts: dict[str, int], order, prefix: str, column: str, opens: bool = False
) -> None:
    """A subheading and a two-column table of counts in the domain's order; with `opens`,
    a click on a row opens the board on that stage."""
    st.subheader(t(title))
    codes = [key for key in order if key in counts]
    frame = pd.DataFrame(
        [(label(prefix, key), counts[key]) for key in codes], columns=[t(column), t("Count")]
    )
    if not opens:
        st.dataframe(frame, hide_index=True, width="stretch")
    elif open_table(
        frame,
        codes,
        key=f"home_{prefix}",
        open_page=BOARD_PAGE,
        params_of=lambda stage: {"stage": stage},
    ):
        st.caption(t("Click a stage to open its opportunities on the board."))


if summary.by_stage:
    stage_col, pool_col = st.columns(2)
    with stage_col:
        counts_table(
            N_("Opportunities in your scope by stage"),
            summary.by_stage,
            DEFAULT_STAGES,
            "stage",
            N_("Stage"),
            opens=True,
        )
    with pool_col:
        counts_table(
            N_("By pool state"), summary.by_pool_state, POOL_STATES, "pool", N_("Pool state")
        )


st.subheader(t("Notices ({count} unread)", count=number(unread)))
if notices:
    for notice in notices:
        st.info(f"{when(notice.created_at)} · {notice_text(notice)}")
    if unread > len(notices):
        st.caption(t("{count} more unread.", count=number(unread - len(notices))))
    if st.button(t("Mark all read"), key="home_mark_read"):
        with session() as s:
            mark_read(s, me)
        st.rerun()
else:
    st.caption(t("No new notices."))

if due is not None:
    st.subheader(t("Due for recycling"))
    if due:
        now = clock.now()

        def in_days(days: int) -> str:
            if days == 0:
                return t("Within a day")
            return nt("Recycled in {n} day", "Recycled in {n} days", days)

        frame = pd.DataFrame(
            [
                {
                    "#": d.opportunity_id,
                    t("Lead"): d.lead_name,
                    t("Business line"): d.business_line,
                    t("Stage"): stage_text(d.stage),
                    t("Rule"): d.rule_name,
                    t("Recycled at"): when(d.due_at),
                    t(NC_("home.due", "When")): in_days(d.days_left(now)),
                }
                for d in due
            ]
        )
        if open_table(
            frame, [d.opportunity_id for d in due], key="home_due", open_page=DETAIL_PAGE
        ):
            st.caption(t("Click a row to open the opportunity."))
    else:
        st.caption(t("None of your opportunities is about to be recycled."))
