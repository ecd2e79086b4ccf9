"""Roles (admins): the permission matrix, each role's data scope, new roles, deletion.

Every change goes through `crm_core.org.roles`, which refuses what the editor may not grant.
Submissions are handled in the script body, after app.py has checked the session and rebuilt
the actor; a success starts the page over so every part shows the new state. Changes take
effect on each holder's next page action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from crm_core.models import path_ids
from crm_core.org.roles import RoleRow, delete_role, list_roles, save_role
from crm_core.org.units import unit_tree
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, label_of
from crm_core.platform.permissions import DataScope, Permission
from ui.context import actor
from ui.db import session
from ui.i18n import error_markdown, nt, show_error, t, tmd
from ui.inputs import text_input

NOTICES = "roles_notices"
SCOPES = [str(s) for s in DataScope]
PERMISSIONS = [str(p) for p in Permission]

me = actor()
st.title(t("Roles and permissions"))
st.caption(t("Changes take effect on each holder's next page action."))
for kind, text in st.session_state.pop(NOTICES, []):
    {"error": st.error, "info": st.info}.get(kind, st.success)(text)

with session() as s:
    roles = list_roles(s, me)
    units = unit_tree(s, me)
names = {u.id: u.name for u in units}
by_id = {r.id: r for r in roles}
unit_labels = {u.id: " / ".join(names[i] for i in path_ids(u.path) if i in names) for u in units}


def role_fields(role: RoleRow) -> dict[str, Any]:
    """`save_role` arguments that keep `role` as it is."""
    return {
        "code": role.code,
        "name": role.name,
        "permissions": role.permissions,
        "data_scope": role.data_scope,
        "scope_unit_ids": role.scope_unit_ids,
        "role_id": role.id,
        "max_discount_pct": role.max_discount_pct,
    }


def role_label(role: RoleRow) -> str:
    return t(label_of("role", role.code)) if role.builtin else role.name


def permission_label(name: str) -> str:
    return t(label_of("permission", name))


def scope_select(key: str, current: str = DataScope.SELF) -> str:
    return st.selectbox(
        t("Data scope"),
        SCOPES,
        index=SCOPES.index(current),
        key=key,
        format_func=lambda v: t(label_of("scope", v)),
    )


def discount_input(key: str, current: int = 0) -> int:
    return int(
        st.number_input(
            t("Largest discount without approval (%)"),
            min_value=0,
            max_value=100,
            step=1,
            value=current,
            key=key,
            help=t(
                "Orders of the role's holders with a larger discount wait for a manager's approval. You cannot set more than your own limit."
            ),
        )
    )


def unit_select(key: str, default: list[int] | None = None, **kwargs: Any) -> list[int]:
    default = [u for u in default or [] if u in unit_labels]  # units outside the scope drop
    return st.multiselect(
        t("Units (custom scope)"),
        list(unit_labels),
        default=default,
        key=key,
        format_func=unit_labels.get,
        **kwargs,
    )


def notice(kind: str, text: str) -> None:
    """Show `text` (Markdown: built with `tmd`, names escaped) after the page starts over."""
    st.session_state.setdefault(NOTICES, []).append((kind, text))


def generation(name: str) -> int:
    """A counter in widget keys: raising it gives a form fresh, empty widgets."""
    return st.session_state.setdefault(f"roles_gen_{name}", 0)


def run(action: Callable[[Any], object]) -> CrmError | None:
    """Run `action(session)` in its own transaction; the core's refusal, if any."""
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        return error
    return None


def attempt(action: Callable[[Any], object], success: str, reset: str | None = None) -> None:
    """A refusal shows here; a success shows after the page starts over with the new state."""
    error = run(action)
    if error is not None:
        show_error(error)
        return
    notice("success", success)
    if reset:
        st.session_state[f"roles_gen_{reset}"] = generation(reset) + 1
    st.rerun()


def role_select(label: str, key: str) -> RoleRow:
    if st.session_state.get(key) not in by_id:  # e.g. the role was just deleted
        st.session_state.pop(key, None)
    options = list(by_id)
    return by_id[st.selectbox(label, options, format_func=lambda i: role_label(by_id[i]), key=key)]


