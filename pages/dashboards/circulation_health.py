"""Circulation health (use every lead): idle rate, holdings against caps and the top
hoarders, recycles per rule per day, time from assignment to first contact, claims per
day, the dormant, and the share of new opportunities contacted within 24 hours."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.analytics import FIRST_CONTACT_BUCKETS, NOT_YET, circulation_health
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from ui.context import actor
from ui.dashboards import bar_chart, downloads, filter_bar, table
from ui.db import session
from ui.figures import metric
from ui.i18n import show_error, t
from ui.sales import BOARD_PAGE

me = actor()
st.title(t("Circulation health"))
st.caption(
    t(
        "Idle, holdings and dormant are as of now; recycles and claims are those of the period, first contact the assignments of the period, the 24-hour share the opportunities created in it."
    )
)
view = filter_bar("health", split=False)
idle_days = st.number_input(
    t("Idle after (days without a follow-up)"),
    min_value=1,
    max_value=365,
    value=7,
    key="health_idle_days",
)
try:
    with session() as s:
        health = circulation_health(s, me, view, idle_days=int(idle_days))
except CrmError as error:
    show_error(error)
    st.stop()

row = st.columns(5)
metric(row[0], t("Idle rate ({days} days)", days=health.idle_days), health.idle_rate, "share")
metric(row[1], t("Owned now"), health.owned)
metric(row[2], t("Dormant"), health.dormant)
metric(row[3], t("Reps over their cap"), health.over_cap)
metric(row[4], t("Contacted within 24 h"), health.contacted_24h_share, "share")
st.caption(
    t(
        "{contacted} of {created} new opportunities of the period were followed up within 24 hours.",
        created=health.created,
        contacted=health.contacted_24h,
    )
)


st.subheader(t("Top hoarders: holdings against the cap"))
holdings = pd.DataFrame(
    [
        {
            t("Rep"): h.name,
            t("Org unit"): h.unit or "",
            t("Held"): h.held,
            t("Holding cap"): h.cap,
            t("Of the cap"): h.share_of_cap,
        }
        for h in health.top_hoarders
    ],
    columns=[
        t(c)
        for c in (
            N_("Rep"),
            N_("Org unit"),
            N_("Held"),
            N_("Holding cap"),
            N_("Of the cap"),
        )
    ],
)
bar_chart(holdings, t("Rep"), t("Held"), "health_holdings_chart")
if table(
    holdings,
    "top-hoarders",
    "health_holdings",
    count_columns=(t("Held"), t("Holding cap")),
    share_columns=(t("Of the cap"),),
    opens=[h.user_id for h in health.top_hoarders],
    open_page=BOARD_PAGE,
    params_of=lambda rep: {"owner": str(rep)},
):
    st.caption(t("Click a person to open the board on their opportunities."))

left, right = st.columns(2)
with left:
    st.subheader(t("Recycles per rule per day"))
    recycles = pd.DataFrame(
        [
            {
                t("Day"): day,
                t("Rule"): name or t("(none)"),
                t("Count"): n,
            }
            for day, _, name, n in health.recycles
        ],
        columns=[t("Day"), t("Rule"), t("Count")],
    )
    bar_chart(
        recycles,
        t("Day"),
        t("Count"),
        "health_recycles_chart",
        color=t("Rule"),
    )
    downloads(recycles, "recycles", "health_recycles")
with right:
    st.subheader(t("Claims per day"))
    claims = pd.DataFrame(
        [{t("Day"): day, t("Count"): n} for day, n in health.claims],
        columns=[t("Day"), t("Count")],
    )
    bar_chart(claims, t("Day"), t("Count"), "health_claims_chart")
    downloads(claims, "claims", "health_claims")

st.subheader(t("Time from assignment to first contact"))
codes = [code for code, _ in FIRST_CONTACT_BUCKETS] + [NOT_YET]
first = pd.DataFrame(
    {
        t("Assignment to first contact"): [t(label_of("dash.bucket", code)) for code in codes],
        t("Count"): [health.first_contact[code] for code in codes],
    }
)
bar_chart(first, t("Assignment to first contact"), t("Count"), "health_first_chart")
downloads(first, "first-contact", "health_first")
