"""One opportunity (商机详情): the lead with a masked phone (shown whole by a logged reveal),
where the opportunity stands, what to do next, and one timeline of everything that
happened - follow-ups and calls, stages, flow, trials, orders and study activity.
Opened with `?id=<opportunity>` from the workbench, the board or a shared link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.approvals import listing as approval_listing
from crm_core.approvals.flows import role_choices
from crm_core.circulation.collaborators import list_collaborators, may_manage, my_access
from crm_core.custom_fields.values import values_for
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.leads.masking import reveal_contact, reveal_phone
from crm_core.leads.phones import is_e164, readable_phone
from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.permissions import Permission
from crm_core.sales.detail import (
    TIMELINE_KINDS,
    OpportunityDetail,
    TimelineEntry,
    get_opportunity_detail,
)
from crm_core.sales.transfers import requests_of_opportunity
from ui import opportunity_actions as actions
from ui.approvals import show_opportunity_requests
from ui.calls import call_button
from ui.circulation import label
from ui.collaborators import show_collaborators
from ui.context import actor
from ui.custom_fields import edit_form, show_values
from ui.db import session
from ui.feedback import show_flash
from ui.i18n import show_error, t, tmd
from ui.orders import show_orders
from ui.query import MAX_ID, query_id
from ui.renewals import show_learning, show_renewal_action
from ui.sales import BOARD_PAGE, local, money, option_labels, stage_text
from ui.text import md

_REVEALED = "opp_revealed"
_REVEALED_WECHAT = "opp_revealed_wechat"


def _opportunity_id() -> int | None:
    """The opportunity the link asks for; None, after saying why, for a link whose id is
    not an id (letters, zero, twenty digits)."""
    try:
        return query_id("id")
    except CrmError as error:
        show_error(error)
        return None


def _lookup() -> None:
    """No opportunity asked for: open one by its number."""
    st.title(t(NC_("opportunity", "Opportunity")))
    number = st.number_input(
        t("Opportunity number"), min_value=1, max_value=MAX_ID, step=1, value=None, key="opp_lookup"
    )
    if st.button(t("Open"), key="opp_lookup_open", disabled=number is None):
        st.query_params["id"] = str(int(number))
        st.rerun()
    st.page_link(BOARD_PAGE, label=t("To the opportunity board"), icon=":material/view_kanban:")


def _wechat(detail: OpportunityDetail) -> None:
    """The WeChat id as the reader may see it; a masked one is shown whole by a logged
    reveal (the rep adds the person on WeChat)."""
    revealed = st.session_state.get(_REVEALED_WECHAT)
    shown = revealed[1] if revealed and revealed[0] == detail.lead_id else detail.wechat
    st.markdown(f"**{t('WeChat')}:** {md(shown) or '-'}")
    if revealed and revealed[0] == detail.lead_id:
        st.caption(t("The full value is shown once; this look was logged."))
    elif detail.wechat and not me.can(Permission.VIEW_FULL_PHONE):
        if st.button(
            t("Show WeChat id"),
            key="opp_reveal_wechat",
            help=t("Shows the full value once; every reveal is written to the audit log."),
        ):
            try:
                # Kept (and shown) only once the session has committed its audit entry.
                with session() as s:
                    wechat = reveal_contact(s, me, detail.lead_id, "wechat")
            except CrmError as error:
                show_error(error)
            else:
                st.session_state[_REVEALED_WECHAT] = (detail.lead_id, wechat)
                st.rerun()


def _summary(detail: OpportunityDetail) -> None:
    # Inside a badge too: a custom stage's code is data, and `]` would end the badge.
    badges = [
        f":blue-badge[{md(stage_text(detail.stage))}]",
        f":gray-badge[{md(label('pool', detail.pool_state))}]",
    ]
    if detail.intention_level:
        badges.append(f":orange-badge[{tmd('Intention {level}', level=detail.intention_level)}]")
    if detail.pipeline_type == "renewal":
        badges.append(f":violet-badge[{t('Renewal')}]")
    if detail.locked:
        badges.append(f":red-badge[{t('Locked')}]")
    st.markdown(" ".join(badges))
    left, middle, right = st.columns(3)
    with left:
        # Every value below is people's text: escaped, so a masked `150****3424` is not bold.
        revealed = st.session_state.get(_REVEALED)
        full = detail.phone if me.can(Permission.VIEW_FULL_PHONE) else None
        if revealed and revealed[0] == detail.lead_id:
            full = revealed[1]
        shown = readable_phone(full) if full else detail.phone
        line = f"**{t(NC_('opportunity', 'Phone'))}:** {md(shown) or '-'}"
        if full and is_e164(full):
            line += f" · [:material/call: {t('Call')}](tel:{full})"
        st.markdown(line)
        if detail.has_phone and detail.stage in OPEN_STAGES:
            call_button(detail.id)
        if revealed and revealed[0] == detail.lead_id:
            st.caption(t("The full number is shown once; this look was logged."))
        elif detail.has_phone and not me.can(Permission.VIEW_FULL_PHONE):
            if st.button(
                t("Show number to call"),
                key="opp_reveal",
                help=t("Shows the full number once; every reveal is written to the audit log."),
            ):
                try:
                    # The number is kept (and shown) only once the session has committed
                    # its audit entry: a failed commit leaves nothing to show.
                    with session() as s:
                        phone = reveal_phone(s, me, detail.lead_id)
                except CrmError as error:
                    show_error(error)
                else:
                    st.session_state[_REVEALED] = (detail.lead_id, phone)
                    st.rerun()
        _wechat(detail)
        place = " / ".join(p for p in (detail.region, detail.city) if p)
        st.markdown(f"**{t('Region / city')}:** {md(place) or '-'}")
    with middle:
        st.markdown(f"**{t('Owner')}:** {md(detail.owner_name) or '-'}")
        st.markdown(f"**{t('Team')}:** {md(detail.unit_name) or '-'}")
        channel = option_labels("channel").get(detail.channel, detail.channel)
        st.markdown(
            f"**{t('Channel')}:** {md(channel)}"
            + (
                f" · {md(option_labels('campaign').get(detail.campaign, detail.campaign))}"
                if detail.campaign
                else ""
            )
        )
    with right:
        st.markdown(f"**{t('Next follow-up')}:** {local(detail.next_follow_up_at) or '-'}")
        st.markdown(f"**{t('Last follow-up')}:** {local(detail.last_follow_up_at) or '-'}")
        st.markdown(f"**{t('Amount')}:** {money(detail.amount)}")
    if detail.lost_reason:
        reason = option_labels("lost_reason").get(detail.lost_reason, detail.lost_reason)
        st.caption(tmd("Lost: {reason}", reason=reason))


def _describe(entry: TimelineEntry, results: dict[str, str]) -> str:
    p = entry.params
    if entry.kind in ("follow_up", "call"):
        parts = [label("follow_up.channel", entry.what)]
        if p.get("duration_s"):
            parts.append(t("{minutes} min", minutes=round(p["duration_s"] / 60)))
        if p.get("result"):
            parts.append(results.get(p["result"], p["result"]))
        if p.get("intention"):
            parts.append(t("Intention {level}", level=p["intention"]))
        if p.get("next"):
            parts.append(t("next {at}", at=local(p["next"])))
        return " · ".join(parts)
    if entry.kind == "stage":
        return t(
            "{before} → {after}",
            before=stage_text(p.get("from")) or "-",
            after=stage_text(entry.what),
        )
    if entry.kind == "flow":
        moved = " → ".join(
            " ".join(
                x
                for x in (label("pool", p.get(f"{side}_state")), p.get(f"{side}_owner") or "")
                if x
            )
            or "-"
            for side in ("from", "to")
        )
        rule = f" ({p['rule']})" if p.get("rule") else ""
        return f"{label('flow.reason', entry.what)}{rule}: {moved}"
    if entry.kind == "order":
        return t(
            label_of("opportunity.tl.order", entry.what),
            order=p["order"],
            amount=money(p["amount"]),
        )
    if entry.kind == "trial":
        return label("trial.status", entry.what)
    return t("studied, {progress}% done", progress=p.get("progress", 0))


def _timeline(detail: OpportunityDetail) -> None:
    st.subheader(t("Timeline"))
    kinds = st.pills(
        t("Show only"),
        TIMELINE_KINDS,
        selection_mode="multi",
        key="opp_tl_kinds",
        format_func=lambda k: t(label_of("timeline.kind", k)),
    )
    entries = [e for e in detail.timeline if not kinds or e.kind in kinds]
    results = option_labels("follow_up_result")
    if not entries:
        st.caption(t("Nothing has happened yet."))
        return
    frame = pd.DataFrame(
        [
            {
                t("When"): local(e.at),
                t("Kind"): t(label_of("timeline.kind", e.kind)),
                t("What"): _describe(e, results),
                t("Notes"): e.text,
                t("By"): e.by or t("System"),
            }
            for e in entries
        ]
    )
    notes = st.column_config.TextColumn(width="large")
    st.dataframe(frame, hide_index=True, width="stretch", column_config={t("Notes"): notes})


me = actor()
opportunity_id = _opportunity_id()
if opportunity_id is None:
    _lookup()
    st.stop()
try:
    with session() as s:
        detail = get_opportunity_detail(s, me, opportunity_id)
        requests = requests_of_opportunity(s, me, opportunity_id)
        collaborators = list_collaborators(s, me, opportunity_id)
        approvals = approval_listing.requests_of_opportunity(s, me, opportunity_id)
        approval_history = approval_listing.request_histories(s, me, [r.id for r in approvals])
        approval_roles = role_choices(s) if approvals else {}
        manages = may_manage(s, me, opportunity_id)
        # Set when the reader reaches the opportunity only as a collaborator.
        shared = (
            None if manages or detail.owner_id == me.user_id else my_access(s, me, opportunity_id)
        )
        # The opportunity's custom fields: disabled ones still show what they hold.
        fields = fields_visible_to(s, me, "opportunity", include_disabled=True)
        field_values = values_for(
            s, me, "opportunity", [opportunity_id], include_disabled=True
        ).get(opportunity_id, {})
except CrmError as error:
    st.title(t(NC_("opportunity", "Opportunity")))
    show_error(error)
    st.page_link(BOARD_PAGE, label=t("To the opportunity board"), icon=":material/view_kanban:")
    st.stop()

st.title(
    tmd("#{id} {name} · {line}", id=detail.id, name=detail.lead_name, line=detail.business_line)
)
show_flash()
_summary(detail)
show_values(fields, field_values)
editable_fields = [f for f in fields if f.active]

can_work = detail.is_open and me.can(Permission.WORK_OPPORTUNITIES) and shared != "read"
if can_work and shared == "follow_up":
    # A collaborator with follow-up access: the follow-up forms only.
    sections = {
        N_("Log a follow-up"): lambda: actions.follow_up_form(me, detail),
        N_("Intention and next follow-up"): lambda: actions.plan_form(me, detail),
    }
    tabs = st.tabs([t(k) for k in sections], key="opp_tabs_shared", on_change="rerun")
    for tab, build in zip(tabs, sections.values(), strict=True):
        if tab.open:
            with tab:
                build()
elif can_work:
    # Keyed: after an action the page reruns on the tab it was taken in, and only the open
    # tab's form is built.
    sections = {
        N_("Log a follow-up"): lambda: actions.follow_up_form(me, detail),
        N_("Change stage"): lambda: actions.stage_form(me, detail),
        NC_("opportunity.tab", "Trial lesson"): lambda: actions.trial_form(me, detail),
        N_("Intention and next follow-up"): lambda: actions.plan_form(me, detail),
        N_("Order"): lambda: show_orders(me, detail.id, detail.business_line_id, detail.is_open),
        N_("Ask for a transfer"): lambda: actions.transfer_form(me, detail, requests),
    }
    if editable_fields:
        sections[N_("Custom fields")] = lambda: edit_form(
            "opportunity", detail.id, editable_fields, field_values, me
        )
    tabs = st.tabs([t(k) for k in sections], key="opp_tabs", on_change="rerun")
    for tab, build in zip(tabs, sections.values(), strict=True):
        if tab.open:
            with tab:
                build()
else:
    if not detail.is_open:
        st.info(
            tmd(
                "This opportunity is closed ({stage}, {at}).",
                stage=stage_text(detail.stage),
                at=local(detail.closed_at),
            )
        )
    show_orders(me, detail.id, detail.business_line_id, detail.is_open)
show_renewal_action(me, detail)
show_collaborators(me, detail, collaborators, manage=manages, mine=shared)
show_opportunity_requests(approvals, approval_history, approval_roles)

timeline_col, side_col = st.columns([3, 1])
with timeline_col:
    _timeline(detail)
with side_col:
    if me.can(Permission.VIEW_LEADS):
        show_learning(me, detail.lead_id)
