"""What the lead library page does besides searching: enter a lead by hand, export the
search, tag every lead of the search."""

from __future__ import annotations

import streamlit as st

from crm_core.circulation.dispatch import dispatch_arrivals
from crm_core.leads.export import EXPORT_FORMATS, export_leads
from crm_core.leads.intake import ADDED_LINE, CREATED, REJECTED, LeadInput, intake_leads
from crm_core.leads.search import LeadFilter
from crm_core.leads.tags import bulk_tag, bulk_untag
from crm_core.models import MetadataOption
from crm_core.org.lines import worked_lines
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NP_, label_of
from crm_core.platform.permissions import Permission
from ui import options
from ui.context import actor
from ui.db import session
from ui.feedback import flash
from ui.i18n import language, nt, show_error, t, tmd
from ui.inputs import text_input


def new_lead_form(channels: list[MetadataOption], labels) -> None:
    """A lead typed in by hand, through the same intake as every other entrance: offered for
    the lines the adder works in, their own line chosen."""
    me = actor()
    can_keep = me.can(Permission.WORK_OPPORTUNITIES) and me.org_unit_id is not None
    with session() as s:
        worked = worked_lines(s, me)
    lines = worked.lines
    if worked.own_code is not None:
        default = [worked.own_code]
    else:
        default = [lines[0].code] if len(lines) == 1 else []
    with st.form("leads_new", clear_on_submit=False):
        left, right = st.columns(2)
        name = text_input(t("Name") + " *", container=left)
        phone = text_input(
            t("Phone"),
            help=t("Mainland mobile numbers in any spelling; other countries with their + code."),
            container=right,
        )
        channel = left.selectbox(
            t("Channel") + " *",
            [o.code for o in channels],
            format_func=lambda c: labels.get(c, c),
        )
        line_codes = right.multiselect(
            t("Business lines") + " *",
            [line.code for line in lines],
            default=default,
            format_func=lambda c: next((x.name for x in lines if x.code == c), c),
        )
        campaign_words = options.labels("campaign")
        campaign = left.selectbox(
            t("Campaign"),
            ["", *options.choices("campaign")],
            format_func=lambda c: campaign_words.get(c, c) if c else t("-"),
        )
        external_id = text_input(t("External id"), container=right)
        wechat = text_input(t("WeChat"), container=left)
        city = text_input(t("City"), container=right)
        email = text_input(t("Email"), container=left)
        qq = text_input(t("QQ"), container=right)
        keep = (
            st.checkbox(
                t("Keep this lead for myself"),
                value=True,
                help=t(
                    "You found this person: the opportunities are yours at once instead of waiting for dispatch."
                ),
            )
            if can_keep
            else False
        )
        if not st.form_submit_button(t("Save lead"), type="primary"):
            return
    item = LeadInput(
        name=name,
        phone=phone,
        channel=channel,
        business_line_codes=line_codes,
        campaign=campaign or None,
        external_id=external_id,
        wechat=wechat,
        qq=qq,
        email=email,
        city=city,
    )
    try:
        with session() as s:
            result = intake_leads(s, me, [item], source="manual", keep_for_self=keep)
    except CrmError as error:
        show_error(error)
        return
    [outcome] = result.outcomes
    if not keep and outcome.status in (CREATED, ADDED_LINE):
        # Dispatched on arrival, by the rules, in a transaction of its own (as the API does);
        # what no rep takes waits for the worker's next dispatch.
        with session() as s:
            dispatch_arrivals(s, Actor.system(), outcome.opportunity_ids)
    if outcome.status == REJECTED:
        st.error(tmd(outcome.reason, **outcome.params))
        return
    for collision in outcome.collisions:
        if collision.hidden:
            # Outside the rep's scope: who has the person, and under which number, is not
            # theirs to know; the owner's manager was told instead.
            st.warning(
                t(
                    "This person is already followed up by a colleague; the inquiry was logged on their opportunity."
                )
            )
            continue
        owner = collision.owner_name or t(label_of("pool", collision.pool_state))
        st.warning(
            tmd(
                "This person is already followed up by {owner}; the inquiry was logged on their opportunity.",
                owner=owner,
            )
        )
    if not outcome.collisions:
        # Opened on the next run, before the page draws its "open a lead" box.
        st.session_state["leads_open_next"] = outcome.lead_id
        flash(label_of("leads.new", outcome.status))
        st.rerun()


def export_panel(lead_filter: LeadFilter, sort: str, total: int, total_text: str) -> None:
    """Export the current search (within the user's scope), masked as on screen; `total`
    leads (`total_text` as shown: "1,000+" for a capped count)."""
    me = actor()
    fmt = st.radio(
        t("Format"),
        EXPORT_FORMATS,
        horizontal=True,
        format_func=lambda f: f.upper(),
        key="leads_export_format",
    )
    prepare = nt(
        "Prepare the export ({count} lead)",
        "Prepare the export ({count} leads)",
        total,
        count=total_text,
    )
    if st.button(prepare, key="leads_export_go"):
        try:
            with session() as s:
                exported = export_leads(s, me, lead_filter, fmt, language(), sort=sort)
        except CrmError as error:
            show_error(error)
            return
        st.session_state["leads_export"] = exported
    exported = st.session_state.get("leads_export")
    if exported is not None:
        if exported.truncated:
            st.warning(
                t(
                    "Only the first {rows} leads were exported; narrow the filter for the rest.",
                    rows=exported.rows,
                )
            )
        st.download_button(
            t("Download {rows} leads", rows=exported.rows),
            exported.data,
            file_name=exported.filename,
            mime=exported.mime,
            key="leads_export_download",
        )


def bulk_tag_panel(lead_filter: LeadFilter, total: int, total_text: str) -> None:
    """Add or remove one tag on every lead the search finds, not only the page shown
    (`total` of them, shown as `total_text`)."""
    me = actor()
    words = options.labels("tag")
    active = options.choices("tag")
    with st.form("leads_bulk_tag"):
        # Every catalogue tag, so a disabled one can still be taken off (the core refuses
        # to give it); a metadata manager may type a new one, which joins the catalogue.
        tag = st.selectbox(
            t("Tag"),
            ["", *active, *(c for c in options.every("tag") if c not in active)],
            format_func=lambda c: (
                (words.get(c, c) if c in active else t("{tag} (disabled)", tag=words.get(c, c)))
                if c
                else t("-")
            ),
            key="leads_bulk_tag_pick",
        )
        if me.can(Permission.MANAGE_METADATA):
            typed = text_input(t("New tag"), key="leads_bulk_tag_text")
            tag = typed.strip() or tag
        sure = st.checkbox(
            nt(
                "Apply to the {count} lead of this search",
                "Apply to all {count} leads of this search",
                total,
                count=total_text,
            ),
            key="leads_bulk_sure",
        )
        add, remove = st.columns(2)
        do_add = add.form_submit_button(t("Add the tag"))
        do_remove = remove.form_submit_button(t("Remove the tag"))
    if not (do_add or do_remove):
        return
    if not sure:
        st.warning(t("Tick the box to confirm the change to every lead of the search."))
        return
    try:
        with session() as s:
            if do_add:
                changed = bulk_tag(s, me, lead_filter, tag)
            else:
                changed = bulk_untag(s, me, lead_filter, tag)
    except CrmError as error:
        show_error(error)
        return
    flash(
        NP_("Tag {tag} added to {n} lead.", "Tag {tag} added to {n} leads.")
        if do_add
        else NP_("Tag {tag} removed from {n} lead.", "Tag {tag} removed from {n} leads."),
        n=changed,
        tag=words.get(tag, tag.strip()),
    )
    st.rerun()
