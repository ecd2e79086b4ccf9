"""Team performance: revenue by the attribution frozen at payment, per unit (drill down
the tree with the unit filter) and per rep; won, win rate, average order; refunds apart."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.analytics import performance
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, label_of
from crm_core.sales.target_attainment import performance_targets
from ui.context import actor
from ui.dashboards import FUNNEL_PAGE, bar_chart, drill_params, filter_bar, table
from ui.db import session
from ui.figures import metric
from ui.i18n import show_error, t
from ui.sales import BOARD_PAGE

me = actor()
st.title(t("Team performance"))
st.caption(
    t(
        'Revenue is credited to the rep and unit frozen on each order at payment, so later moves never shift it. Won in the period: opportunities with an order paid in the period, whenever they were created (the Funnel\'s "won in the period"); lost: closed as lost in the period; win rate = won / (won + lost). Refunds of the period are shown apart.'
    )
)
view = filter_bar("perf", split=False, credit=True)
try:
    with session() as s:
        result = performance(s, me, view)
        targets = performance_targets(s, me, view)
except CrmError as error:
    show_error(error)
    st.stop()

total = result.total
row = st.columns(6)
metric(row[0], t("Revenue"), total.revenue, "money")
metric(row[1], t("Refunds"), total.refunds, "money")
metric(row[2], t("Net"), total.net, "money")
metric(
    row[3],
    t("Won"),
    total.won,
    help=t(
        "Opportunities with an order paid in the period, whenever created: as on Team performance."
    ),
)
metric(row[4], t("Win rate"), total.win_rate, "share")
metric(row[5], t("Average order"), total.average_order, "money")

REVENUE_TARGET, REVENUE_SHARE = t("Revenue target"), t("Revenue attainment")
WON_TARGET, WON_SHARE = t("Won target"), t("Won attainment")
MONEY = (
    *(t(label_of("dash.col", c)) for c in ("revenue", "average_order", "refunds", "net")),
    REVENUE_TARGET,
)
COUNTS = tuple(t(label_of("dash.col", c)) for c in ("orders", "won", "lost"))
SHARES = (t(label_of("dash.col", "win_rate")), REVENUE_SHARE, WON_SHARE)


def with_targets(table: pd.DataFrame, rows, of: dict) -> pd.DataFrame:
    """The target and attainment columns of revenue and won (a month the period covers in
    part counts by its share of days; a won target may then be a fraction)."""
    revenue = [of.get(r.key, {}).get("revenue") for r in rows]
    won = [of.get(r.key, {}).get("won") for r in rows]
    table[REVENUE_TARGET] = [None if v is None else float(v) for v in revenue]
    table[REVENUE_SHARE] = [
        float(r.revenue / v) if v else None for r, v in zip(rows, revenue, strict=True)
    ]
    table[WON_TARGET] = [None if v is None else round(float(v), 1) for v in won]
    table[WON_SHARE] = [r.won / float(v) if v else None for r, v in zip(rows, won, strict=True)]
    return table


def frame(rows, first: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                first: r.label or t("(none)"),
                t("Revenue"): float(r.revenue),
                t("Paid orders"): r.orders,
                t("Won"): r.won,
                t(NC_("dash.col", "Lost")): r.lost,
                t("Win rate"): r.win_rate,
                t("Average order"): None if r.average_order is None else float(r.average_order),
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


if targets.prorated:
    st.caption(
        t(
            "Targets: a month the period covers only in part counts by its share of days. Set and split targets on the Sales targets page."
        )
    )
st.subheader(t("By org unit"))
units = with_targets(frame(result.units, t("Org unit")), result.units, targets.units)
if not units.empty:
    bar_chart(units, t("Org unit"), t("Revenue"), "perf_units_chart")
kinds = {"money_columns": MONEY, "share_columns": SHARES, "count_columns": COUNTS}
# A unit's row opens the funnel of the same period within that unit (its opportunities
# listed there); a rep's row opens the board on that rep's opportunities.
if table(
    units,
    "performance-units",
    "perf_units",
    **kinds,
    opens=[r.key for r in result.units],
    open_page=FUNNEL_PAGE,
    params_of=lambda unit: drill_params(view, unit="" if unit is None else str(unit)),
):
    st.caption(t("Click a unit to open the funnel of its opportunities for the same days."))

st.subheader(t("Leaderboard"))
person = t("Rep") if view.credit == "owner" else t("Who qualified")
board = frame(result.reps, person)
if view.credit == "owner":  # targets are the owners': no column for who qualified
    board = with_targets(board, result.reps, targets.people)
board.insert(0, "#", range(1, len(board.index) + 1))
if table(
    board,
    "leaderboard",
    "perf_reps",
    **kinds,
    opens=[r.key for r in result.reps],
    open_page=BOARD_PAGE,
    params_of=lambda rep: {"owner": str(rep)},
):
    st.caption(t("Click a person to open the board on their opportunities."))
