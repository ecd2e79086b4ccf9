"""Team performance: revenue by the attribution frozen at payment, per unit (drill down
the tree with the unit filter) and per rep; won, win rate, average order; refunds apart."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.analytics import performance
from crm_core.platform.errors import CrmError
from ui.context import actor
from ui.dashboards import bar_chart, downloads, filter_bar, money, percent
from ui.db import session
from ui.i18n import show_error, t

me = actor()
st.title(t("nav.dash_performance"))
st.caption(t("dash.perf.intro"))
view = filter_bar("perf", split=False)
try:
    with session() as s:
        result = performance(s, me, view)
except CrmError as error:
    show_error(error)
    st.stop()

total = result.total
row = st.columns(6)
row[0].metric(t("dash.col.revenue"), money(total.revenue))
row[1].metric(t("dash.col.refunds"), money(total.refunds))
row[2].metric(t("dash.col.net"), money(total.net))
row[3].metric(t("dash.col.won"), f"{total.won:,}")
row[4].metric(t("dash.col.win_rate"), percent(total.win_rate))
row[5].metric(t("dash.col.average_order"), money(total.average_order))


def table(rows, first: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                first: r.label or t("dash.none"),
                t("dash.col.revenue"): float(r.revenue),
                t("dash.col.orders"): r.orders,
                t("dash.col.won"): r.won,
                t("dash.col.lost"): r.lost,
                t("dash.col.win_rate"): percent(r.win_rate),
                t("dash.col.average_order"): money(r.average_order),
                t("dash.col.refunds"): float(r.refunds),
                t("dash.col.net"): float(r.net),
            }
            for r in rows
        ],
        columns=[
            first,
            *(
                t(f"dash.col.{c}")
                for c in (
                    "revenue",
                    "orders",
                    "won",
                    "lost",
                    "win_rate",
                    "average_order",
                    "refunds",
                    "net",
                )
            ),
        ],
    )


st.subheader(t("dash.perf.by_unit"))
units = table(result.units, t("dash.col.unit"))
if not units.empty:
    bar_chart(units, t("dash.col.unit"), t("dash.col.revenue"), "perf_units_chart")
st.dataframe(units, hide_index=True, width="stretch", key="perf_units")
downloads(units, "performance-units", "perf_units")

st.subheader(t("dash.perf.leaderboard"))
board = table(result.reps, t("dash.col.owner"))
board.insert(0, "#", range(1, len(board.index) + 1))
st.dataframe(board, hide_index=True, width="stretch", key="perf_reps")
downloads(board, "leaderboard", "perf_reps")
