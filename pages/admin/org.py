"""Org chart: the unit tree with head counts and open opportunities, and its changes."""

from __future__ import annotations

import streamlit as st

from crm_core.models import path_ids
from crm_core.org.departure import TARGETS, set_unit_departure_target, unit_departure_target
from crm_core.org.units import (
    create_unit,
    move_unit,
    rename_unit,
    set_unit_active,
    set_unit_business_line,
    set_unit_head,
    unit_tree,
)
from crm_core.org.users import list_users
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.platform.metadata import list_business_lines
from crm_core.platform.permissions import Permission
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import show_error, t
from ui.inputs import search_input, text_input
from ui.text import md

me = actor()
st.title(t("Org chart"))
show_flash()
search = search_input(t("Find a unit"), key="org_search", placeholder=t("Part of a unit's name"))
with session() as s:
    tree = unit_tree(s, me, search)
    lines = {line.id: line.name for line in list_business_lines(s)}
by_id = {node.id: node for node in tree}
children = {node.parent_id for node in tree}
top = min((n.depth for n in tree), default=0)
# First view: the actor's top units and one level below are open.
collapsed: set[int] = st.session_state.setdefault(
    "org_collapsed", {n.id for n in tree if n.depth - top >= 1 and n.id in children}
)


def toggle(unit_id: int) -> None:
    collapsed.symmetric_difference_update({unit_id})


def hidden(node) -> bool:
    if search:
        return False
    ancestors = path_ids(node.path)[:-1]
    return any(a in collapsed for a in ancestors)


header = st.columns([6, 3, 2, 2, 2, 2])
for column, key in zip(
    header,
    [
        NC_("org", "Unit"),
        N_("Head"),
        N_("Members"),
        N_("Head count (with sub-units)"),
        N_("Open opportunities"),
        N_("Status"),
    ],
    strict=True,
):
    column.markdown(f"**{t(key)}**")
for node in tree:
    if hidden(node):
        continue
    name_col, head_col, members_col, total_col, open_col, status_col = st.columns(
        [6, 3, 2, 2, 2, 2]
    )
    # Tree guides rather than spaces: Streamlit trims leading whitespace from labels.
    level = node.depth - top
    indent = "" if level == 0 else "│\u3000" * (level - 1) + "└\u3000"
    # Unit and head names are people's text: a button label and markdown are Markdown.
    if node.id in children:
        name_col.button(
            f"{indent}{'▸' if node.id in collapsed else '▾'} {md(node.name)}",
            key=f"org_toggle_{node.id}",
            on_click=toggle,
            args=(node.id,),
            type="tertiary",
        )
    else:
        name_col.markdown(f"{indent}{md(node.name)}")
    head_col.markdown(md(node.head_name) or "—")
    members_col.write(f"{node.members:,}")
    total_col.write(f"{node.head_count:,}")
    open_col.write(f"{node.open_opportunities:,}")
    status_col.write(t(NC_("org", "Active")) if node.active else t("Disabled"))

if not me.can(Permission.MANAGE_ORG) or not tree:
    st.stop()


def label(unit_id: int) -> str:
    node = by_id[unit_id]
    names = [by_id[i].name for i in path_ids(node.path) if i in by_id]
    return " / ".join(names)


def run(action, *args, success: str) -> None:
    try:
        with session() as s:
            action(s, me, *args)
    except CrmError as error:
        show_error(error)
    else:
        flash(success)
        st.rerun()


st.divider()
st.subheader(t("Change a unit"))
chosen = st.selectbox(t(NC_("org", "Unit")), list(by_id), format_func=label, key="org_unit")
node = by_id[chosen]
add_tab, rename_tab, move_tab, head_tab, line_tab, departure_tab, state_tab = st.tabs(
    [
        t("Add a sub-unit"),
        t("Rename"),
        t("Move"),
        t("Set head"),
        t("Business line"),
        t("Departure rule"),
        t("Enable / disable"),
    ]
)
with add_tab, st.form("org_add", clear_on_submit=True):
    name = text_input(t(NC_("org", "Name")))
    if st.form_submit_button(t("Add a sub-unit")):
        run(create_unit, name, chosen, success=N_("Unit added."))
with rename_tab, st.form("org_rename"):
    name = text_input(t(NC_("org", "Name")), value=node.name)
    if st.form_submit_button(t("Rename")):
        run(rename_unit, chosen, name, success=N_("Unit renamed."))
with move_tab, st.form("org_move"):
    targets = [u for u in by_id if not by_id[u].path.startswith(node.path)]
    target = st.selectbox(t("Move under"), targets, format_func=label)
    st.caption(t("The unit moves with everything below it. Revenue already won keeps its team."))
    if st.form_submit_button(t("Move")) and target is not None:
        run(move_unit, chosen, target, success=N_("Unit moved with everything below it."))
with head_tab, st.form("org_head"):
    people = []
    if me.can(Permission.MANAGE_USERS):
        with session() as s:
            people, _ = list_users(s, me, unit_id=chosen, status="active", limit=500)
    options = [None] + [p.id for p in people]
    names = {p.id: f"{p.full_name} ({p.username})" for p in people}
    current = options.index(node.head_user_id) if node.head_user_id in options else 0
    head = st.selectbox(
        t("Head"), options, index=current, format_func=lambda i: names.get(i, t("No head"))
    )
    if st.form_submit_button(t("Set head")):
        run(set_unit_head, chosen, head, success=N_("Head saved."))
with line_tab, st.form("org_line"):
    options = [None] + list(lines)
    current = options.index(node.business_line_id) if node.business_line_id in options else 0
    line = st.selectbox(
        t("Business line"),
        options,
        index=current,
        format_func=lambda i: lines.get(i, t("No business line")),
    )
    if st.form_submit_button(t("Save")):
        run(set_unit_business_line, chosen, line, success=N_("Business line saved."))
with departure_tab, st.form("org_departure"):
    with session() as s:
        own, applying = unit_departure_target(s, me, chosen)
    st.caption(
        t(
            "When someone here leaves, their open opportunities go: {target}.",
            target=t(label_of("departure", applying)),
        )
    )
    options = [None, *TARGETS]
    target = st.selectbox(
        t("Departure rule"),
        options,
        index=options.index(own),
        format_func=lambda v: t(label_of("departure", v)) if v else t("As the unit above"),
    )
    if st.form_submit_button(t("Save")):
        run(set_unit_departure_target, chosen, target, success=N_("Departure rule saved."))
with state_tab:
    if node.active:
        st.caption(t("A unit can be disabled once nobody active works in it or below it."))
        if st.button(t("Disable this unit"), key="org_disable"):
            run(set_unit_active, chosen, False, success=N_("Unit disabled."))
    elif st.button(t("Enable this unit"), key="org_enable"):
        run(set_unit_active, chosen, True, success=N_("Unit enabled."))
