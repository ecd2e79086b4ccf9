"""The lead card on the lead library page: the person, the number behind a logged reveal,
tags, opportunities, follow-ups, flow history, and (by permission) edit and merge."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.leads.edit import EDITABLE_FIELDS, update_lead
from crm_core.leads.masking import reveal_phone
from crm_core.leads.merge import merge_leads
from crm_core.leads.tags import add_tag, remove_tag
from crm_core.platform.errors import CrmError
from crm_core.platform.metadata import list_options, option_label
from crm_core.platform.permissions import Permission
from crm_core.sales.lead_card import LeadDetail, get_lead_detail
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.feedback import flash
from ui.i18n import language, show_error, t, tmd
from ui.inputs import text_input
from ui.query import MAX_ID
from ui.text import md


def _when(value) -> str:
    return show_time(value)


def _label(prefix: str, code: str | None) -> str:
    """A code's text, or the code itself when it has none (a custom stage, say)."""
    if not code:
        return ""
    key = f"{prefix}.{code}"
    text = t(key)
    return code if text == key else text


def _opportunities(detail: LeadDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("leads.card.line"): o.business_line,
                t("leads.card.owner"): o.owner_name or "",
                t("leads.card.pool"): _label("pool", o.pool_state),
                t("leads.card.stage"): _label("stage", o.stage),
                t("leads.card.intention"): o.intention_level or "",
                t("leads.card.assigned_at"): _when(o.assigned_at),
                t("leads.card.last_follow_up"): _when(o.last_follow_up_at),
                t("leads.card.next_follow_up"): _when(o.next_follow_up_at),
            }
            for o in detail.opportunities
        ]
    )


def _follow_ups(detail: LeadDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("leads.card.when"): _when(f.created_at),
                t("leads.card.line"): f.business_line,
                t("leads.card.author"): f.author_name or t("leads.card.system"),
                t("leads.card.channel"): _label("follow_up.channel", f.channel),
                t("leads.card.content"): f.content,
                t("leads.card.result"): f.result or "",
            }
            for f in detail.follow_ups
        ]
    )


def _flow(detail: LeadDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("leads.card.when"): _when(e.at),
                t("leads.card.line"): e.business_line,
                t("leads.card.reason"): _label("flow.reason", e.reason),
                t("leads.card.from"): " / ".join(
                    x for x in (_label("pool", e.from_state), e.from_owner_name or "") if x
                ),
                t("leads.card.to"): " / ".join(
                    x for x in (_label("pool", e.to_state), e.to_owner_name or "") if x
                ),
                t("leads.card.by"): e.actor_name or t("leads.card.system"),
                t("leads.card.note"): e.note or "",
            }
            for e in detail.flow
        ]
    )


def _fact(label_key: str, value: str | None) -> None:
    """One labelled value of the card; the value is escaped, so what people typed (a name,
    a landing page) shows as typed instead of as Markdown."""
    st.markdown(f"**{t(label_key)}:** " + (md(value) if value else "-"))


def _facts(detail: LeadDetail, channel_labels: dict[str, str]) -> None:
    me = actor()
    left, right = st.columns(2)
    with left:
        _fact("lead_card.field.phone", detail.phone)
        revealed = st.session_state.get("leads_revealed")
        if revealed and revealed[0] == detail.id:
            st.info(tmd("leads.card.revealed", phone=revealed[1]))
        elif detail.phone and not me.can(Permission.VIEW_FULL_PHONE):
            if st.button(
                t("leads.phone.reveal"),
                key=f"leads_reveal_{detail.id}",
                help=t("leads.card.reveal_help"),
            ):
                try:
                    # Kept (and shown) only after the session committed the audit entry.
                    with session() as s:
                        phone = reveal_phone(s, me, detail.id)
                except CrmError as error:
                    show_error(error)
                else:
                    st.session_state["leads_revealed"] = (detail.id, phone)
                    st.rerun()
        _fact("lead_card.field.external_id", detail.external_id)
        _fact("lead_card.field.email", detail.email)
        _fact("lead_card.field.wechat", detail.wechat)
        _fact("leads.card.place", " ".join(x for x in (detail.region, detail.city) if x))
    with right:
        _fact("lead_card.field.channel", channel_labels.get(detail.channel, detail.channel))
        _fact("lead_card.field.campaign", detail.campaign)
        _fact("lead_card.field.keyword", detail.keyword)
        _fact("lead_card.field.landing_page", detail.landing_page)
        by = f" ({detail.created_by_name})" if detail.created_by_name else ""
        _fact("leads.card.created", _when(detail.created_at) + by)
        if detail.customer is not None:
            customer = detail.customer
            _fact(
                "leads.card.customer",
                f"{customer.platform_user_id} {customer.name or ''} "
                f"{_when(customer.registered_at)}",
            )
    if detail.merged_from:
        merged = ", ".join(f"#{lead_id} {name}" for lead_id, name in detail.merged_from)
        st.caption(tmd("leads.card.merged_from", leads=merged))


