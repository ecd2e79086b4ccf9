"""What the lead library page does besides searching: enter a lead by hand, export the
search, tag every lead of the search."""

from __future__ import annotations

import streamlit as st

from crm_core.leads.export import EXPORT_FORMATS, export_leads
from crm_core.leads.intake import REJECTED, LeadInput, intake_leads
from crm_core.leads.search import LeadFilter
from crm_core.leads.tags import bulk_tag, bulk_untag
from crm_core.models import BusinessLine, MetadataOption
from crm_core.platform.errors import CrmError
from crm_core.platform.permissions import Permission
from ui.context import actor
from ui.db import session
from ui.feedback import flash
from ui.i18n import language, show_error, t, tmd
from ui.inputs import text_input


def new_lead_form(lines: list[BusinessLine], channels: list[MetadataOption], labels) -> None:
    """A lead typed in by hand, through the same intake as every other entrance."""
    me = actor()
    can_keep = me.can(Permission.WORK_OPPORTUNITIES) and me.org_unit_id is not None
    with st.form("leads_new", clear_on_submit=False):
        left, right = st.columns(2)
        name = text_input(t("lead_card.field.name") + " *", container=left)
        phone = text_input(
            t("lead_card.field.phone"), help=t("leads.new.phone_help"), container=right
        )
        channel = left.selectbox(
            t("lead_card.field.channel") + " *",
            [o.code for o in channels],
            format_func=lambda c: labels.get(c, c),
        )
        line_codes = right.multiselect(
            t("leads.new.lines") + " *",
            [line.code for line in lines],
            default=[lines[0].code] if len(lines) == 1 else [],
            format_func=lambda c: next((x.name for x in lines if x.code == c), c),
        )
        campaign = text_input(t("lead_card.field.campaign"), container=left)
        external_id = text_input(t("lead_card.field.external_id"), container=right)
        wechat = text_input(t("lead_card.field.wechat"), container=left)
        city = text_input(t("lead_card.field.city"), container=right)
        keep = (
            st.checkbox(t("leads.new.keep"), value=True, help=t("leads.new.keep_help"))
            if can_keep
            else False
        )
        if not st.form_submit_button(t("leads.new.save"), type="primary"):
            return
    item = LeadInput(
        name=name,
        phone=phone,
        channel=channel,
        business_line_codes=line_codes,
        campaign=campaign,
        external_id=external_id,
        wechat=wechat,
        city=city,
    )
    try:
        with session() as s:
            result = intake_leads(s, me, [item], source="manual", keep_for_self=keep)
    except CrmError as error:
        show_error(error)
        return
    [outcome] = result.outcomes
    if outcome.status == REJECTED:
        st.error(tmd(outcome.reason, **outcome.params))
        return
    for collision in outcome.collisions:
        if collision.hidden:
            # Outside the rep's scope: who has the person, and under which number, is not
            # theirs to know; the owner's manager was told instead.
            st.warning(t("leads.new.collision_colleague"))
            continue
        owner = collision.owner_name or t(f"pool.{collision.pool_state}")
        st.warning(tmd("leads.new.collision", owner=owner))
    if not outcome.collisions:
        # Opened on the next run, before the page draws its "open a lead" box.
        st.session_state["leads_open_next"] = outcome.lead_id
        flash(f"leads.new.{outcome.status}")
        st.rerun()


def export_panel(lead_filter: LeadFilter, sort: str, total_text: str) -> None:
    """Export the current search (within the user's scope), masked as on screen."""
    me = actor()
    fmt = st.radio(
        t("leads.export.format"),
        EXPORT_FORMATS,
        horizontal=True,
        format_func=lambda f: f.upper(),
        key="leads_export_format",
    )
    if st.button(t("leads.export.prepare", count=total_text), key="leads_export_go"):
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
            st.warning(t("export.truncated", rows=exported.rows))
        st.download_button(
            t("leads.export.download", rows=exported.rows),
            exported.data,
            file_name=exported.filename,
            mime=exported.mime,
            key="leads_export_download",
        )


def bulk_tag_panel(lead_filter: LeadFilter, total_text: str) -> None:
    """Add or remove one tag on every lead the search finds, not only the page shown."""
    me = actor()
    with st.form("leads_bulk_tag"):
        tag = text_input(t("leads.bulk.tag"), key="leads_bulk_tag_text")
        sure = st.checkbox(t("leads.bulk.confirm", count=total_text), key="leads_bulk_sure")
        add, remove = st.columns(2)
        do_add = add.form_submit_button(t("leads.bulk.add"))
        do_remove = remove.form_submit_button(t("leads.bulk.remove"))
    if not (do_add or do_remove):
        return
    if not sure:
        st.warning(t("leads.bulk.not_confirmed"))
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
    flash("leads.bulk.added" if do_add else "leads.bulk.removed", count=changed, tag=tag.strip())
    st.rerun()
