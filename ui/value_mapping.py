"""Value mapping on an import page: after the column mapping, for each mapped option column,
a table of its distinct values (with row counts and the match found) and a choice per value:
an option of the list, "leave as bad rows", or - for metadata managers - "create as a new
option" (made on a button before the import, so the preview shows what the run will do).

The core work is `crm_core.imports.value_mapping`; this helper only draws and collects the
choices. Choices are kept per file in the session (widget keys name the file), so changing
one re-checks the file with it. Values are paged 25 at a time to stay usable at ~200.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from crm_core.imports.value_mapping import (
    BY_MEMORY,
    BY_OPTION,
    FIELD_PREFIX,
    LEAVE,
    Choice,
    ResolvedValue,
    choices,
    create_options_for,
)
from crm_core.platform.errors import CrmError
from crm_core.platform.metadata import CHANNEL_GROUPS
from crm_core.platform.permissions import Permission
from ui.db import session
from ui.i18n import language, show_error, t

_PAGE = 25
_CREATE = "\x00create"  # the selectbox entry that asks for a new option


def _label(choice: Choice) -> str:
    label = choice.label_en if language() == "en" else choice.label_zh
    return label if choice.active else t("{label} (disabled)", label=label)


def _group_label(group: str) -> str:
    return {
        "paid": t("Paid"),
        "organic": t("Organic"),
        "referral": t("Referral"),
        "offline": t("Offline"),
        "other": t("Other"),
    }.get(group, group)


def _how(value: ResolvedValue) -> str:
    if value.code is None:
        return t("No match")
    if value.how == BY_OPTION:
        return t("Reads as the option")
    if value.how == BY_MEMORY:
        return t("Remembered from an earlier file")
    return t("Chosen")


def value_mapping(
    actor,
    field: str,
    category: str,
    values: Sequence[ResolvedValue],
    *,
    title: str,
    key: str,
    on_created: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Draw one column's values and return the user's explicit choices (folded value ->
    option code, or LEAVE). A metadata manager's "create" choices get a button that makes
    the options at once (committed), after which the values read as them."""
    if not values:
        return {}
    with session() as s:
        options = choices(s, category, active_only=False)
    by_code = {c.code: c for c in options}
    # Stages are fixed and a custom field's choices are edited with the field.
    may_create = (
        actor.can(Permission.MANAGE_METADATA)
        and category != "stage"
        and not category.startswith(FIELD_PREFIX)
    )
    entries = [LEAVE, *by_code, *([_CREATE] if may_create else [])]

    def fmt(entry: str) -> str:
        if entry == LEAVE:
            return t("- leave as bad rows -")
        if entry == _CREATE:
            return t("+ create as a new option")
        return _label(by_code[entry])

    unmapped = sum(v.rows for v in values if v.code is None)
    header = t(
        "{title}: {values} values, {rows} rows without an option",
        title=title,
        values=len(values),
        rows=unmapped,
    )
    explicit: dict[str, str] = {}
    to_create: list[str] = []
    with st.expander(header, expanded=unmapped > 0):
        pages = max(1, -(-len(values) // _PAGE))
        page = 0
        if pages > 1:
            page = (
                st.number_input(t("Page"), min_value=1, max_value=pages, value=1, key=f"{key}_page")
                - 1
            )
        shown = values[page * _PAGE : (page + 1) * _PAGE]
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Value in the file"): v.value,
                        t("Rows"): v.rows,
                        t("Match"): _how(v),
                        t("Option"): _label(by_code[v.code]) if v.code in by_code else "",
                    }
                    for v in shown
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        grid = st.columns(3)
        for position, value in enumerate(shown):
            current = value.code if value.code in by_code else LEAVE
            with grid[position % 3]:
                chosen = st.selectbox(
                    t("{value} ({rows} rows)", value=value.value, rows=value.rows),
                    entries,
                    index=entries.index(current),
                    format_func=fmt,
                    key=f"{key}_{value.key}",
                )
            if chosen == _CREATE:
                to_create.append(value.value)
            elif chosen != current or value.how not in (None, BY_OPTION):
                explicit[value.key] = chosen
        # Choices made on other pages of values stay in the session.
        for value in values:
            remembered = st.session_state.get(f"{key}_{value.key}")
            if value not in shown and remembered not in (None, _CREATE):
                explicit.setdefault(value.key, remembered)
        if to_create:
            group = None
            if category == "channel":
                group = st.selectbox(
                    t("Channel group of the new options"),
                    CHANNEL_GROUPS,
                    format_func=_group_label,
                    key=f"{key}_group",
                )
            if st.button(t("Create {count} options", count=len(to_create)), key=f"{key}_create"):
                try:
                    with session() as s:
                        create_options_for(s, actor, category, to_create, group=group)
                        s.commit()
                except CrmError as error:
                    show_error(error)
                else:
                    for value in values:
                        st.session_state.pop(f"{key}_{value.key}", None)
                    if on_created is not None:
                        on_created()
                    st.rerun()
    return explicit