def _tags(detail: LeadDetail) -> None:
    me = actor()
    st.markdown(f"**{t('leads.card.tags')}:** " + (" · ".join(map(md, detail.tags)) or "-"))
    if not (me.can(Permission.CREATE_LEADS) or me.can(Permission.MANAGE_CUSTOMERS)):
        return
    add_col, remove_col = st.columns(2)
    with add_col.form(f"leads_add_tag_{detail.id}", clear_on_submit=True, border=False):
        new_tag = text_input(t("leads.card.new_tag"), key=f"leads_new_tag_{detail.id}")
        if st.form_submit_button(t("leads.card.add_tag")):
            try:
                with session() as s:
                    added = add_tag(s, me, detail.id, new_tag)
            except CrmError as error:
                show_error(error)
            else:
                flash("leads.card.tag_added", tag=added)
                st.rerun()
    if detail.tags:
        with remove_col.form(f"leads_remove_tag_{detail.id}", border=False):
            old_tag = st.selectbox(t("leads.card.remove_tag"), detail.tags)
            if st.form_submit_button(t("leads.card.remove")):
                try:
                    with session() as s:
                        remove_tag(s, me, detail.id, old_tag)
                except CrmError as error:
                    show_error(error)
                else:
                    flash("leads.card.tag_removed", tag=old_tag)
                    st.rerun()


def _edit(detail: LeadDetail, channel_codes: list[str], channel_labels: dict[str, str]) -> None:
    me = actor()
    with st.expander(t("leads.card.edit")), st.form(f"leads_edit_{detail.id}"):
        values: dict[str, str | None] = {}
        for name in EDITABLE_FIELDS:
            current = getattr(detail, name)
            if name == "phone":
                # The stored number is only ever shown masked; a new one replaces it.
                values[name] = text_input(
                    t("lead_card.field.phone"),
                    placeholder=detail.phone,
                    help=t("leads.card.phone_edit_help"),
                    key=f"leads_edit_phone_{detail.id}",
                )
            elif name == "channel":
                codes = channel_codes if current in channel_codes else [current, *channel_codes]
                values[name] = st.selectbox(
                    t("lead_card.field.channel"),
                    codes,
                    index=codes.index(current),
                    format_func=lambda c: channel_labels.get(c, c),
                    key=f"leads_edit_channel_{detail.id}",
                )
            else:
                values[name] = text_input(
                    t(f"lead_card.field.{name}"),
                    value=current or "",
                    key=f"leads_edit_{name}_{detail.id}",
                )
        if st.form_submit_button(t("leads.card.save")):
            changes = {k: v for k, v in values.items() if not (k == "phone" and not v)}
            try:
                with session() as s:
                    update_lead(s, me, detail.id, changes)
            except CrmError as error:
                show_error(error)
            else:
                flash("leads.card.saved")
                st.rerun()


def _merge(detail: LeadDetail) -> None:
    me = actor()
    with st.expander(t("leads.card.merge")), st.form(f"leads_merge_{detail.id}"):
        st.caption(t("leads.card.merge_help", id=detail.id))
        other = st.number_input(
            t("leads.card.merge_other"),
            min_value=1,
            max_value=MAX_ID,
            step=1,
            value=None,
            key=f"leads_merge_other_{detail.id}",
        )
        sure = st.checkbox(t("leads.card.merge_confirm"), key=f"leads_merge_sure_{detail.id}")
        if st.form_submit_button(t("leads.card.merge_go")):
            if other is None or not sure:
                st.warning(t("leads.card.merge_incomplete"))
                return
            try:
                with session() as s:
                    result = merge_leads(s, me, detail.id, int(other))
            except CrmError as error:
                show_error(error)
            else:
                flash(
                    "lead_card.merge.done",
                    moved=result.moved_opportunities,
                    closed=result.closed_duplicates,
                    tags=result.moved_tags,
                )
                st.rerun()


def show_lead_card(lead_id: int) -> None:
    """The card of one lead the user opened; a lead gone from their scope says so."""
    me = actor()
    try:
        with session() as s:
            detail = get_lead_detail(s, me, lead_id)
            channels = list_options(s, "channel")
    except CrmError as error:
        show_error(error)
        return
    channel_labels = {o.code: option_label(o, language()) for o in channels}
    with st.container(border=True):
        st.subheader(f"{md(detail.name)}  ·  #{detail.id}")
        _facts(detail, channel_labels)
        _tags(detail)
        tabs = st.tabs(
            [
                t("leads.card.opportunities", count=len(detail.opportunities)),
                t("leads.card.follow_ups", count=len(detail.follow_ups)),
                t("leads.card.flow", count=len(detail.flow)),
            ]
        )
        for tab, table, empty in zip(
            tabs,
            (_opportunities, _follow_ups, _flow),
            ("leads.card.no_opportunities", "leads.card.no_follow_ups", "leads.card.no_flow"),
            strict=True,
        ):
            with tab:
                frame = table(detail)
                if frame.empty:
                    st.caption(t(empty))
                else:
                    st.dataframe(frame, hide_index=True, width="stretch")
        if me.can(Permission.CREATE_LEADS):
            _edit(detail, [o.code for o in channels], channel_labels)
        if me.can(Permission.MERGE_LEADS):
            _merge(detail)
