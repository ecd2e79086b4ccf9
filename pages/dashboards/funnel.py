"""Funnel (acquire -> retain -> convert): the cohort of opportunities created in the period,
how many ever reached each stage, conversion between stages and overall, lost beside it;
the table by the chosen split; a stage's opportunities."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_core.analytics import FUNNEL_STAGES, funnel, funnel_opportunities
from crm_core.platform.errors import CrmError
from ui.company_time import in_company_time
from ui.context import actor
from ui.dashboards import downloads, filter_bar, percent, pick
from ui.db import session
from ui.i18n import show_error, t

me = actor()
st.title(t("nav.dash_funnel"))
st.caption(t("dash.funnel.intro"))
view = filter_bar("funnel")
try:
    with session() as s:
        result = funnel(s, me, view)
except CrmError as error:
    show_error(error)
    st.stop()

stage_names = [t(f"stage.{stage}") for stage in FUNNEL_STAGES]
cohort, won, lost, overall = st.columns(4)
cohort.metric(t("dash.funnel.cohort"), f"{result.total:,}")
won.metric(t("stage.won"), f"{result.won:,}")
lost.metric(t("stage.lost"), f"{result.lost:,}")
overall.metric(t("dash.funnel.overall"), percent(result.overall))

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
    st.info(t("dash.no_data"))

steps = pd.DataFrame(
    {
        t("dash.col.stage"): stage_names,
        t("dash.col.reached"): [step.reached for step in result.steps],
        t("dash.col.from_previous"): [percent(step.from_previous) for step in result.steps],
        t("dash.col.from_first"): [percent(step.from_first) for step in result.steps],
    }
)
st.dataframe(steps, hide_index=True, width="stretch", key="funnel_steps")
downloads(steps, "funnel", "funnel_steps")

if result.rows:
    st.subheader(t("dash.funnel.by", split=t(f"dash.split.{view.split}")))
    blank = t("dash.none")
    split = pd.DataFrame(
        [
            {
                t(f"dash.split.{view.split}"): row.label or (blank if row.key is None else row.key),
                **dict(zip(stage_names, row.reached, strict=True)),
                t("stage.lost"): row.lost,
                t("dash.funnel.overall"): percent(row.overall),
            }
            for row in result.rows
        ]
    )
    st.dataframe(split, hide_index=True, width="stretch", key="funnel_split")
    downloads(split, f"funnel-{view.split}", "funnel_split")

st.subheader(t("dash.funnel.list"))
chosen = pick(
    st,
    t("dash.funnel.pick_stage"),
    {stage: t(f"stage.{stage}") for stage in (*FUNNEL_STAGES, "lost")},
    "funnel_stage",
)
with session() as s:
    listed = funnel_opportunities(s, me, view, chosen)
if listed:
    table = pd.DataFrame(
        [
            {
                "#": o.id,
                t("dash.col.lead"): o.lead_name,
                t("dash.col.business_line"): o.business_line,
                t("dash.col.owner"): o.owner or "",
                t("dash.col.unit"): o.unit or "",
                t("dash.col.current_stage"): t(f"stage.{o.stage}"),
                t("dash.col.created"): in_company_time(o.created_at),
            }
            for o in listed
        ]
    )
    st.caption(t("dash.funnel.list_help", count=len(listed)))
    st.dataframe(table, hide_index=True, width="stretch", key="funnel_list")
    downloads(table, f"funnel-{chosen}", "funnel_list")
else:
    st.caption(t("dash.no_data"))
