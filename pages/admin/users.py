"""Users: find, edit in bulk, add, move, give roles, reset passwords."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.models import USER_STATUSES, path_ids
from crm_core.org.roles import grantable_roles
from crm_core.org.units import unit_tree
from crm_core.org.users import (
    bulk_update_users,
    create_user,
    list_users,
    reset_password,
    set_user_roles,
    update_user,
)
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, NP_, error_text, label_of
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import language, show_error, t
from ui.inputs import clean_text, search_input, text_input

PAGE_SIZE = 100
EDITABLE = [
    "full_name",
    "title",
    "status",
    "enabled",
    "skill_tags",
    "dispatch_weight",
    "daily_cap",
    "holding_cap",
]

me = actor()
st.title(t("Users"))
show_flash()
with session() as s:
    units = unit_tree(s, me)
    roles = {r.code: r for r in grantable_roles(s, me)}
unit_names = {u.id: u.name for u in units}


def unit_label(unit_id: int | None) -> str:
    if unit_id is None:
        return t("All units")
    node = next(u for u in units if u.id == unit_id)
    return " / ".join(unit_names[i] for i in path_ids(node.path) if i in unit_names)


def role_label(code: str) -> str:
    key = label_of("role", code)
    text = t(key)
    return roles[code].name if text == key and code in roles else text


search_col, unit_col, status_col = st.columns([3, 3, 2])
search = search_input(
    t("Find by name, username or employee number"), key="users_search", container=search_col
)
unit_filter = unit_col.selectbox(
    t(NC_("users", "Unit")),
    [None] + [u.id for u in units],
    format_func=unit_label,
    key="users_unit",
)
status_filter = status_col.selectbox(
    t("Status"),
    [None, *USER_STATUSES],
    key="users_status",
    format_func=lambda s: t(label_of("user_status", s)) if s else t("All statuses"),
)
page = st.number_input(t("Page"), min_value=1, value=1, step=1, key="users_page")
with session() as s:
    rows, total = list_users(
        s,
        me,
        search=search,
        unit_id=unit_filter,
        status=status_filter,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
st.caption(t("Showing {shown} of {total} users.", shown=len(rows), total=total))

original = pd.DataFrame(
    [
        {
            "id": r.id,
            "username": r.username,
            "employee_no": r.employee_no,
            "full_name": r.full_name,
            "unit": r.unit_name or "",
            "roles": ", ".join(map(role_label, r.roles)),
            "title": r.title or "",
            "status": r.status,
            "enabled": r.enabled,
            "skill_tags": ", ".join(r.skill_tags),
            "dispatch_weight": r.dispatch_weight,
            "daily_cap": r.daily_cap,
            "holding_cap": r.holding_cap,
        }
        for r in rows
    ],
    columns=["id", "username", "employee_no", "unit", "roles", *EDITABLE],
)
edited = st.data_editor(
    original,
    key="users_table",
    hide_index=True,
    width="stretch",
    disabled=["id", "username", "employee_no", "unit", "roles"],
    column_config={
        "id": None,
        "username": t("Username"),
        "employee_no": t("Employee number"),
        "full_name": t("Name"),
        "unit": t(NC_("users", "Unit")),
        "roles": t("Roles"),
        "title": t("Title"),
        "status": st.column_config.SelectboxColumn(
            t("Status"),
            options=list(USER_STATUSES),
            format_func=lambda s: t(label_of("user_status", s)),
        ),
        "enabled": st.column_config.CheckboxColumn(t("Enabled")),
        "skill_tags": t("Skill tags"),
        "dispatch_weight": st.column_config.NumberColumn(t("Dispatch weight"), step=1),
        "daily_cap": st.column_config.NumberColumn(t("Daily new cap"), step=1),
        "holding_cap": st.column_config.NumberColumn(t("Holding cap"), step=1),
    },
)
if st.button(t("Save table changes"), key="users_save"):
    changes = []
    for (_, before), (_, after) in zip(original.iterrows(), edited.iterrows(), strict=True):
        # Typed into the table's cells: texts without NUL characters, as every input.
        diff = {
            c: clean_text(after[c]) if isinstance(after[c], str) else after[c]
            for c in EDITABLE
            if str(after[c]) != str(before[c])
        }
        if diff:
            changes.append({"id": int(before["id"]), **diff})
    with session() as s:
        changed, errors = bulk_update_users(s, me, changes)
    if errors:
        st.error(t("Nothing was saved: fix these rows first."))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Username"): original.loc[
                            original["id"] == changes[e.row - 1]["id"], "username"
                        ].iloc[0],
                        t("Column"): e.column,
                        t("Reason"): error_text(e, language()),
                    }
                    for e in errors
                ]
            ),
            hide_index=True,
        )
    else:
        flash(NP_("{n} user saved.", "{n} users saved."), n=changed)
        st.rerun()

st.divider()
with st.expander(t("Add a user"), icon=":material/person_add:"), st.form("users_add"):
    left, right = st.columns(2)
    username = text_input(t("Username"), container=left)
    employee_no = text_input(t("Employee number"), container=right)
    full_name = text_input(t("Name"), container=left)
    unit = right.selectbox(t(NC_("users", "Unit")), [u.id for u in units], format_func=unit_label)
    chosen_roles = left.multiselect(
        t("Roles"),
        list(roles),
        default=["rep"] if "rep" in roles else [],
        format_func=role_label,
    )
    password = right.text_input(t("Initial password (changed at first sign-in)"), type="password")
    if st.form_submit_button(t("Add a user")):
        try:
            with session() as s:
                create_user(
                    s,
                    me,
                    username=username,
                    full_name=full_name,
                    employee_no=employee_no,
                    password=password,
                    org_unit_id=unit,
                    role_codes=chosen_roles,
                    must_change_password=True,
                )
        except CrmError as error:
            show_error(error)
        else:
            flash(N_("User {username} added."), username=username.strip().lower())
            st.rerun()

if rows:
    with st.expander(t("Move, roles, password"), icon=":material/manage_accounts:", expanded=False):
        by_id = {r.id: r for r in rows}
        user_id = st.selectbox(
            t("User"),
            list(by_id),
            format_func=lambda i: f"{by_id[i].full_name} ({by_id[i].username})",
        )
        person = by_id[user_id]
        move_col, roles_col = st.columns(2)
        with move_col.form("users_move"):
            target = st.selectbox(
                t("Move to unit"),
                [u.id for u in units],
                format_func=unit_label,
                index=[u.id for u in units].index(person.unit_id)
                if person.unit_id in unit_names
                else 0,
            )
            if st.form_submit_button(t(NC_("users", "Move"))):
                try:
                    with session() as s:
                        update_user(s, me, user_id, org_unit_id=target)
                except CrmError as error:
                    show_error(error)
                else:
                    flash(N_("User moved."))
                    st.rerun()
        with roles_col.form("users_roles"):
            options = sorted(set(roles) | set(person.roles))
            new_roles = st.multiselect(
                t("Roles"), options, default=person.roles, format_func=role_label
            )
            if st.form_submit_button(t("Save roles")):
                try:
                    with session() as s:
                        set_user_roles(s, me, user_id, new_roles)
                except CrmError as error:
                    show_error(error)
                else:
                    flash(N_("Roles saved; they apply at the user's next action."))
                    st.rerun()
        with st.form("users_reset", clear_on_submit=True):
            temporary = st.text_input(t("Temporary password"), type="password")
            st.caption(
                t("The user must choose a new password at next sign-in; their sessions end now.")
            )
            if st.form_submit_button(t("Reset password")):
                try:
                    with session() as s:
                        reset_password(s, me, user_id, temporary)
                except CrmError as error:
                    show_error(error)
                else:
                    flash(N_("Password of {username} reset."), username=person.username)
                    st.rerun()
