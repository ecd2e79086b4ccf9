"""What the circulation pages share: names for the ids the core returns, unit labels for
pickers, and the display of times, counts and coded values."""

from __future__ import annotations

from datetime import datetime

import streamlit as st
from sqlmodel import Session

from crm_core.leads.search import owner_choices
from crm_core.models import path_ids
from crm_core.org.units import unit_tree
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import label_of
from crm_core.platform.i18n.formats import format_count
from crm_core.platform.permissions import Permission
from ui.company_time import show_time
from ui.i18n import language, t
from ui.options import stage_text


def people(session: Session, me: Actor) -> dict[int, str]:
    """Names of the people the actor may pick and read about (their scope, not left);
    the actor is always among them."""
    names = dict(owner_choices(session, me)) if me.can(Permission.VIEW_LEADS) else {}
    if me.user_id is not None:
        names.setdefault(me.user_id, me.full_name)
    return names


def person(names: dict[int, str], user_id: int | None) -> str:
    """A user's name; the system for None; the id for someone outside the reader's scope."""
    if user_id is None:
        return t("System")
    return names.get(user_id, f"#{user_id}")


def units(session: Session, me: Actor) -> tuple[dict[int, str], dict[int, str]]:
    """(active units, every unit) in the actor's scope as "Parent / Child" labels."""
    tree = unit_tree(session, me)
    names = {u.id: u.name for u in tree}
    labels = {u.id: " / ".join(names[i] for i in path_ids(u.path) if i in names) for u in tree}
    active = {u.id: labels[u.id] for u in tree if u.active}
    return active, labels


def when(value: datetime | None) -> str:
    """A stored instant in company time (ui.company_time)."""
    return show_time(value)


def number(value: int) -> str:
    return format_count(value, language())


def label(family: str, code: str | None) -> str:
    """The text of `code` of `family`, or the code itself when it has none; a stage reads
    as the stage list names it."""
    if family == "stage":
        return stage_text(code)
    return t(label_of(family, code)) if code else ""


def pager(key: str, state: str, page: int, pages_label: str, *, last: bool) -> None:
    """Previous / "page x of y" / next under a paged table; `state` the session key holding the page number, `last` whether this is it."""
    left, middle, right = st.columns([1, 2, 1])
    if left.button(t("Previous"), disabled=page <= 1, key=f"{key}_prev"):
        st.session_state[state] = page - 1
        st.rerun()
    middle.caption(t("Page {page} of {pages}", page=number(page), pages=pages_label))
    if right.button(t("Next"), disabled=last, key=f"{key}_next"):
        st.session_state[state] = page + 1
        st.rerun()
