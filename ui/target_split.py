"""The targets page's "set and split" part: a unit's targets of a month, one input per
metric for the unit itself and for each of its parts (child units, people sitting in it),
and what is left to split. Only the subjects the reader may set are editable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import streamlit as st

from crm_core.models import TARGET_METRICS
from crm_core.platform.errors import CrmError
from crm_core.sales.targets import Split, TargetEntry, set_targets, split_of
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.targets import metric_label, month_text, value_text

NOTICE = "targets_split_notice"


def _input(container, metric: str, current: Decimal | None, key: str, disabled: bool):
    """A number input for one target (blank: none set)."""
    if metric == "revenue":
        return container.number_input(
            metric_label(metric),
            min_value=0.0,
            step=1000.0,
            value=None if current is None else float(current),
            key=key,
            disabled=disabled,
        )
    return container.number_input(
        metric_label(metric),
        min_value=0,
        step=1,
        value=None if current is None else int(current),
        key=key,
        disabled=disabled,
    )


def _as_value(metric: str, value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(float(value), 2))) if metric == "revenue" else Decimal(int(value))


def show_remainder(split: Split) -> None:
    """The unit's targets and what is left to split, per metric; a split over the target
    is shown (negative), never refused."""
    columns = st.columns(len(TARGET_METRICS))
    over = []
    for column, metric in zip(columns, TARGET_METRICS, strict=True):
        left = split.remainder[metric]
        column.metric(
            metric_label(metric),
            value_text(metric, split.targets[metric]),
            help=t("The unit's target for the month."),
        )
        if left is None:
            column.caption(t("No target to split."))
        else:
            column.caption(t("Left to split: {value}", value=value_text(metric, left)))
            if left < 0:
                over.append(metric_label(metric))
    if over:
        st.warning(
            t(
                "The parts add up to more than the unit's target for: {metrics}.",
                metrics=", ".join(over),
            )
        )


def split_editor(unit_id: int, unit_name: str, month: date, settable: set[tuple[str, int]]):
    """The form: the unit's own targets, then each part's; saving stores what changed."""
    me = actor()
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.success(notice)
    try:
        with session() as s:
            split = split_of(s, me, unit_id, month)
    except CrmError as error:
        show_error(error)
        return
    st.markdown(t("**{unit}**, {month}", unit=unit_name, month=month_text(month)))
    show_remainder(split)
    subjects = [("unit", unit_id, unit_name, split.targets)]
    subjects += [(p.kind, p.key, p.name, p.values) for p in split.parts]
    with st.form(key=f"targets_split_{unit_id}_{month.isoformat()}"):
        chosen = {}
        for kind, key, name, values in subjects:
            label = name if (kind, key) != ("unit", unit_id) else t("{unit} (the unit)", unit=name)
            st.markdown(f"**{label}**" if kind == "unit" else label)
            columns = st.columns(len(TARGET_METRICS))
            for column, metric in zip(columns, TARGET_METRICS, strict=True):
                widget = f"tgt_{kind}_{key}_{metric}_{month.isoformat()}"
                disabled = (kind, key) not in settable
                chosen[(kind, key, metric)] = (
                    _input(column, metric, values[metric], widget, disabled),
                    values[metric],
                    disabled,
                )
        note = st.text_input(t("Why (kept with the change)"), max_chars=400, key="targets_note")
        saved = st.form_submit_button(t("Save targets"))
    if not saved:
        return
    entries = []
    for (kind, key, metric), (value, current, disabled) in chosen.items():
        value = _as_value(metric, value)
        if disabled or value is None or value == current:
            continue
        entries.append(
            TargetEntry(
                month,
                metric,
                value,
                unit_id=key if kind == "unit" else None,
                user_id=key if kind == "user" else None,
                note=note or None,
            )
        )
    if not entries:
        st.info(t("Nothing changed."))
        return
    try:
        with session() as s:
            outcome = set_targets(s, me, entries)
    except CrmError as error:
        show_error(error)
        return
    st.session_state[NOTICE] = t(
        "Saved: {created} new, {updated} changed.",
        created=outcome.created,
        updated=outcome.updated,
    )
    st.rerun()
