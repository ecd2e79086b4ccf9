"""The lead card on the lead library page: the person, the contact values behind a logged
reveal, tags, opportunities, follow-ups, flow history, and (by permission) edit and merge."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.custom_fields.values import values_for
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.leads.edit import BAD_PHONE, EDITABLE_FIELDS, update_lead
from crm_core.leads.masking import reveal_contact
from crm_core.leads.merge import merge_leads
from crm_core.leads.tags import add_tag, remove_tag
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.permissions import Permission
from crm_core.sales.lead_card import LeadDetail, get_lead_detail
from ui.company_time import show_time
from ui.context import actor
from ui.custom_fields import edit_form, show_values
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t, tmd
from ui.inputs import text_input
from ui.options import choices, labels, option_text, stage_text
from ui.query import MAX_ID
from ui.sales import DETAIL_PAGE
from ui.sms_send import lead_sms
from ui.tables import open_table
from ui.text import md


def _when(value) -> str:
    return show_time(value)


def _label(prefix: str, code: str | None) -> str:
    """A code's text, or the code itself when it has none (a custom stage, say)."""
    return t(label_of(prefix, code)) if code else ""


def _opportunities(detail: LeadDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Business line"): o.business_line,
                t(NC_("leads.card", "Owner")): o.owner_name or "",
                t("Pool"): _label("pool", o.pool_state),
                t("Stage"): stage_text(o.stage),
                t(NC_("leads.card", "Intention")): option_text(
                    "intention_level", o.intention_level
                ),
                t("Assigned"): _when(o.assigned_at),
                t("Last follow-up"): _when(o.last_follow_up_at),
                t("Next follow-up"): _when(o.next_follow_up_at),
            }
            for o in detail.opportunities
        ]
    )


def _follow_ups(detail: LeadDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("When"): _when(f.created_at),
                t("Business line"): f.business_line,
                t(NC_("leads.card", "By")): f.author_name or t("System"),
                t(NC_("leads.card", "Channel")): _label("follow_up.channel", f.channel),
                t("Content"): f.content,
                t("Result"): f.result or "",
            }
            for f in detail.follow_ups
        ]
    )


def _flow(detail: LeadDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("When"): _when(e.at),
                t("Business line"): e.business_line,
                t("Reason"): _label("flow.reason", e.reason),
                t("From"): " / ".join(
                    x for x in (_label("pool", e.from_state), e.from_owner_name or "") if x
                ),
                t("To"): " / ".join(
                    x for x in (_label("pool", e.to_state), e.to_owner_name or "") if x
                ),
                t("By"): e.actor_name or t("System"),
                t("Note"): e.note or "",
            }
            for e in detail.flow
        ]
    )


def _fact(label_key: str, value: str | None) -> None:
    """One labelled value of the card; the value is escaped, so what people typed (a name,
    a landing page) shows as typed instead of as Markdown."""
    st.markdown(f"**{t(label_key)}:** " + (md(value) if value else "-"))


# Contact fields of the card: their label, the reveal button's, and the note shown with the
# full value. The phone's keys and words are those the card always had.
_CONTACTS = {
    "phone": (N_("Phone"), N_("Show number"), N_("Full number: {value} (this look was logged)")),
    "email": (N_("Email"), N_("Show e-mail"), N_("Full e-mail: {value} (this look was logged)")),
    "wechat": (
        N_("WeChat"),
        N_("Show WeChat id"),
        N_("Full WeChat id: {value} (this look was logged)"),
    ),
    "qq": (N_("QQ"), N_("Show QQ number"), N_("Full QQ number: {value} (this look was logged)")),
}
_REVEALED = "leads_revealed"  # (lead id, field, full value) of the one reveal shown


def _contact(detail: LeadDetail, field: str) -> None:
    """One contact value as the reader may see it, with a logged reveal where it is masked."""
    me = actor()
    label, button, note = _CONTACTS[field]
    value = getattr(detail, field)
    _fact(label, value)
    revealed = st.session_state.get(_REVEALED)
    if revealed and revealed[:2] == (detail.id, field):
        st.info(tmd(note, value=revealed[2]))
    elif value and not me.can(Permission.VIEW_FULL_PHONE):
        key = (
            f"leads_reveal_{detail.id}" if field == "phone" else f"leads_reveal_{field}_{detail.id}"
        )
        if st.button(
            t(button),
            key=key,
            help=t("Shows the full value once; every reveal is written to the audit log."),
        ):
            try:
                # Kept (and shown) only after the session committed the audit entry.
                with session() as s:
                    full = reveal_contact(s, me, detail.id, field)
            except CrmError as error:
                show_error(error)
            else:
                st.session_state[_REVEALED] = (detail.id, field, full)
                st.rerun()