# The permission matrix: one row per permission, one checkbox column per role.
st.subheader(t("Permission matrix"))
matrix = pd.DataFrame(
    {f"r{r.id}": [p in r.permissions for p in PERMISSIONS] for r in roles},
    index=[permission_label(p) for p in PERMISSIONS],
)
edited = st.data_editor(
    matrix,
    key=f"roles_matrix_{generation('matrix')}",
    on_change="ignore",  # ticks wait in the browser until the matrix is saved
    num_rows="fixed",
    height=35 * (len(PERMISSIONS) + 1) + 3,  # every permission without scrolling
    column_config={"_index": st.column_config.TextColumn(t("Permission"))}
    | {f"r{r.id}": st.column_config.CheckboxColumn(role_label(r)) for r in roles},
)
if st.button(t("Save matrix"), key="roles_save_matrix", type="primary"):
    changed = 0
    for role in roles:
        wanted = sorted(p for p, on in zip(PERMISSIONS, edited[f"r{role.id}"], strict=True) if on)
        if wanted == role.permissions:
            continue
        changed += 1
        fields = {**role_fields(role), "permissions": wanted}
        error = run(lambda s, fields=fields: save_role(s, me, **fields))
        if error is not None:
            notice("error", error_markdown(error))
        else:
            notice("success", tmd("Permissions of {name} saved.", name=role_label(role)))
    if not changed:
        notice("info", t("No permission was changed."))
    st.session_state["roles_gen_matrix"] = generation("matrix") + 1  # show what was saved
    st.rerun()

# Every role with its scope, holders and built-in marker; then one role's scope editor.
st.subheader(t(NC_("roles", "Roles")))
st.dataframe(
    pd.DataFrame(
        [
            {
                t(NC_("roles", "Name")): role_label(r),
                t(NC_("roles", "Code")): r.code,
                t("Data scope"): t(label_of("scope", r.data_scope)),
                t("Units (custom scope)"): ", ".join(
                    unit_labels.get(u, str(u)) for u in r.scope_unit_ids
                ),
                t("Holders"): r.holders,
                t("Discount limit (%)"): r.max_discount_pct,
                t("Built-in"): t("Yes") if r.builtin else t("No"),
            }
            for r in roles
        ]
    ),
    hide_index=True,
    width="stretch",
)

st.subheader(t("Data scope of a role"))
chosen = role_select(t("Role"), "roles_edit_choice")
if chosen.builtin:
    st.caption(t("Built-in role: it cannot be deleted and keeps its code."))
st.caption(
    nt("Held by {count} user.", "Held by {count} users.", chosen.holders, count=chosen.holders)
)
name = chosen.name
if not chosen.builtin:
    name = text_input(t(NC_("roles", "Name")), value=chosen.name, key=f"roles_name_{chosen.id}")
scope = scope_select(f"roles_scope_{chosen.id}", chosen.data_scope)
scope_units = chosen.scope_unit_ids
if scope == DataScope.CUSTOM:
    scope_units = unit_select(f"roles_units_{chosen.id}", chosen.scope_unit_ids)
discount = discount_input(f"roles_discount_{chosen.id}", chosen.max_discount_pct)
if st.button(t("Save role"), key=f"roles_save_{chosen.id}"):
    fields = {
        **role_fields(chosen),
        "name": name,
        "data_scope": scope,
        "scope_unit_ids": scope_units,
        "max_discount_pct": discount,
    }
    shown = role_label(chosen) if chosen.builtin else name.strip()
    attempt(lambda s: save_role(s, me, **fields), tmd("Role {name} saved.", name=shown))

# A new role.
st.subheader(t("New role"))
gen = generation("new")
with st.form(f"roles_new_{gen}"):
    code = text_input(t(NC_("roles", "Code")), key=f"roles_new_code_{gen}")
    new_name = text_input(t(NC_("roles", "Name")), key=f"roles_new_name_{gen}")
    new_scope = scope_select(f"roles_new_scope_{gen}")
    new_units = unit_select(
        f"roles_new_units_{gen}", help=t("Used only when the data scope is custom.")
    )
    new_discount = discount_input(f"roles_new_discount_{gen}")
    new_permissions = st.multiselect(
        t("Permissions"),
        PERMISSIONS,
        format_func=permission_label,
        key=f"roles_new_perms_{gen}",
    )
    create = st.form_submit_button(t("Create role"))
if create:
    fields = {
        "code": code,
        "name": new_name,
        "permissions": new_permissions,
        "data_scope": new_scope,
        "scope_unit_ids": new_units,
        "max_discount_pct": new_discount,
    }
    attempt(
        lambda s: save_role(s, me, **fields),
        tmd("Role {name} created.", name=new_name.strip()),
        "new",
    )

# Deleting: the core refuses built-in roles and roles someone holds.
st.subheader(t("Delete a role"))
doomed = role_select(t("Role to delete"), "roles_delete_choice")
if st.button(t("Delete role"), key="roles_delete"):
    attempt(
        lambda s: delete_role(s, me, doomed.id),
        tmd("Role {name} deleted.", name=role_label(doomed)),
    )
