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
from ui.company_time import in_company_time
from ui.context import actor
from ui.dashboards import downloads, filter_bar, percent, pick
from ui.db import session
from ui.i18n import show_error, t
from ui.options import stage_text

me = actor()
st.title(t("Funnel"))
st.caption(
    t(
        "The cohort is the opportunities created in the period. An opportunity counts for every stage up to the furthest it ever reached (a skipped stage counts as passed, one that went back counts once); the lost count for what they reached and are shown beside."
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
cohort, won, lost, overall = st.columns(4)
cohort.metric(t("Cohort"), f"{result.total:,}")
won.metric(t(NC_("stage", "Won")), f"{result.won:,}")
lost.metric(t("Lost"), f"{result.lost:,}")
overall.metric(t("Overall conversion"), percent(result.overall))

if result.total:
    chart = go.Figure(
        go.Funnel(
            y=stage_names,
            x=[step.reached for step in result.steps],
            textinfo="value+percent initial",
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
        t("From the stage before"): [percent(step.from_previous) for step in result.steps],
        t("Of the cohort"): [percent(step.from_first) for step in result.steps],
    }
)
st.dataframe(steps, hide_index=True, width="stretch", key="funnel_steps")
downloads(steps, "funnel", "funnel_steps")

if result.rows:
    st.subheader(t("By {split}", split=t(label_of("dash.split", view.split))))
    blank = t("(none)")
    split = pd.DataFrame(
        [
            {
                t(label_of("dash.split", view.split)): row.label
                or (blank if row.key is None else row.key),
                **dict(zip(stage_names, row.reached, strict=True)),
                t("Lost"): row.lost,
                t("Overall conversion"): percent(row.overall),
            }
            for row in result.rows
        ]
    )
    st.dataframe(split, hide_index=True, width="stretch", key="funnel_split")
    downloads(split, f"funnel-{view.split}", "funnel_split")

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
    table = pd.DataFrame(
        [
            {
                "#": o.id,
                t("Lead"): o.lead_name,
                t("Business line"): o.business_line,
                t("Rep"): o.owner or "",
                t("Org unit"): o.unit or "",
                t("Stage now"): stage_text(o.stage),
                t(NC_("dash.col", "Created")): in_company_time(o.created_at),
            }
            for o in listed
        ]
    )
    st.caption(t("The newest {count} of the cohort (at most 200).", count=len(listed)))
    st.dataframe(table, hide_index=True, width="stretch", key="funnel_list")
    downloads(table, f"funnel-{chosen}", "funnel_list")
else:
    st.caption(t("Nothing in this view."))