def _facts(detail: LeadDetail, channel_labels: dict[str, str]) -> None:
    left, right = st.columns(2)
    with left:
        _contact(detail, "phone")
        _fact(N_("External id"), detail.external_id)
        for field in ("email", "wechat", "qq"):
            _contact(detail, field)
        _fact(N_("Place"), " ".join(x for x in (detail.region, detail.city) if x))
    with right:
        _fact(N_("Channel"), channel_labels.get(detail.channel, detail.channel))
        _fact(N_("Campaign"), labels("campaign").get(detail.campaign or "", detail.campaign))
        _fact(N_("Keyword"), detail.keyword)
        _fact(N_("Landing page"), detail.landing_page)
        by = f" ({detail.created_by_name})" if detail.created_by_name else ""
        _fact(N_("Created"), _when(detail.created_at) + by)
        if detail.customer is not None:
            customer = detail.customer
            _fact(
                N_("Registered user"),
                f"{customer.platform_user_id} {customer.name or ''} "
                f"{_when(customer.registered_at)}",
            )
    if detail.merged_from:
        merged = ", ".join(f"#{lead_id} {name}" for lead_id, name in detail.merged_from)
        st.caption(tmd("Merged into this lead: {leads}", leads=merged))


def _tags(detail: LeadDetail) -> None:
    me = actor()
    words = labels("tag")
    shown = [md(words.get(tag, tag)) for tag in detail.tags]
    st.markdown(f"**{t('Tags')}:** " + (" · ".join(shown) or "-"))
    if not (me.can(Permission.CREATE_LEADS) or me.can(Permission.MANAGE_CUSTOMERS)):
        return
    add_col, remove_col = st.columns(2)
    with add_col.form(f"leads_add_tag_{detail.id}", clear_on_submit=True, border=False):
        # The catalogue's active tags; only a metadata manager may type a new one.
        offered = [tag for tag in choices("tag") if tag not in detail.tags]
        new_tag = st.selectbox(
            t("Tag"),
            ["", *offered],
            format_func=lambda c: words.get(c, c) if c else t("-"),
            key=f"leads_pick_tag_{detail.id}",
        )
        if me.can(Permission.MANAGE_METADATA):
            typed = text_input(t("New tag"), key=f"leads_new_tag_{detail.id}")
            new_tag = typed.strip() or new_tag
        if st.form_submit_button(t("Add tag")):
            try:
                with session() as s:
                    added = add_tag(s, me, detail.id, new_tag)
            except CrmError as error:
                show_error(error)
            else:
                flash(N_("Tag {tag} added."), tag=words.get(added, added))
                st.rerun()
    if detail.tags:
        with remove_col.form(f"leads_remove_tag_{detail.id}", border=False):
            old_tag = st.selectbox(
                t("Tag to remove"), detail.tags, format_func=lambda c: words.get(c, c)
            )
            if st.form_submit_button(t("Remove tag")):
                try:
                    with session() as s:
                        remove_tag(s, me, detail.id, old_tag)
                except CrmError as error:
                    show_error(error)
                else:
                    flash(N_("Tag {tag} removed."), tag=words.get(old_tag, old_tag))
                    st.rerun()


