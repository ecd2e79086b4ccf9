"""The lead library (名片库): search, page through, open a lead's card; enter a lead by
hand, export or tag the search. Everything is filtered, sorted and paged in the database:
the page holds one page of leads, never the table."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.leads.search import SORTS, LeadFilter, LeadPage, owner_choices, search_leads
from crm_core.models import DEFAULT_STAGES, POOL_STATES
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import NC_, label_of
from crm_core.platform.metadata import list_business_lines, list_options
from crm_core.platform.permissions import Permission
from ui.company_time import show_time
from ui.context import actor
from ui.custom_fields import filter_inputs
from ui.db import session
from ui.feedback import show_flash
from ui.i18n import nt, show_error, t
from ui.inputs import search_input
from ui.lead_actions import bulk_tag_panel, export_panel, new_lead_form
from ui.lead_card import show_lead_card
from ui.options import every, labels, stage_text
from ui.query import query_id
from ui.sms_send import send_panel
from ui.tables import pick_table

_FILTER = "leads_filter"
_PAGE = "leads_page"
_OPEN = "leads_open"
_PICK = "leads_pick"
PAGE_SIZE = 50


def _open_lead(lead_id: int) -> None:
    """A click on a row: its card opens below the table."""
    st.session_state[_OPEN] = lead_id


def _total_text(found: LeadPage) -> str:
    return f"{found.total:,}+" if found.total_capped else f"{found.total:,}"


def _filters(lines, channels, channel_labels, owners, tags, fields) -> None:
    """The search form; a new search starts again on page 1."""
    # Keyed widgets keep what the user typed across runs; the filter is built on submit.
    channel_labels = {code: channel_labels[code] for code in every("channel")}
    with st.form("leads_search"):
        text = search_input(
            t("Name, phone, last 4 digits, external id, e-mail, WeChat or QQ"),
            placeholder=t("e.g. 王, 13800001111 or 1111"),
            key="leads_q_text",
        )
        row1 = st.columns(4)
        channel = row1[0].selectbox(
            t("Channel"),
            ["", *channel_labels],
            format_func=lambda c: channel_labels.get(c, t(NC_("leads.search", "Any"))),
            key="leads_q_channel",
        )
        # Filters over history: every entry of the lists, disabled ones too.
        campaign_words = labels("campaign")
        campaign = row1[1].selectbox(
            t("Campaign"),
            ["", *every("campaign")],
            format_func=lambda c: campaign_words.get(c, c) or t(NC_("leads.search", "Any")),
            key="leads_q_campaign",
        )
        tag_words = labels("tag")
        tag = row1[2].selectbox(
            t("Tag"),
            ["", *tags],
            format_func=lambda x: tag_words.get(x, x) or t(NC_("leads.search", "Any")),
            key="leads_q_tag",
        )
        owner_names = dict(owners)
        owner = row1[3].selectbox(
            t(NC_("leads.search", "Owner")),
            [None, *owner_names],
            format_func=lambda u: owner_names.get(u, t(NC_("leads.search", "Any"))),
            key="leads_q_owner",
        )
        row2 = st.columns(4)
        line_names = {line.id: line.name for line in lines}
        line = row2[0].selectbox(
            t("Business line"),
            [None, *line_names],
            format_func=lambda i: line_names.get(i, t(NC_("leads.search", "Any"))),
            key="leads_q_line",
        )
        stage = row2[1].selectbox(
            t("Stage"),
            ["", *DEFAULT_STAGES],
            format_func=lambda s: stage_text(s) if s else t(NC_("leads.search", "Any")),
            key="leads_q_stage",
        )
        pool = row2[2].selectbox(
            t("Pool"),
            ["", *POOL_STATES],
            format_func=lambda p: t(label_of("pool", p)) if p else t(NC_("leads.search", "Any")),
            key="leads_q_pool",
        )
        row2[3].selectbox(
            t(NC_("leads.search", "Order")),
            SORTS,
            format_func=lambda s: t(label_of("leads.sort", s)),
            key="leads_sort",
        )
        row3 = st.columns(4)
        created_from = row3[0].date_input(t("Created from"), value=None, key="leads_q_from")
        created_to = row3[1].date_input(t("Created until"), value=None, key="leads_q_to")
        custom = filter_inputs(fields, "leads_q_custom")
        if st.form_submit_button(t("Search"), type="primary"):
            st.session_state[_FILTER] = LeadFilter(
                text=text.strip() or None,
                channel=channel or None,
                campaign_code=campaign or None,
                tag=tag or None,
                created_from=created_from,
                created_to=created_to,
                owner_id=owner,
                stage=stage or None,
                business_line_id=line,
                pool_state=pool or None,
                custom=tuple(custom),
            )
            st.session_state[_PAGE] = 1
            st.session_state.pop("leads_export", None)


def _table(found: LeadPage, channel_labels: dict[str, str]) -> pd.DataFrame:
    campaign_words = labels("campaign")
    return pd.DataFrame(
        [
            {
                "#": row.id,
                t("Name"): row.name,
                t("Phone"): row.phone or t("(no phone)"),
                # Masked like the phone for readers without view_full_phone (the core's rows).
                t("Email"): row.email,
                t("WeChat"): row.wechat,
                t("QQ"): row.qq,
                t("Channel"): channel_labels.get(row.channel, row.channel),
                t("Campaign"): campaign_words.get(row.campaign, row.campaign) or "",
                t("Opportunities"): "; ".join(
                    f"{o.business_line}: {o.owner_name or t(label_of('pool', o.pool_state))}"
                    f" ({stage_text(o.stage)})"
                    for o in row.opportunities
                ),
                t("Tags"): ", ".join(row.tags),
                t(NC_("leads.table", "Created")): show_time(row.created_at),
            }
            for row in found.rows
        ]
    )


def _pager(found: LeadPage) -> None:
    left, middle, right = st.columns([1, 2, 1])
    if left.button(t("Previous"), disabled=found.page <= 1, key="leads_prev"):
        st.session_state[_PAGE] = found.page - 1
        st.rerun()
    middle.caption(
        t(NC_("leads.page", "Page {page} of {pages}"), page=found.page, pages=found.page_count)
    )
    if right.button(t("Next"), disabled=found.page >= found.page_count, key="leads_next"):
        st.session_state[_PAGE] = found.page + 1
        st.rerun()


me = actor()
if "leads_open_next" in st.session_state:
    st.session_state[_OPEN] = st.session_state.pop("leads_open_next")
try:
    # A link from another page (a customer's row) opens a lead's card: `?lead=12`, once.
    linked = query_id("lead")
except ValidationError as error:
    show_error(error)
    linked = None
if "lead" in st.query_params:
    del st.query_params["lead"]
if linked is not None:
    st.session_state[_OPEN] = linked
st.title(t("Lead library"))
show_flash()

try:
    with session() as s:
        every_line = list_business_lines(s, active_only=False)  # a filter: disabled ones too
        channels = list_options(s, "channel")
        owners = owner_choices(s, me)
        fields = fields_visible_to(s, me, "lead")
except CrmError as error:
    show_error(error)
    st.stop()
channel_labels = labels("channel")
tags = every("tag")

_filters(every_line, channels, channel_labels, owners, tags, fields)
lead_filter: LeadFilter = st.session_state.get(_FILTER, LeadFilter())
try:
    with session() as s:
        found = search_leads(
            s,
            me,
            lead_filter,
            sort=st.session_state.get("leads_sort", "newest"),
            page=st.session_state.get(_PAGE, 1),
            page_size=PAGE_SIZE,
        )
except CrmError as error:
    show_error(error)
    st.stop()
total_text = _total_text(found)
st.caption(nt("{count} lead found.", "{count} leads found.", found.total, count=total_text))

picked: list[int] = []
if found.rows:
    sort = st.session_state.get("leads_sort", "newest")
    picked = pick_table(
        _table(found, channel_labels),
        [row.id for row in found.rows],
        key=_PICK,
        view=f"{lead_filter}|{sort}|{found.page}",
        on_open=_open_lead,
    )
    st.caption(
        t("Click a row to open its card; check rows to tag or export only those.")
        if me.can(Permission.EXPORT_LEADS) or me.can(Permission.IMPORT_LEADS)
        else t("Click a row to open its card.")
    )
    _pager(found)
    choices = {row.id: f"#{row.id} {row.name} {row.phone}" for row in found.rows}
    opened = st.session_state.get(_OPEN)
    if opened is not None and opened not in choices:
        choices = {opened: f"#{opened}", **choices}
    st.selectbox(
        t("Open a lead"), [None, *choices], format_func=lambda i: choices.get(i, "-"), key=_OPEN
    )
else:
    st.info(t("No lead matches this search."))

if st.session_state.get(_OPEN) is not None:
    show_lead_card(st.session_state[_OPEN])

# Checked rows narrow the export and the tagging to themselves; none checked: the search.
target = replace(lead_filter, ids=tuple(picked)) if picked else lead_filter
target_count = len(picked) if picked else found.total
target_text = f"{len(picked):,}" if picked else total_text
actions = []
if me.can(Permission.CREATE_LEADS):
    actions.append(("new", t(NC_("leads.action", "New lead"))))
if me.can(Permission.EXPORT_LEADS):
    actions.append(("export", t("Export the checked leads") if picked else t("Export this search")))
if me.can(Permission.IMPORT_LEADS) or me.can(Permission.MANAGE_CUSTOMERS):
    actions.append(("tag", t("Tag the checked leads") if picked else t("Tag this search")))
if me.can(Permission.BULK_SMS):
    actions.append(
        ("sms", t("Send SMS to the checked leads") if picked else t("Send SMS to this search"))
    )
for code, title in actions:
    with st.expander(title):
        if code == "new":
            new_lead_form(channels, channel_labels)
        elif code == "export":
            export_panel(
                target, st.session_state.get("leads_sort", "newest"), target_count, target_text
            )
        elif code == "sms":
            send_panel(key="leads_sms", lead_filter=target)
        else:
            bulk_tag_panel(target, target_count, target_text)
