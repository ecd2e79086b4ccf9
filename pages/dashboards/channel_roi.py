"""Channel ROI: leads, spend, cost per lead, won, revenue and ROI per channel and campaign;
holders of manage_marketing_spend enter each month's spend here."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from crm_core.analytics import channel_roi
from crm_core.analytics.marketing_spend import delete_spend, list_spend, set_spend
from crm_core.platform.errors import CrmError
from crm_core.platform.metadata import list_options, option_label
from crm_core.platform.permissions import Permission
from ui.context import actor
from ui.dashboards import bar_chart, downloads, filter_bar, money, percent, pick
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import language, show_error, t
from ui.inputs import text_input
from ui.text import md

me = actor()
st.title(t("nav.dash_roi"))
st.caption(t("dash.roi.intro"))
show_flash()
view = filter_bar("roi", split=False)
try:
    with session() as s:
        result = channel_roi(s, me, view)
        channels = {o.code: option_label(o, language()) for o in list_options(s, "channel")}
except CrmError as error:
    show_error(error)
    st.stop()
if not result.spend_shown:
    st.info(t("dash.roi.no_spend"))


def table(rows, with_campaign: bool) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("dash.col.channel"): channels.get(r.channel, r.channel),
                **(
                    {t("dash.col.campaign"): r.campaign or t("dash.roi.no_campaign")}
                    if with_campaign
                    else {}
                ),
                t("dash.col.leads"): r.leads,
                t("dash.col.spend"): money(r.spend),
                t("dash.col.cost_per_lead"): money(r.cost_per_lead),
                t("dash.col.won"): r.won,
                t("dash.col.revenue"): float(r.revenue),
                t("dash.col.roi"): percent(r.roi),
            }
            for r in rows
        ]
    )


by_channel = table(result.channels, False)
if not by_channel.empty:
    bar_chart(
        by_channel,
        t("dash.col.channel"),
        [t("dash.col.leads"), t("dash.col.won")],
        "roi_chart",
        barmode="group",
    )
    st.dataframe(by_channel, hide_index=True, width="stretch", key="roi_channels")
    downloads(by_channel, "roi-channels", "roi_channels")
    st.subheader(t("dash.roi.by_campaign"))
    by_campaign = table(result.campaigns, True)
    st.dataframe(by_campaign, hide_index=True, width="stretch", key="roi_campaigns")
    downloads(by_campaign, "roi-campaigns", "roi_campaigns")
else:
    st.caption(t("dash.no_data"))

if me.can(Permission.MANAGE_MARKETING_SPEND):
    st.subheader(t("dash.spend.title"))
    with st.form("spend_form", clear_on_submit=True):
        cols = st.columns([1.2, 1.2, 1.5, 1, 2])
        month = cols[0].date_input(
            t("dash.spend.month"), value=date.today().replace(day=1), key="spend_month"
        )
        channel = pick(cols[1], t("dash.col.channel"), channels, "spend_channel")
        campaign = text_input(
            t("dash.col.campaign"), help=t("dash.spend.campaign_help"), container=cols[2]
        )
        amount = text_input(t("dash.spend.amount"), key="spend_amount", container=cols[3])
        note = text_input(t("dash.spend.note"), container=cols[4])
        if st.form_submit_button(t("dash.spend.save"), type="primary"):
            try:
                with session() as s:
                    set_spend(s, me, month, channel, amount, campaign=campaign, note=note)
            except CrmError as error:
                show_error(error)
            else:
                flash("dash.spend.saved", channel=channels.get(channel, channel))
                st.rerun()
    with session() as s:
        entries = list_spend(s, me, view.start, view.end)
    if entries:
        for entry in entries:
            left, right = st.columns([6, 1])
            left.markdown(
                md(
                    f"{entry.month:%Y-%m} · {channels.get(entry.channel, entry.channel)} · "
                    f"{entry.campaign or t('dash.roi.no_campaign')} · {money(entry.amount)}"
                )
            )
            if right.button(t("dash.spend.delete"), key=f"spend_delete_{entry.id}"):
                with session() as s:
                    delete_spend(s, me, entry.id)
                flash("dash.spend.deleted")
                st.rerun()
    else:
        st.caption(t("dash.spend.none"))
