"""The activity rankings as a table and as the workbench's "your rank" line."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, label_of
from crm_core.sales.rankings import METRICS, Rankings, rankings
from ui.context import actor
from ui.db import session
from ui.figures import count, money
from ui.i18n import nt, show_error, t


def metric_label(metric: str) -> str:
    return t(label_of("ranking.metric", metric))


def figure(metric: str, value) -> str:
    return money(value) if metric == "revenue" else count(value)


def ranking_table(rows, metric: str, name_title: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t(NC_("ranking", "Rank")): row.rank,
                name_title: row.name,
                **{
                    metric_label(m): figure(m, row.values[m])
                    for m in (metric, *[x for x in METRICS if x != metric])
                },
            }
            for row in rows
        ]
    )


def read_rankings(period: str, metric: str) -> Rankings | None:
    try:
        with session() as s:
            return rankings(s, actor(), period=period, metric=metric)
    except CrmError as error:
        show_error(error)
        return None


def my_rank_line() -> None:
    """The workbench's line: this week's rank by revenue and by calls among the team."""
    week = read_rankings("week", "revenue")
    calls = read_rankings("week", "calls")
    if week is None or calls is None or week.me is None or calls.me is None:
        return
    st.caption(
        nt(
            "This week you rank {revenue_rank} by revenue ({revenue}) and {calls_rank} by calls ({calls}) of {n} rep.",
            "This week you rank {revenue_rank} by revenue ({revenue}) and {calls_rank} by calls ({calls}) of {n} reps.",
            week.among,
            revenue_rank=week.me.rank,
            revenue=money(week.me.values["revenue"]),
            calls_rank=calls.me.rank,
            calls=count(calls.me.values["calls"]),
        )
    )