def _edit(detail: LeadDetail, channel_codes: list[str], channel_labels: dict[str, str]) -> None:
    me = actor()
    with st.expander(t("Edit lead")), st.form(f"leads_edit_{detail.id}"):
        values: dict[str, str | None] = {}
        for name in EDITABLE_FIELDS:
            current = getattr(detail, name)
            if name == "phone":
                # The stored number is only ever shown masked; a new one replaces it.
                values[name] = text_input(
                    t("Phone"),
                    placeholder=detail.phone,
                    help=t("Leave empty to keep the number; type a new one to replace it."),
                    key=f"leads_edit_phone_{detail.id}",
                )
            elif name == "channel":
                codes = channel_codes if current in channel_codes else [current, *channel_codes]
                values[name] = st.selectbox(
                    t("Channel"),
                    codes,
                    index=codes.index(current),
                    format_func=lambda c: channel_labels.get(c, c),
                    key=f"leads_edit_channel_{detail.id}",
                )
            elif name == "campaign":
                # The active campaigns; the lead's own stays offered even when disabled.
                codes = ["", *choices("campaign")]
                if current and current not in codes:
                    codes.append(current)
                values[name] = st.selectbox(
                    t("Campaign"),
                    codes,
                    index=codes.index(current or ""),
                    format_func=lambda c: labels("campaign").get(c, c) if c else t("-"),
                    key=f"leads_edit_campaign_{detail.id}",
                )
            else:
                # A masked contact value sent back unchanged keeps the stored one (the core
                # reads its own mask as no change).
                masked = name in _CONTACTS and not me.can(Permission.VIEW_FULL_PHONE)
                values[name] = text_input(
                    t(label_of("lead_card.field", name)),
                    value=current or "",
                    help=t("Shown masked: leave it as it is to keep the value, or type a new one.")
                    if masked and current
                    else None,
                    key=f"leads_edit_{name}_{detail.id}",
                )
        if st.form_submit_button(t("Save changes")):
            changes = {k: v for k, v in values.items() if not (k == "phone" and not v)}
            try:
                with session() as s:
                    update_lead(s, me, detail.id, changes)
            except CrmError as error:
                if error.key == BAD_PHONE:
                    # The reader typed it: they see it whole, to spot the slip.
                    st.error(tmd(BAD_PHONE, phone=changes.get("phone") or ""))
                else:
                    show_error(error)
            else:
                flash(N_("Lead saved."))
                st.rerun()


def _merge(detail: LeadDetail) -> None:
    me = actor()
    with st.expander(t("Merge another lead into this one")), st.form(f"leads_merge_{detail.id}"):
        st.caption(
            t(
                "The other lead's opportunities, follow-ups, tags and missing details move to lead #{id}; the other lead then leaves the library. A duplicate opportunity on the same business line is closed.",
                id=detail.id,
            )
        )
        other = st.number_input(
            t("Lead number to merge in"),
            min_value=1,
            max_value=MAX_ID,
            step=1,
            value=None,
            key=f"leads_merge_other_{detail.id}",
        )
        sure = st.checkbox(
            t("I checked that both leads are the same person"), key=f"leads_merge_sure_{detail.id}"
        )
        if st.form_submit_button(t("Merge")):
            if other is None or not sure:
                st.warning(t("Give the lead number and tick the confirmation."))
                return
            try:
                with session() as s:
                    result = merge_leads(s, me, detail.id, int(other))
            except CrmError as error:
                show_error(error)
            else:
                flash(
                    N_(
                        "Merged: {moved} opportunities moved, {closed} duplicates closed, {tags} tags added."
                    ),
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
            # Disabled fields keep showing their values; only active ones are edited.
            fields = fields_visible_to(s, me, "lead", include_disabled=True)
            values = values_for(s, me, "lead", [lead_id], include_disabled=True).get(lead_id, {})
    except CrmError as error:
        show_error(error)
        return
    channel_labels = labels("channel")
    with st.container(border=True):
        st.subheader(f"{md(detail.name)}  ·  #{detail.id}")
        _facts(detail, channel_labels)
        show_values(fields, values)
        _tags(detail)
        tabs = st.tabs(
            [
                t("Opportunities ({count})", count=len(detail.opportunities)),
                t("Follow-ups ({count})", count=len(detail.follow_ups)),
                t("Flow history ({count})", count=len(detail.flow)),
            ]
        )
        # Each row of the three tabs belongs to an opportunity: a click opens it.
        opens = (
            [o.id for o in detail.opportunities],
            [f.opportunity_id for f in detail.follow_ups],
            [f.opportunity_id for f in detail.flow],
        )
        for tab, table, ids, empty in zip(
            tabs,
            (_opportunities, _follow_ups, _flow),
            opens,
            (
                N_("No opportunity of this lead is in your reach."),
                N_("No follow-up yet."),
                N_("No flow event yet."),
            ),
            strict=True,
        ):
            with tab:
                frame = table(detail)
                if frame.empty:
                    st.caption(t(empty))
                elif open_table(
                    frame, ids, key=f"lead_card_{table.__name__}", open_page=DETAIL_PAGE
                ):
                    st.caption(t("Click a row to open the opportunity."))
                else:
                    st.dataframe(frame, hide_index=True, width="stretch")
        if me.can(Permission.SEND_SMS):
            lead_sms(detail.id)
        if me.can(Permission.CREATE_LEADS):
            _edit(detail, choices("channel"), channel_labels)
            editable = [f for f in fields if f.active]
            if editable:
                with st.expander(t("Edit custom fields")):
                    edit_form("lead", detail.id, editable, values, me)
        if me.can(Permission.MERGE_LEADS):
            _merge(detail)
