"""Channel ROI: leads, spend, cost per lead, won, revenue and ROI per channel and campaign;
holders of manage_marketing_spend enter each month's spend here."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from crm_core.analytics import channel_roi
from crm_core.analytics.marketing_spend import delete_spend, list_spend, set_spend
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.permissions import Permission
from ui.context import actor
from ui.dashboards import FUNNEL_PAGE, bar_chart, drill_params, filter_bar, pick, table
from ui.db import session
from ui.feedback import flash, show_flash
from ui.figures import metric, money
from ui.i18n import show_error, t
from ui.inputs import text_input
from ui.options import every, labels

me = actor()
st.title(t("Channel ROI"))
st.caption(
    t(
        "Leads created in the period by channel and campaign; won and revenue are what those leads brought (paid, not refunded); spend is that of the months the period touches. ROI = (revenue - spend) / spend."
    )
)
show_flash()
view = filter_bar("roi", split=False)
try:
    with session() as s:
        result = channel_roi(s, me, view)
        channels = labels("channel")
except CrmError as error:
    show_error(error)
    st.stop()
if not result.spend_shown:
    st.info(t("Spend is company-wide: cost per lead and ROI show only for the whole company."))


def frame(rows, with_campaign: bool) -> pd.DataFrame:
    campaigns = labels("campaign")
    return pd.DataFrame(
        [
            {
                t("Channel"): channels.get(r.channel, r.channel),
                **(
                    {t("Campaign"): campaigns.get(r.campaign, r.campaign) or t("(no campaign)")}
                    if with_campaign
                    else {}
                ),
                t(NC_("dash.col", "Leads")): r.leads,
                t("Spend"): None if r.spend is None else float(r.spend),
                t("Cost per lead"): None if r.cost_per_lead is None else float(r.cost_per_lead),
                t("Won"): r.won,
                t("Revenue"): float(r.revenue),
                t("ROI"): r.roi,
            }
            for r in rows
        ]
    )


kinds = {
    "money_columns": (t("Spend"), t("Cost per lead"), t("Revenue")),
    "share_columns": (t("ROI"),),
    "count_columns": (t(NC_("dash.col", "Leads")), t("Won")),
}
total = result.total
row = st.columns(5)
metric(row[0], t(NC_("dash.col", "Leads")), total.leads)
metric(row[1], t("Spend"), total.spend, "money")
metric(row[2], t("Won"), total.won)
metric(row[3], t("Revenue"), total.revenue, "money")
metric(row[4], t("ROI"), total.roi, "share")
by_channel = frame(result.channels, False)
if not by_channel.empty:
    bar_chart(
        by_channel,
        t("Channel"),
        [t(NC_("dash.col", "Leads")), t("Won")],
        "roi_chart",
        barmode="group",
    )
    # A channel's or a campaign's row opens the funnel of the same days on its leads'
    # opportunities.
    if table(
        by_channel,
        "roi-channels",
        "roi_channels",
        **kinds,
        opens=[r.channel for r in result.channels],
        open_page=FUNNEL_PAGE,
        params_of=lambda channel: drill_params(view, channel=channel),
    ):
        st.caption(t("Click a row to open the funnel of its opportunities for the same days."))
    st.subheader(t("By campaign"))
    table(
        frame(result.campaigns, True),
        "roi-campaigns",
        "roi_campaigns",
        **kinds,
        opens=[(r.channel, r.campaign or "") for r in result.campaigns],
        open_page=FUNNEL_PAGE,
        params_of=lambda row: drill_params(view, channel=row[0], campaign=row[1]),
    )
else:
    st.caption(t("Nothing in this view."))

if me.can(Permission.MANAGE_MARKETING_SPEND):
    st.subheader(t("Marketing spend"))
    with st.form("spend_form", clear_on_submit=True):
        cols = st.columns([1.2, 1.2, 1.5, 1, 2])
        month = cols[0].date_input(t("Month"), value=date.today().replace(day=1), key="spend_month")
        channel = pick(cols[1], t("Channel"), channels, "spend_channel")
        campaign_words = labels("campaign")
        campaign = cols[2].selectbox(
            t("Campaign"),
            ["", *every("campaign")],
            format_func=lambda c: campaign_words.get(c, c) if c else t("(no campaign)"),
            help=t("Leave empty for spend on the channel as a whole."),
            key="spend_campaign",
        )
        amount = text_input(t("Amount"), key="spend_amount", container=cols[3])
        note = text_input(t("Note"), container=cols[4])
        if st.form_submit_button(t("Save spend"), type="primary"):
            try:
                with session() as s:
                    set_spend(s, me, month, channel, amount, campaign=campaign, note=note)
            except CrmError as error:
                show_error(error)
            else:
                flash(N_("Spend on {channel} saved."), channel=channels.get(channel, channel))
                st.rerun()
    with session() as s:
        entries = list_spend(s, me, view.start, view.end)
    if entries:
        campaign_words = labels("campaign")
        # One table and one delete (a button per entry made a page of a hundred rows).
        entry_labels = {
            entry.id: f"{entry.month:%Y-%m} · {channels.get(entry.channel, entry.channel)} · "
            f"{campaign_words.get(entry.campaign, entry.campaign) or t('(no campaign)')}"
            f" · {money(entry.amount)}"
            for entry in entries
        }
        entries_frame = pd.DataFrame(
            [
                {
                    t("Month"): f"{entry.month:%Y-%m}",
                    t("Channel"): channels.get(entry.channel, entry.channel),
                    t("Campaign"): campaign_words.get(entry.campaign, entry.campaign)
                    or t("(no campaign)"),
                    t("Amount"): float(entry.amount),
                    t("Note"): entry.note or "",
                }
                for entry in entries
            ]
        )
        table(entries_frame, "marketing-spend", "roi_spend", money_columns=(t("Amount"),))
        left, right = st.columns([6, 1], vertical_alignment="bottom")
        doomed = pick(left, t("Entry to delete"), entry_labels, "spend_doomed")
        if right.button(t("Delete"), key="spend_delete") and doomed is not None:
            with session() as s:
                delete_spend(s, me, doomed)
            flash(N_("Spend deleted."))
            st.rerun()
    else:
        st.caption(t("No spend entered for this period."))
