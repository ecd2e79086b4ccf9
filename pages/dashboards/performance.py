"""Team performance: revenue by the attribution frozen at payment, per unit (drill down
the tree with the unit filter) and per rep; won, win rate, average order; refunds apart."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.analytics import performance
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, label_of
from ui.context import actor
from ui.dashboards import bar_chart, downloads, filter_bar, money, percent
from ui.db import session
from ui.i18n import show_error, t

me = actor()
st.title(t("Team performance"))
st.caption(
    t(
        "Revenue is credited to the rep and unit frozen on each order at payment, so later moves never shift it. Won: paid in the period; lost: lost in the period; win rate = won / (won + lost). Refunds of the period are shown apart."
    )
)
view = filter_bar("perf", split=False, credit=True)
try:
    with session() as s:
        result = performance(s, me, view)
except CrmError as error:
    show_error(error)
    st.stop()

total = result.total
row = st.columns(6)
row[0].metric(t("Revenue"), money(total.revenue))
row[1].metric(t("Refunds"), money(total.refunds))
row[2].metric(t("Net"), money(total.net))
row[3].metric(t("Won"), f"{total.won:,}")
row[4].metric(t("Win rate"), percent(total.win_rate))
row[5].metric(t("Average order"), money(total.average_order))


def table(rows, first: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                first: r.label or t("(none)"),
                t("Revenue"): float(r.revenue),
                t("Paid orders"): r.orders,
                t("Won"): r.won,
                t(NC_("dash.col", "Lost")): r.lost,
                t("Win rate"): percent(r.win_rate),
                t("Average order"): money(r.average_order),
                t("Refunds"): float(r.refunds),
                t("Net"): float(r.net),
            }
            for r in rows
        ],
        columns=[
            first,
            *(
                t(label_of("dash.col", c))
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


st.subheader(t("By org unit"))
units = table(result.units, t("Org unit"))
if not units.empty:
    bar_chart(units, t("Org unit"), t("Revenue"), "perf_units_chart")
st.dataframe(units, hide_index=True, width="stretch", key="perf_units")
downloads(units, "performance-units", "perf_units")

st.subheader(t("Leaderboard"))
person = t("Rep") if view.credit == "owner" else t("Who qualified")
board = table(result.reps, person)
board.insert(0, "#", range(1, len(board.index) + 1))
st.dataframe(board, hide_index=True, width="stretch", key="perf_reps")
downloads(board, "leaderboard", "perf_reps")
