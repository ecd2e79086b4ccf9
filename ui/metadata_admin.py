"""The tabs of the metadata page (元数据): one option list or the business lines each, with
a table of the entries, an add form, an edit form and a disable / enable button.

Every change goes through `crm_core.platform.metadata`, which checks `manage_metadata` and
audits it; a refusal shows under the form, a success after the page starts over (so every
dropdown of the page run that follows reads the changed list).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from sqlmodel import Session

from crm_core.models import BusinessLine, MetadataOption
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.metadata import (
    CHANNEL_GROUPS,
    create_business_line,
    create_option,
    list_business_lines,
    list_options,
    update_business_line,
    update_option,
)
from crm_core.platform.option_values import business_line_usage, usage_counts
from ui.context import actor
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t, tmd
from ui.inputs import text_input

# What each list's usage count counts (lists without one show no column).
USED_BY = {
    "channel": N_("Leads"),
    "campaign": N_("Leads"),
    "tag": N_("Leads"),
    "intention_level": N_("Opportunities"),
    "lost_reason": N_("Opportunities"),
    "stage": N_("Opportunities"),
}


@st.cache_data(ttl=300, show_spinner=False)
def _usage(category: str) -> dict:
    """How many rows use each entry (or business line): a whole-table GROUP BY (about 0.8 s
    at 1,000,000 opportunities), so it is kept for five minutes per server process."""
    with session() as s:
        return business_line_usage(s) if category == "business_line" else usage_counts(s, category)


COUNTED = N_("How many rows use each entry is counted again at most every five minutes.")


def _gen(key: str) -> int:
    return st.session_state.get(f"meta_gen_{key}", 0)


def _attempt(key: str, action: Callable[[Session], Any], success: str, **params: Any) -> None:
    """Run `action` in one transaction; show a refusal here, a success after the rerun."""
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
        return
    st.session_state[f"meta_gen_{key}"] = _gen(key) + 1  # fresh, empty forms
    flash(success, **params)
    st.rerun()


def _enabled(active: bool) -> str:
    return t("Yes") if active else t("No")


def _group_text(group: str | None) -> str:
    return t(label_of("channel_group", group)) if group else ""


def _group_words() -> dict[str, str]:
    # Worded once per run: the selectbox keeps these strings, not a call into the language.
    return {group: _group_text(group) for group in CHANNEL_GROUPS}


def option_tab(category: str) -> None:
    """The table, add form, edit form and toggle of one option list."""
    with session() as s:
        options = list_options(s, category, active_only=False)
    counts = _usage(category) if category in USED_BY else {}
    channel = category == "channel"
    if options:
        rows = []
        for o in options:
            row = {
                t("Code"): o.code,
                t("English label"): o.label_en,
                t("Chinese label"): o.label_zh,
            }
            if channel:
                row[t("Group")] = _group_text(o.option_group)
            row[t("Order")] = o.sort_order
            row[t("Enabled")] = _enabled(o.active)
            if category in USED_BY:
                row[t(USED_BY[category])] = counts.get(o.code, 0)
            rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"meta_{category}")
        if category in USED_BY:
            st.caption(t(COUNTED))
    else:
        st.caption(t("This list has no entries yet."))
    gen = _gen(category)
    if category == "stage":
        st.caption(t("Stages are fixed steps of the sales process: only their labels change."))
    else:
        _add_option(category, gen, channel)
    if options:
        _edit_option(category, gen, channel, {o.id: o for o in options})


def _add_option(category: str, gen: int, channel: bool) -> None:
    me = actor()
    st.markdown(f"**{t('Add an entry')}**")
    with st.form(f"meta_add_{category}_{gen}"):
        left, middle, right = st.columns(3)
        label_en = text_input(
            t("English label"), key=f"meta_add_en_{category}_{gen}", container=left
        )
        label_zh = text_input(
            t("Chinese label"), key=f"meta_add_zh_{category}_{gen}", container=middle
        )
        code = text_input(
            t("Code"),
            key=f"meta_add_code_{category}_{gen}",
            container=right,
            help=t("Optional: made from the English label when left empty. It never changes."),
        )
        group = (
            st.selectbox(
                t("Group"),
                CHANNEL_GROUPS,
                format_func=_group_words().get,
                key=f"meta_add_group_{category}_{gen}",
            )
            if channel
            else None
        )
        submitted = st.form_submit_button(t("Add"))
    if submitted:
        _attempt(
            category,
            lambda s: create_option(
                s, me, category, label_en=label_en, label_zh=label_zh, code=code, group=group
            ),
            N_("{label} added."),
            label=label_en.strip(),
        )


def _edit_option(category: str, gen: int, channel: bool, by_id: dict[int, MetadataOption]) -> None:
    me = actor()
    st.markdown(f"**{t('Change an entry')}**")
    chosen_id = st.selectbox(
        t("Entry"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].label_en} · {by_id[i].label_zh}",
        key=f"meta_pick_{category}",
    )
    chosen = by_id[chosen_id]
    form = f"meta_edit_{category}_{chosen_id}_{gen}"
    with st.form(form):
        left, middle, right = st.columns(3)
        label_en = text_input(
            t("English label"), value=chosen.label_en, container=left, key=f"{form}_en"
        )
        label_zh = text_input(
            t("Chinese label"), value=chosen.label_zh, container=middle, key=f"{form}_zh"
        )
        order = right.number_input(t("Order"), value=chosen.sort_order, step=1)
        group = None
        if channel:
            groups = list(CHANNEL_GROUPS)
            group = st.selectbox(
                t("Group"),
                groups,
                index=groups.index(chosen.option_group) if chosen.option_group in groups else 0,
                format_func=_group_words().get,
            )
        saved = st.form_submit_button(t("Save"))
    if saved:
        _attempt(
            category,
            lambda s: update_option(
                s,
                me,
                chosen_id,
                label_en=label_en,
                label_zh=label_zh,
                group=group,
                sort_order=int(order),
            ),
            N_("{label} saved."),
            label=label_en.strip(),
        )
    if category == "stage":
        return
    if chosen.active:
        st.caption(
            t(
                "Disabling keeps the entry on every row that has it and in the reports; no form offers it any more."
            )
        )
    toggle = N_("Disable") if chosen.active else N_("Enable")
    if st.button(t(toggle), key=f"meta_toggle_{category}_{chosen_id}"):
        _attempt(
            category,
            lambda s: update_option(s, me, chosen_id, active=not chosen.active),
            N_("{label} disabled.") if chosen.active else N_("{label} enabled."),
            label=chosen.label_en,
        )


def business_line_tab() -> None:
    """The business lines: table, add, rename, disable / enable."""
    me = actor()
    with session() as s:
        lines = list_business_lines(s, active_only=False)
    counts = _usage("business_line")
    if lines:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Code"): line.code,
                        t(NC_("metadata", "Name")): line.name,
                        t("Enabled"): _enabled(line.active),
                        t("Opportunities"): counts.get(line.id, 0),
                    }
                    for line in lines
                ]
            ),
            hide_index=True,
            width="stretch",
            key="meta_lines",
        )
        st.caption(t(COUNTED))
    else:
        st.caption(t("There is no business line yet."))
    gen = _gen("line")
    st.markdown(f"**{t('Add a business line')}**")
    with st.form(f"meta_add_line_{gen}"):
        left, right = st.columns(2)
        name = text_input(t(NC_("metadata", "Name")), key=f"meta_line_name_{gen}", container=left)
        code = text_input(
            t("Code"),
            key=f"meta_line_code_{gen}",
            container=right,
            help=t("Optional: made from the name when left empty. It never changes."),
        )
        submitted = st.form_submit_button(t("Add"))
    if submitted:
        _attempt(
            "line",
            lambda s: create_business_line(s, me, name=name, code=code),
            N_("{label} added."),
            label=name.strip(),
        )
    if lines:
        _edit_line(gen, {line.id: line for line in lines})


def _edit_line(gen: int, by_id: dict[int, BusinessLine]) -> None:
    me = actor()
    st.markdown(f"**{t('Change a business line')}**")
    chosen_id = st.selectbox(
        t("Business line"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].name}",
        key="meta_pick_line",
    )
    chosen = by_id[chosen_id]
    form = f"meta_edit_line_{chosen_id}_{gen}"
    with st.form(form):
        name = text_input(t(NC_("metadata", "Name")), value=chosen.name, key=f"{form}_name")
        saved = st.form_submit_button(t("Save"))
    if saved:
        _attempt(
            "line",
            lambda s: update_business_line(s, me, chosen_id, name=name),
            N_("{label} saved."),
            label=name.strip(),
        )
    if chosen.active:
        st.caption(
            t(
                "A disabled business line keeps its teams, rules and history; it is no longer offered for new leads."
            )
        )
    toggle = N_("Disable") if chosen.active else N_("Enable")
    if st.button(t(toggle), key=f"meta_toggle_line_{chosen_id}"):
        _attempt(
            "line",
            lambda s: update_business_line(s, me, chosen_id, active=not chosen.active),
            N_("{label} disabled.") if chosen.active else N_("{label} enabled."),
            label=chosen.name,
        )


def intro(category: str) -> None:
    """A line on what the list is for."""
    st.caption(tmd(label_of("metadata.intro", category)))
