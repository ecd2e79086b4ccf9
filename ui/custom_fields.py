"""Custom fields on pages: one filter widget per field for the lead library and the board,
their values on the lead card and the opportunity, and a form that edits them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from crm_core.custom_fields.cells import FieldValue
from crm_core.custom_fields.definitions import active_choices, choice_label, field_label
from crm_core.custom_fields.export import value_text
from crm_core.custom_fields.filters import FieldCondition, condition
from crm_core.custom_fields.values import set_values
from crm_core.models import CustomField
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_
from ui.db import session
from ui.feedback import flash
from ui.i18n import language, show_error, t
from ui.inputs import clean_text
from ui.text import md

YES_NO = (None, True, False)


def _label(field: CustomField) -> str:
    return field_label(field, language())


def _yes_no_text(value: bool | None) -> str:
    if value is None:
        return t(NC_("custom_fields.filter", "Any"))
    return t(N_("Yes")) if value else t(N_("No"))


def filter_inputs(fields: Sequence[CustomField], prefix: str) -> list[FieldCondition]:
    """One widget per field (inside the caller's form), four to a row; the conditions the
    user filled in. A field whose widget is empty sets no condition."""
    conditions: list[FieldCondition] = []
    columns = st.columns(4) if fields else []
    for index, field in enumerate(fields):
        if index and index % 4 == 0:
            columns = st.columns(4)
        box = columns[index % 4]
        key = f"{prefix}_{field.id}"
        label = _label(field)
        if field.kind == "text":
            value = clean_text(box.text_input(label, key=key, help=t("Contains this text.")))
            made = condition(field, "contains", value)
        elif field.kind in ("number", "date"):
            low_box, high_box = box.columns(2)
            if field.kind == "number":
                low = low_box.number_input(label, value=None, key=f"{key}_low")
                high = high_box.number_input(t("up to"), value=None, key=f"{key}_high")
            else:
                low = low_box.date_input(label, value=None, key=f"{key}_low")
                high = high_box.date_input(t("up to"), value=None, key=f"{key}_high")
            made = condition(field, "between", (low, high))
        elif field.kind == "yes_no":
            value = box.selectbox(label, YES_NO, format_func=_yes_no_text, key=key)
            made = condition(field, "is", value)
        else:
            codes = [c["code"] for c in active_choices(field)]
            value = box.multiselect(
                label,
                codes,
                format_func=lambda c, f=field: choice_label(f, c, language()),
                key=key,
                placeholder=t(NC_("custom_fields.filter", "Any")),
            )
            made = condition(field, "any_of", tuple(value))
        if made is not None:
            conditions.append(made)
    return conditions


def show_values(fields: Sequence[CustomField], values: Mapping[str, FieldValue]) -> None:
    """The fields and their values as the card's facts, two columns."""
    if not fields:
        return
    columns = st.columns(2)
    for index, field in enumerate(fields):
        text = value_text(field, values.get(field.code), language())
        columns[index % 2].markdown(f"**{md(_label(field))}:** " + (md(text) if text else "-"))


def _input(field: CustomField, value: FieldValue, key: str):
    label = _label(field) + (" *" if field.required else "")
    if field.kind == "text":
        return st.text_input(label, value=value or "", key=key)
    if field.kind == "number":
        return st.number_input(label, value=value, key=key)
    if field.kind == "date":
        return st.date_input(label, value=value, key=key)
    if field.kind == "yes_no":
        return st.selectbox(
            label, YES_NO, index=YES_NO.index(value), format_func=_blank_yes_no, key=key
        )
    offered = [c["code"] for c in active_choices(field)]
    held = list(value) if isinstance(value, tuple) else ([value] if value else [])
    # A value whose choice was disabled since stays offered on this row.
    codes = offered + [c for c in held if c not in offered]
    labels = {c: choice_label(field, c, language()) for c in codes}
    if field.kind == "multi_choice":
        return st.multiselect(label, codes, default=held, format_func=labels.get, key=key)
    return st.selectbox(
        label,
        [None, *codes],
        index=([None, *codes]).index(held[0] if held else None),
        format_func=lambda c: labels.get(c, "-"),
        key=key,
    )


def _blank_yes_no(value: bool | None) -> str:
    return "-" if value is None else _yes_no_text(value)


def edit_form(
    entity: str,
    row_id: int,
    fields: Sequence[CustomField],
    values: Mapping[str, FieldValue],
    actor,
) -> None:
    """A form that saves the row's custom fields through the core (scope, required fields,
    audit); the outcome shows after the rerun."""
    if not fields:
        return
    with st.form(f"custom_fields_{entity}_{row_id}"):
        chosen = {
            field.code: _input(field, values.get(field.code), f"cf_{entity}_{row_id}_{field.id}")
            for field in fields
        }
        if st.form_submit_button(t("Save fields")):
            try:
                with session() as s:
                    set_values(s, actor, entity, row_id, chosen)
            except CrmError as error:
                show_error(error)
            else:
                flash(N_("Fields saved."))
                st.rerun()
