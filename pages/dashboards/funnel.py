"""Funnel (acquire -> retain -> convert): the cohort of opportunities created in the period,
how many ever reached each stage, conversion between stages and overall, lost beside it;
the table by the chosen split; a stage's opportunities."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_core.analytics import FUNNEL_STAGES, funnel, funnel_opportunities
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, label_of
from ui.company_time import show_time
from ui.context import actor
from ui.dashboards import filter_bar, pick, table
from ui.db import session
from ui.figures import count, metric
from ui.i18n import show_error, t
from ui.options import labels, stage_text

me = actor()
st.title(t("Funnel"))
st.caption(
    t(
        "The cohort is the opportunities created in the period. An opportunity counts for every stage up to the furthest it ever reached (a skipped stage counts as passed, one that went back counts once); the lost count for what they reached and are shown beside. Won in the period, as on Team performance: opportunities with an order paid in the period, whenever they were created; lost in the period: closed as lost in the period."
    )
)
view = filter_bar("funnel")
try:
    with session() as s:
        result = funnel(s, me, view)
except CrmError as error:
    show_error(error)
    st.stop()

stage_names = [stage_text(stage) for stage in FUNNEL_STAGES]
row = st.columns(4)
metric(row[0], t("Cohort"), result.total, help=t("Opportunities created in the period."))
metric(row[1], t("Cohort won"), result.won, help=t("Of the cohort, won by now."))
metric(row[2], t("Cohort lost"), result.lost, help=t("Of the cohort, lost by now."))
metric(row[3], t("Overall conversion"), result.overall, "share", help=t("Cohort won / cohort."))
row = st.columns(4)
metric(
    row[0],
    t("Won in the period"),
    result.won_in_period,
    help=t(
        "Opportunities with an order paid in the period, whenever created: as on Team performance."
    ),
)
metric(
    row[1],
    t("Lost in the period"),
    result.lost_in_period,
    help=t("Opportunities closed as lost in the period, whenever created: as on Team performance."),
)

if result.total:
    chart = go.Figure(
        go.Funnel(
            y=stage_names,
            x=[step.reached for step in result.steps],
            # The counts written by the reader's language (Plotly's own would say "11.996k").
            text=[count(step.reached) for step in result.steps],
            textinfo="text+percent initial",
            hoverinfo="y+text+percent initial",
        )
    )
    chart.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=320)
    st.plotly_chart(chart, key="funnel_chart")
else:
    st.info(t("Nothing in this view."))

steps = pd.DataFrame(
    {
        t("Stage"): stage_names,
        t("Reached"): [step.reached for step in result.steps],
        t("From the stage before"): [step.from_previous for step in result.steps],
        t("Of the cohort"): [step.from_first for step in result.steps],
    }
)
table(
    steps,
    "funnel",
    "funnel_steps",
    count_columns=(t("Reached"),),
    share_columns=(t("From the stage before"), t("Of the cohort")),
)

if result.rows:
    st.subheader(t("By {split}", split=t(label_of("dash.split", view.split))))
    blank = t("(none)")
    # Channels and campaigns are stored codes: shown by their option's label.
    coded = labels(view.split) if view.split in ("channel", "campaign") else {}

    def group_name(row) -> str:
        if row.key is None:
            return blank
        return coded.get(row.key) or row.label or str(row.key)

    split = pd.DataFrame(
        [
            {
                t(label_of("dash.split", view.split)): group_name(row),
                **dict(zip(stage_names, row.reached, strict=True)),
                t("Lost"): row.lost,
                t("Overall conversion"): row.overall,
            }
            for row in result.rows
        ]
    )
    table(
        split,
        f"funnel-{view.split}",
        "funnel_split",
        count_columns=(*stage_names, t("Lost")),
        share_columns=(t("Overall conversion"),),
    )

st.subheader(t("Opportunities of a stage"))
chosen = pick(
    st,
    t("Stage reached"),
    {stage: stage_text(stage) for stage in (*FUNNEL_STAGES, "lost")},
    "funnel_stage",
)
with session() as s:
    listed = funnel_opportunities(s, me, view, chosen)
if listed:
    listed_table = pd.DataFrame(
        [
            {
                "#": o.id,
                t("Lead"): o.lead_name,
                t("Business line"): o.business_line,
                t("Rep"): o.owner or "",
                t("Org unit"): o.unit or "",
                t("Stage now"): stage_text(o.stage),
                t(NC_("dash.col", "Created")): show_time(o.created_at),
            }
            for o in listed
        ]
    )
    st.caption(t("The newest {count} of the cohort (at most 200).", count=len(listed)))
    if table(listed_table, f"funnel-{chosen}", "funnel_list", opens=[o.id for o in listed]):
        st.caption(t("Click a row to open the opportunity."))
else:
    st.caption(t("Nothing in this view."))
