"""Sending an SMS from the console: to one lead (its card) or to the leads of a library search
or of the checked rows. The sender previews count, who is left out and why, segments, cost
and a masked sample; the send queues exactly what the preview showed."""

from __future__ import annotations

import streamlit as st

from crm_core.leads.search import LeadFilter
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NP_, label_of
from crm_core.sms.log import list_messages
from crm_core.sms.recipients import EXCLUSIONS
from crm_core.sms.sending import is_opted_out, opt_in, opt_out, preview_send, send_sms
from crm_core.sms.templates import list_templates
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.feedback import flash
from ui.figures import money
from ui.i18n import nt, show_error, t, tmd

QUEUED = NP_(
    "{n} message queued; the delivery job sends it within a minute.",
    "{n} messages queued; the delivery job sends them within a minute.",
)


def _templates() -> dict[int, str]:
    with session() as s:
        return {
            row.id: row.name
            for row in list_templates(session=s, actor=actor(), states=("approved",))
        }


def send_panel(*, key: str, lead_filter: LeadFilter | None = None, lead_id: int | None = None):
    """Choose an approved template, preview, send. One of `lead_filter`, `lead_id`."""
    me = actor()
    try:
        templates = _templates()
    except CrmError as error:
        show_error(error)
        return
    if not templates:
        st.caption(
            t("No approved SMS template yet: templates are written and approved on the SMS page.")
        )
        return
    template = st.selectbox(
        t("Template"), list(templates), format_func=templates.get, key=f"{key}_template"
    )
    preview_key = f"{key}_preview"
    target = (template, lead_filter, lead_id)
    if st.button(t("Preview the messages"), key=f"{key}_preview_button"):
        try:
            with session() as s:
                preview = preview_send(s, me, template, lead_filter=lead_filter, lead_id=lead_id)
        except CrmError as error:
            show_error(error)
            st.session_state.pop(preview_key, None)
            return
        st.session_state[preview_key] = (target, preview)
    shown = st.session_state.get(preview_key)
    if shown is None or shown[0] != target:
        return  # no preview yet, or one of another template or search
    preview = shown[1]
    st.write(
        nt(
            "{count} of {matched} leads gets a message: {segments} segments, {cost}.",
            "{count} of {matched} leads get a message: {segments} segments, {cost}.",
            preview.sendable,
            count=f"{preview.sendable:,}",
            matched=f"{preview.matched:,}",
            segments=f"{preview.segments:,}",
            cost=money(preview.cost),
        )
    )
    for reason, count in preview.excluded.items():
        st.caption(
            nt(
                "Left out: {count} lead, {reason}.",
                "Left out: {count} leads, {reason}.",
                count,
                count=f"{count:,}",
                reason=t(EXCLUSIONS[reason]),
            )
        )
    if preview.blocked_words:
        st.warning(tmd("Sensitive words found: {words}.", words=", ".join(preview.blocked_words)))
    for phone, text in preview.samples:
        st.text(f"{phone}: {text}")  # st.text: the lead's own words are shown as typed
    if preview.sendable and st.button(
        nt(
            "Send {count} message",
            "Send {count} messages",
            preview.sendable,
            count=f"{preview.sendable:,}",
        ),
        type="primary",
        key=f"{key}_send",
    ):
        try:
            with session() as s:
                result = send_sms(
                    s,
                    me,
                    template,
                    lead_filter=lead_filter,
                    lead_id=lead_id,
                    expected=preview.sendable,
                )
        except CrmError as error:
            show_error(error)
            return
        st.session_state.pop(preview_key, None)
        flash(QUEUED, n=result.queued)
        st.rerun()


def lead_sms(lead_id: int) -> None:
    """A lead card's SMS: the messages sent to the lead, a send, and the opt-out."""
    me = actor()
    try:
        with session() as s:
            messages = list_messages(s, me, lead_id=lead_id, limit=20)
            opted_out = is_opted_out(s, me, lead_id)
    except CrmError as error:
        show_error(error)
        return
    with st.expander(nt("SMS ({count})", "SMS ({count})", len(messages), count=len(messages))):
        for m in messages:
            st.text(f"{show_time(m.created_at)} · {t(label_of('sms.status', m.status))} · {m.body}")
        if opted_out:
            st.caption(t("This lead asked for no more messages."))
            if st.button(t("The lead wants messages again"), key=f"sms_opt_in_{lead_id}"):
                _change(lambda s: opt_in(s, me, lead_id), N_("Opt-out taken back."))
            return
        send_panel(key=f"card_sms_{lead_id}", lead_id=lead_id)
        if st.button(t("The lead wants no more messages"), key=f"sms_opt_out_{lead_id}"):
            _change(lambda s: opt_out(s, me, lead_id), N_("Opt-out recorded."))


def _change(action, done: str) -> None:
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(done)
        st.rerun()
