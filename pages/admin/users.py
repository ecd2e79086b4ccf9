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
from crm_core.platform.i18n import error_text
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
st.title(t("users.title"))
show_flash()
with session() as s:
    units = unit_tree(s, me)
    roles = {r.code: r for r in grantable_roles(s, me)}
unit_names = {u.id: u.name for u in units}


def unit_label(unit_id: int | None) -> str:
    if unit_id is None:
        return t("users.all_units")
    node = next(u for u in units if u.id == unit_id)
    return " / ".join(unit_names[i] for i in path_ids(node.path) if i in unit_names)


def role_label(code: str) -> str:
    key = f"role.{code}"
    text = t(key)
    return roles[code].name if text == key and code in roles else text


search_col, unit_col, status_col = st.columns([3, 3, 2])
search = search_input(t("users.search"), key="users_search", container=search_col)
unit_filter = unit_col.selectbox(
    t("users.unit"), [None] + [u.id for u in units], format_func=unit_label, key="users_unit"
)
status_filter = status_col.selectbox(
    t("users.status"),
    [None, *USER_STATUSES],
    key="users_status",
    format_func=lambda s: t(f"user_status.{s}") if s else t("users.all_statuses"),
)
page = st.number_input(t("users.page"), min_value=1, value=1, step=1, key="users_page")
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
st.caption(t("users.count", shown=len(rows), total=total))

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
        "username": t("users.username"),
        "employee_no": t("users.employee_no"),
        "full_name": t("users.full_name"),
        "unit": t("users.unit"),
        "roles": t("users.roles"),
        "title": t("users.job_title"),
        "status": st.column_config.SelectboxColumn(t("users.status"), options=list(USER_STATUSES)),
        "enabled": st.column_config.CheckboxColumn(t("users.enabled")),
        "skill_tags": t("users.skill_tags"),
        "dispatch_weight": st.column_config.NumberColumn(t("users.dispatch_weight"), step=1),
        "daily_cap": st.column_config.NumberColumn(t("users.daily_cap"), step=1),
        "holding_cap": st.column_config.NumberColumn(t("users.holding_cap"), step=1),
    },
)
if st.button(t("users.save_table"), key="users_save"):
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
        st.error(t("users.table_refused"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("users.username"): original.loc[
                            original["id"] == changes[e.row - 1]["id"], "username"
                        ].iloc[0],
                        t("users.column"): e.column,
                        t("users.reason"): error_text(e, language()),
                    }
                    for e in errors
                ]
            ),
            hide_index=True,
        )
    else:
        flash("users.table_saved", count=changed)
        st.rerun()

st.divider()
with st.expander(t("users.add"), icon=":material/person_add:"), st.form("users_add"):
    left, right = st.columns(2)
    username = text_input(t("users.username"), container=left)
    employee_no = text_input(t("users.employee_no"), container=right)
    full_name = text_input(t("users.full_name"), container=left)
    unit = right.selectbox(t("users.unit"), [u.id for u in units], format_func=unit_label)
    chosen_roles = left.multiselect(
        t("users.roles"),
        list(roles),
        default=["rep"] if "rep" in roles else [],
        format_func=role_label,
    )
    password = right.text_input(t("users.initial_password"), type="password")
    if st.form_submit_button(t("users.add")):
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
            flash("users.added", username=username.strip().lower())
            st.rerun()

if rows:
    with st.expander(t("users.one_user"), icon=":material/manage_accounts:", expanded=False):
        by_id = {r.id: r for r in rows}
        user_id = st.selectbox(
            t("users.choose"),
            list(by_id),
            format_func=lambda i: f"{by_id[i].full_name} ({by_id[i].username})",
        )
        person = by_id[user_id]
        move_col, roles_col = st.columns(2)
        with move_col.form("users_move"):
            target = st.selectbox(
                t("users.move_to"),
                [u.id for u in units],
                format_func=unit_label,
                index=[u.id for u in units].index(person.unit_id)
                if person.unit_id in unit_names
                else 0,
            )
            if st.form_submit_button(t("users.move")):
                try:
                    with session() as s:
                        update_user(s, me, user_id, org_unit_id=target)
                except CrmError as error:
                    show_error(error)
                else:
                    flash("users.moved")
                    st.rerun()
        with roles_col.form("users_roles"):
            options = sorted(set(roles) | set(person.roles))
            new_roles = st.multiselect(
                t("users.roles"), options, default=person.roles, format_func=role_label
            )
            if st.form_submit_button(t("users.save_roles")):
                try:
                    with session() as s:
                        set_user_roles(s, me, user_id, new_roles)
                except CrmError as error:
                    show_error(error)
                else:
                    flash("users.roles_saved")
                    st.rerun()
        with st.form("users_reset", clear_on_submit=True):
            temporary = st.text_input(t("users.temporary_password"), type="password")
            st.caption(t("users.reset_hint"))
            if st.form_submit_button(t("users.reset_password")):
                try:
                    with session() as s:
                        reset_password(s, me, user_id, temporary)
                except CrmError as error:
                    show_error(error)
                else:
                    flash("users.password_reset", username=person.username)
                    st.rerun()
