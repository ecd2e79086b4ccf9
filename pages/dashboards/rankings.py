"""Activity rankings (龙虎榜): reps and teams by calls, call minutes, follow-ups, fast first
contacts, trials, wins and revenue, for today, this week or this month (company time). A
rep sees their own figures and rank among their team; a manager sees the reps and teams in
reach."""

from __future__ import annotations

import streamlit as st

from crm_core.platform.i18n import NC_, label_of
from crm_core.sales.rankings import METRICS, PERIODS
from ui.context import actor
from ui.i18n import nt, t
from ui.rankings import figure, metric_label, ranking_table, read_rankings

me = actor()
st.title(t("Activity rankings"))
left, right = st.columns(2)
period = (
    left.segmented_control(
        t("Period"),
        PERIODS,
        default="week",
        format_func=lambda p: t(label_of("ranking.period", p)),
        key="rank_period",
    )
    or "week"
)
metric = right.selectbox(t("Ranked by"), METRICS, format_func=metric_label, key="rank_metric")
found = read_rankings(period, metric)
if found is None:
    st.stop()
st.caption(
    t(
        "Wins: orders first paid in the period. Revenue: payments in the period, deposits and instalments as they arrive. Both credited to the owner at payment, as on team performance."
    )
)
if found.me is not None:
    st.metric(
        nt("Your rank of {n} rep", "Your rank of {n} reps", found.among),
        found.me.rank,
        help=figure(metric, found.me.values[metric]),
    )
if found.teams:
    st.subheader(t("Teams"))
    st.dataframe(ranking_table(found.teams, metric, t("Team")), hide_index=True, width="stretch")
if found.reps:
    st.subheader(t(NC_("ranking", "Reps")))
    st.dataframe(
        ranking_table(found.reps, metric, t(NC_("ranking", "Rep"))),
        hide_index=True,
        width="stretch",
    )
else:
    st.info(t("No rep in your reach."))
