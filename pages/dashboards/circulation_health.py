"""Circulation health (use every lead): idle rate, holdings against caps and the top
hoarders, recycles per rule per day, time from assignment to first contact, claims per
day, the dormant, and the share of new opportunities contacted within 24 hours."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.analytics import FIRST_CONTACT_BUCKETS, NOT_YET, circulation_health
from crm_core.platform.errors import CrmError
from ui.context import actor
from ui.dashboards import bar_chart, downloads, filter_bar, percent
from ui.db import session
from ui.i18n import show_error, t

me = actor()
st.title(t("nav.dash_circulation"))
st.caption(t("dash.health.intro"))
view = filter_bar("health", split=False)
idle_days = st.number_input(
    t("dash.health.idle_days"), min_value=1, max_value=365, value=7, key="health_idle_days"
)
try:
    with session() as s:
        health = circulation_health(s, me, view, idle_days=int(idle_days))
except CrmError as error:
    show_error(error)
    st.stop()

row = st.columns(5)
row[0].metric(t("dash.health.idle_rate", days=health.idle_days), percent(health.idle_rate))
row[1].metric(t("dash.health.owned"), f"{health.owned:,}")
row[2].metric(t("dash.health.dormant"), f"{health.dormant:,}")
row[3].metric(t("dash.health.over_cap"), f"{health.over_cap:,}")
row[4].metric(t("dash.health.contacted_24h"), percent(health.contacted_24h_share))
st.caption(t("dash.health.contacted_help", created=health.created, contacted=health.contacted_24h))


st.subheader(t("dash.health.holdings"))
holdings = pd.DataFrame(
    [
        {
            t("dash.col.owner"): h.name,
            t("dash.col.unit"): h.unit or "",
            t("dash.col.held"): h.held,
            t("dash.col.cap"): h.cap,
            t("dash.col.share_of_cap"): percent(h.share_of_cap),
        }
        for h in health.top_hoarders
    ],
    columns=[
        t(c)
        for c in (
            "dash.col.owner",
            "dash.col.unit",
            "dash.col.held",
            "dash.col.cap",
            "dash.col.share_of_cap",
        )
    ],
)
bar_chart(holdings, t("dash.col.owner"), t("dash.col.held"), "health_holdings_chart")
st.dataframe(holdings, hide_index=True, width="stretch", key="health_holdings")
downloads(holdings, "top-hoarders", "health_holdings")

left, right = st.columns(2)
with left:
    st.subheader(t("dash.health.recycles"))
    recycles = pd.DataFrame(
        [
            {
                t("dash.col.day"): day,
                t("dash.col.rule"): name or t("dash.none"),
                t("dash.col.count"): n,
            }
            for day, _, name, n in health.recycles
        ],
        columns=[t("dash.col.day"), t("dash.col.rule"), t("dash.col.count")],
    )
    bar_chart(
        recycles,
        t("dash.col.day"),
        t("dash.col.count"),
        "health_recycles_chart",
        color=t("dash.col.rule"),
    )
    downloads(recycles, "recycles", "health_recycles")
with right:
    st.subheader(t("dash.health.claims"))
    claims = pd.DataFrame(
        [{t("dash.col.day"): day, t("dash.col.count"): n} for day, n in health.claims],
        columns=[t("dash.col.day"), t("dash.col.count")],
    )
    bar_chart(claims, t("dash.col.day"), t("dash.col.count"), "health_claims_chart")
    downloads(claims, "claims", "health_claims")

st.subheader(t("dash.health.first_contact"))
codes = [code for code, _ in FIRST_CONTACT_BUCKETS] + [NOT_YET]
first = pd.DataFrame(
    {
        t("dash.col.waited"): [t(f"dash.bucket.{code}") for code in codes],
        t("dash.col.count"): [health.first_contact[code] for code in codes],
    }
)
bar_chart(first, t("dash.col.waited"), t("dash.col.count"), "health_first_chart")
downloads(first, "first-contact", "health_first")
