"""Custom fields (manage_metadata): the fields of leads and of opportunities - add, edit,
disable; their choices and the roles that see them.

Every change goes through `crm_core.custom_fields.definitions`, which checks and audits it.
A disabled field or choice stays on the rows that hold it and in exports; forms and
filters no longer offer it. A field that holds values keeps its kind.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.custom_fields.definitions import (
    ChoiceDraft,
    define_field,
    field_in_use,
    list_fields,
    role_choices,
    update_field,
)
from crm_core.models import FIELD_ENTITIES, FIELD_KINDS
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import show_error, t
from ui.inputs import clean_text

CHOICE_KINDS = ("choice", "multi_choice")
ENTITY_LABELS = {"lead": N_("Leads"), "opportunity": N_("Opportunities")}


def _kind(code: str) -> str:
    return t(label_of("custom_field.kind", code))


def _choices_text(field) -> str:
    """The active choices as the text area shows them: `English | 中文 | code` a line."""
    return "\n".join(
        f"{c['label_en']} | {c['label_zh']} | {c['code']}"
        for c in field.choices or []
        if c.get("active", True)
    )


def _read_choices(text: str) -> list[ChoiceDraft]:
    drafts = []
    for line in clean_text(text).splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        drafts.append(
            ChoiceDraft(
                label_en=parts[0],
                label_zh=parts[1] if len(parts) > 1 else "",
                code=parts[2] if len(parts) > 2 else "",
            )
        )
    return drafts


def _attempt(action, success: str) -> None:
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(success)
        st.rerun()


me = actor()
st.title(t("Custom fields"))
st.caption(
    t(
        "Fields of your own on leads and opportunities. A disabled field or choice stays on the rows that hold it and in exports; it is no longer offered."
    )
)
show_flash()
entity = (
    st.segmented_control(
        t("Fields of"),
        list(FIELD_ENTITIES),
        default="lead",
        format_func=lambda e: t(ENTITY_LABELS[e]),
        key="cf_entity",
    )
    or "lead"
)
with session() as s:
    fields = list_fields(s, entity, active_only=False)
    roles = dict(role_choices(s, me))
    in_use = {f.id: field_in_use(s, f) for f in fields}


def _role_text(code: str) -> str:
    key = label_of("role", code)
    text = t(key)
    return roles.get(code, code) if text == key else text


if fields:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Code"): f.code,
                    t("English label"): f.label_en,
                    t("Chinese label"): f.label_zh,
                    t("Kind"): _kind(f.kind),
                    t("Required"): f.required,
                    t("Seen by"): ", ".join(map(_role_text, f.role_codes or []))
                    or t(NC_("custom_fields.roles", "Everyone")),
                    t("Choices"): ", ".join(
                        c["label_en"] for c in f.choices or [] if c.get("active", True)
                    ),
                    t("Active"): f.active,
                }
                for f in fields
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.info(t("No custom field yet."))

with st.expander(t("Add a field")), st.form("cf_add"):
    label_en = st.text_input(t("English label"), key="cf_add_en")
    label_zh = st.text_input(t("Chinese label"), key="cf_add_zh")
    code = st.text_input(
        t("Code"), key="cf_add_code", help=t("Leave empty to make one from the English label.")
    )
    kind = st.selectbox(t("Kind"), FIELD_KINDS, format_func=_kind, key="cf_add_kind")
    required = st.checkbox(t("Required"), key="cf_add_required")
    seen_by = st.multiselect(
        t("Seen by"),
        list(roles),
        format_func=_role_text,
        key="cf_add_roles",
        help=t("Nobody chosen: everyone who sees the row."),
    )
    choices = st.text_area(
        t("Choices (for the choice kinds)"),
        key="cf_add_choices",
        help=t("One a line: English label | Chinese label | code (the last two may be left out)."),
    )
    if st.form_submit_button(t("Add field")):
        _attempt(
            lambda s: define_field(
                s,
                me,
                entity,
                label_en=clean_text(label_en),
                label_zh=clean_text(label_zh),
                code=clean_text(code),
                kind=kind,
                required=required,
                choices=_read_choices(choices) if kind in CHOICE_KINDS else None,
                role_codes=seen_by,
            ),
            N_("Field added."),
        )

if fields:
    by_id = {f.id: f for f in fields}
    chosen = st.selectbox(
        t("Field to edit"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].label_en}",
        key="cf_edit_field",
    )
    field = by_id[chosen]
    with st.form(f"cf_edit_{field.id}"):
        new_en = st.text_input(t("English label"), value=field.label_en)
        new_zh = st.text_input(t("Chinese label"), value=field.label_zh)
        new_kind = st.selectbox(
            t("Kind"),
            FIELD_KINDS,
            index=FIELD_KINDS.index(field.kind),
            format_func=_kind,
            disabled=in_use[field.id],
            help=t("A field that holds values keeps its kind.") if in_use[field.id] else None,
        )
        new_required = st.checkbox(t("Required"), value=field.required)
        new_roles = st.multiselect(
            t("Seen by"),
            list(roles),
            default=[c for c in field.role_codes or [] if c in roles],
            format_func=_role_text,
            help=t("Nobody chosen: everyone who sees the row."),
        )
        new_choices = st.text_area(
            t("Choices (for the choice kinds)"),
            value=_choices_text(field),
            help=t("A choice left out is disabled: rows keep it, forms no longer offer it."),
        )
        new_active = st.checkbox(t("Active"), value=field.active)
        if st.form_submit_button(t("Save field")):
            _attempt(
                lambda s: update_field(
                    s,
                    me,
                    field.id,
                    label_en=clean_text(new_en),
                    label_zh=clean_text(new_zh),
                    kind=new_kind,
                    required=new_required,
                    choices=_read_choices(new_choices) if new_kind in CHOICE_KINDS else None,
                    role_codes=new_roles,
                    active=new_active,
                ),
                N_("Field saved."),
            )
