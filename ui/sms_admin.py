"""The SMS page's management tabs: templates and their approval, the sensitive-word list,
and the provider with the sending settings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.models import TEMPLATE_PURPOSES
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting, set_setting
from crm_core.sms.provider_config import KINDS, provider_config, save_provider_config
from crm_core.sms.templates import (
    approve_template,
    create_template,
    list_templates,
    reject_template,
    retire_template,
    submit_template,
    update_template,
)
from crm_core.sms.texts import VARIABLES
from crm_core.sms.words import add_words, list_words, remove_word
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t
from ui.provider_form import provider_form

SMS_SETTINGS = (
    "sms.signature",
    "sms.price_per_segment",
    "sms.per_minute",
    "sms.per_lead_per_day",
    "sms.max_per_send",
    "sms.reminder_hour",
)


def _act(action, done: str, **params) -> None:
    """Run one core change in its own transaction; a refusal shows its reason."""
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(done, **params)
        st.rerun()


def _template_form(me, row=None) -> None:
    key = f"sms_tpl_{row.id if row else 'new'}"
    with st.form(key):
        name = st.text_input(t("Name"), value=row.name if row else "", key=f"{key}_name")
        purposes = list(TEMPLATE_PURPOSES)
        purpose = st.selectbox(
            t("Purpose"),
            purposes,
            index=purposes.index(row.purpose) if row else 0,
            format_func=lambda p: t(label_of("sms.purpose", p)),
            key=f"{key}_purpose",
        )
        body = st.text_area(t("Text"), value=row.body if row else "", key=f"{key}_body")
        st.caption(
            t(
                "Variables: {variables}.",
                variables="; ".join(
                    f"{{{name}}} {t(meaning)}" for name, meaning in VARIABLES.items()
                ),
            )
        )
        saved = st.form_submit_button(t("Save the template"))
    if saved:
        if row is None:
            _act(
                lambda s: create_template(s, me, name=name, body=body, purpose=purpose),
                N_("Template saved as a draft."),
            )
        else:
            _act(
                lambda s: update_template(s, me, row.id, name=name, body=body, purpose=purpose),
                N_("Template saved as a draft."),
            )


def templates_tab() -> None:
    """Templates: write and submit (managers), approve or reject (approvers), retire."""
    me = actor()
    try:
        with session() as s:
            rows = list_templates(s, me)
    except CrmError as error:
        show_error(error)
        return
    if rows:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Name"): r.name,
                        t("Purpose"): t(label_of("sms.purpose", r.purpose)),
                        t("State"): t(label_of("sms.state", r.state)),
                        t("Text"): r.body,
                        t("Written by"): r.created_by or "",
                        t("Reviewed"): show_time(r.reviewed_at),
                        t("Review note"): r.review_note or "",
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("No SMS template yet."))
    manager = me.can(Permission.MANAGE_SMS)
    if manager:
        with st.expander(t("New template")):
            _template_form(me)
    if not rows:
        return
    names = {r.id: r.name for r in rows}
    chosen = st.selectbox(t("Template"), list(names), format_func=names.get, key="sms_tpl_pick")
    row = next(r for r in rows if r.id == chosen)
    st.caption(t("State: {state}", state=t(label_of("sms.state", row.state))))
    cols = st.columns(4)
    if (
        manager
        and row.state in ("draft", "rejected")
        and cols[0].button(t("Submit for approval"), key="sms_tpl_submit")
    ):
        _act(lambda s: submit_template(s, me, row.id), N_("Template submitted for approval."))
    if me.can(Permission.APPROVE_SMS) and row.state == "pending":
        if cols[1].button(t("Approve"), key="sms_tpl_approve", type="primary"):
            _act(lambda s: approve_template(s, me, row.id), N_("Template approved."))
        note = st.text_input(t("Why it is rejected"), key="sms_tpl_note")
        if cols[2].button(t("Reject"), key="sms_tpl_reject"):
            _act(lambda s: reject_template(s, me, row.id, note), N_("Template rejected."))
    if manager and row.state == "approved" and cols[3].button(t("Retire"), key="sms_tpl_retire"):
        _act(lambda s: retire_template(s, me, row.id), N_("Template retired."))
    if manager and row.state in ("draft", "rejected", "approved"):
        with st.expander(t("Edit this template")):
            _template_form(me, row)


def words_tab() -> None:
    """The sensitive-word list: shared by SMS and quality inspection."""
    me = actor()
    try:
        with session() as s:
            words = list_words(s, me)
    except CrmError as error:
        show_error(error)
        return
    st.caption(
        t(
            "A sensitive word blocks an SMS that holds it and flags notes and call summaries for quality inspection."
        )
    )
    if words:
        st.dataframe(
            pd.DataFrame([{t("Word"): w.word, t("Added"): show_time(w.created_at)} for w in words]),
            hide_index=True,
            width="stretch",
        )
    if not me.can(Permission.MANAGE_SMS):
        return
    with st.form("sms_words_add"):
        text = st.text_area(t("Words to add (one a line, or separated by commas)"))
        if st.form_submit_button(t("Add the words")):
            _act(lambda s: add_words(s, me, text), N_("Words added."))
    if words:
        ids = {w.id: w.word for w in words}
        gone = st.selectbox(t("Word"), list(ids), format_func=ids.get, key="sms_word_pick")
        if st.button(t("Remove the word"), key="sms_word_remove"):
            _act(lambda s: remove_word(s, me, gone), N_("Word removed."))


def settings_tab() -> None:
    """The provider (secret write-only) and the sending settings (administrators)."""
    me = actor()
    try:
        with session() as s:
            config = provider_config(s, me)
            current = {
                key: get_setting(s, key) for key in (*SMS_SETTINGS, "sms.reminder_template_id")
            }
            approved = {r.id: r.name for r in list_templates(s, me, states=("approved",))}
    except CrmError as error:
        show_error(error)
        return
    provider_form(
        "sms_provider",
        config,
        KINDS,
        "sms.provider",
        lambda s, **settings: save_provider_config(s, me, **settings),
    )
    with st.form("sms_settings"):
        st.subheader(t("Sending"))
        values = {
            "sms.signature": st.text_input(
                t(label_of("settings", "sms.signature")), value=current["sms.signature"]
            )
        }
        for key in SMS_SETTINGS[1:]:
            kind_of = float if key == "sms.price_per_segment" else int
            values[key] = st.number_input(
                t(label_of("settings", key)), value=kind_of(current[key]), key=f"sms_{key}"
            )
        options = [0, *approved]
        chosen = current["sms.reminder_template_id"]
        values["sms.reminder_template_id"] = st.selectbox(
            t(label_of("settings", "sms.reminder_template_id")),
            options,
            index=options.index(chosen) if chosen in options else 0,
            format_func=lambda i: approved.get(i, t("No reminders")),
        )
        if st.form_submit_button(t("Save the settings")):

            def save(s):
                for key, value in values.items():
                    if value != current.get(key):
                        set_setting(s, me, key, value)

            _act(save, N_("Settings saved."))
