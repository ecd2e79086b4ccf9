"""The manager desk (人工干预): find open opportunities the manager may change by hand,
select some, and step in - assign or transfer to a rep, return to the pool, lock, unlock,
protect until a date, re-activate dormant ones. Listing is `crm_core.circulation.desk`;
every act is a flow event written by `crm_core.circulation.override`."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from crm_core.circulation.desk import COUNT_CAP, DeskFilter, count_desk, list_desk
from crm_core.circulation.override import (
    OPEN_STATES,
    assign_opportunities,
    protect_until,
    reactivate,
    return_to_pool,
    set_locked,
)
from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import CrmError
from crm_core.platform.metadata import list_business_lines
from ui.circulation import label, number, pager, people, pick_options, when
from ui.company_time import company_today, instant_of
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import show_error, t
from ui.inputs import search_input
from ui.transfer_requests import show_transfer_requests

PAGE_SIZE = 50
_PAGE = "desk_page"
_PICK = "desk_pick"
_CLEAR = "desk_clear"


def first_page() -> None:
    st.session_state[_PAGE] = 1


def _filters(lines: dict[int, str], names: dict[int, str]) -> DeskFilter:
    top = st.columns([2, 1])
    text = search_input(
        t("desk.filter.text"),
        container=top[0],
        key="desk_f_text",
        on_change=first_page,
        placeholder=t("desk.filter.text_hint"),
    )
    locked = top[1].selectbox(
        t("desk.filter.locked"),
        [None, True, False],
        key="desk_f_locked",
        on_change=first_page,
        format_func=lambda v: t("desk.any") if v is None else t(f"desk.locked.{str(v).lower()}"),
    )
    row = st.columns(4)
    state = row[0].selectbox(
        t("desk.filter.state"),
        ["", *OPEN_STATES],
        key="desk_f_state",
        on_change=first_page,
        format_func=lambda p: t(f"pool.{p}") if p else t("desk.any"),
    )
    owner = row[1].selectbox(
        t("desk.filter.owner"),
        [None, *names],
        key="desk_f_owner",
        on_change=first_page,
        format_func=lambda u: names.get(u, t("desk.any")),
    )
    stage = row[2].selectbox(
        t("desk.filter.stage"),
        ["", *OPEN_STAGES],
        key="desk_f_stage",
        on_change=first_page,
        format_func=lambda s: t(f"stage.{s}") if s else t("desk.any"),
    )
    line = row[3].selectbox(
        t("desk.filter.line"),
        [None, *lines],
        key="desk_f_line",
        on_change=first_page,
        format_func=lambda i: lines.get(i, t("desk.any")),
    )
    return DeskFilter(
        pool_state=state or None,
        owner_id=owner,
        business_line_id=line,
        stage=stage or None,
        name=text.strip() or None,
        locked=locked,
    )


def _waiting(row) -> str:
    """Why an unassigned opportunity still waits for dispatch."""
    if row.pool_state != "unassigned":
        return ""
    reason = row.unassigned_reason
    if reason is None:
        return t("waiting.none")
    if reason.startswith("no_room:"):
        return t("waiting.no_room", rule="#" + reason.split(":", 1)[1])
    return label("waiting", reason)


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "#": r.opportunity_id,
                t("desk.table.lead"): r.lead_name,
                t("desk.table.phone"): r.phone,
                t("desk.table.line"): r.business_line,
                t("desk.table.state"): t(f"pool.{r.pool_state}"),
                t("desk.table.owner"): r.owner_name or "",
                t("desk.table.unit"): r.unit or "",
                t("desk.table.stage"): t(f"stage.{r.stage}"),
                t("desk.table.intention"): r.intention_level or "",
                t("desk.table.locked"): t("desk.locked.true") if r.locked else "",
                t("desk.table.protected"): when(r.protected_until),
                t("desk.table.recycled"): r.recycle_count,
                t("desk.table.waiting"): _waiting(r),
            }
            for r in rows
        ]
    )


def _act(action, *args, success: str, **params) -> None:
    try:
        with session() as s:
            count = action(s, me, *args)
    except CrmError as error:
        show_error(error)
    else:
        flash(success, count=number(count), **params)
        st.session_state[_CLEAR] = True
        st.rerun()


me = actor()
st.title(t("desk.title"))
st.caption(t("desk.intro"))
show_flash()
if st.session_state.pop(_CLEAR, False):
    st.session_state[_PICK] = []

try:
    with session() as s:
        lines = {line.id: line.name for line in list_business_lines(s)}
        names = people(s, me)
except CrmError as error:
    show_error(error)
    st.stop()
show_transfer_requests(me, names)
desk_filter = _filters(lines, names)
try:
    with session() as s:
        total = count_desk(s, me, desk_filter)
        pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
        page = min(max(1, st.session_state.get(_PAGE, 1)), pages)
        rows = list_desk(s, me, desk_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
except CrmError as error:
    show_error(error)
    st.stop()

shown = f"{number(COUNT_CAP)}+" if total > COUNT_CAP else number(total)
st.caption(t("desk.found", count=shown))
if not rows:
    st.info(t("desk.empty"))
    st.stop()
st.dataframe(_table(rows), hide_index=True, width="stretch")
if pages > 1:
    pager("desk", "desk", _PAGE, page, number(pages), last=page >= pages)

labels = {
    r.opportunity_id: " · ".join(
        filter(
            None,
            [
                f"#{r.opportunity_id} {r.lead_name}",
                r.business_line,
                t(f"pool.{r.pool_state}"),
                r.owner_name,
            ],
        )
    )
    for r in rows
}
labels = pick_options(_PICK, labels)
picked = st.multiselect(
    t("desk.pick"), list(labels), format_func=labels.get, key=_PICK, placeholder=t("desk.pick_hint")
)
st.caption(t("desk.picked", count=number(len(picked))))

assign_tab, pool_tab, lock_tab, protect_tab, dormant_tab = st.tabs(
    [
        t("desk.tab.assign"),
        t("desk.tab.pool"),
        t("desk.tab.lock"),
        t("desk.tab.protect"),
        t("desk.tab.reactivate"),
    ]
)
with assign_tab:
    rep = st.selectbox(
        t("desk.rep"),
        [None, *names],
        key="desk_rep",
        format_func=lambda u: names.get(u, t("desk.choose_rep")),
    )
    st.caption(t("desk.assign_hint"))
    if st.button(
        t("desk.assign"), key="desk_assign", type="primary", disabled=not picked or rep is None
    ):
        _act(assign_opportunities, picked, rep, success="desk.done.assign", name=names.get(rep))
with pool_tab:
    st.caption(t("desk.return_hint"))
    if st.button(t("desk.return"), key="desk_return", disabled=not picked):
        _act(return_to_pool, picked, success="desk.done.return")
with lock_tab:
    st.caption(t("desk.lock_hint"))
    lock, unlock = st.columns(2)
    if lock.button(t("desk.lock"), key="desk_lock", disabled=not picked):
        _act(set_locked, picked, True, success="desk.done.lock")
    if unlock.button(t("desk.unlock"), key="desk_unlock", disabled=not picked):
        _act(set_locked, picked, False, success="desk.done.unlock")
with protect_tab:
    today = company_today()
    until = st.date_input(
        t("desk.protect_until"),
        value=today + timedelta(days=7),
        min_value=today,
        key="desk_protect_date",
    )
    st.caption(t("desk.protect_hint"))
    protect, unprotect = st.columns(2)
    if protect.button(t("desk.protect"), key="desk_protect", disabled=not picked):
        # Protected through the chosen day: until the next day begins.
        end = instant_of(until + timedelta(days=1))
        _act(protect_until, picked, end, success="desk.done.protect", date=until.isoformat())
    if unprotect.button(t("desk.unprotect"), key="desk_unprotect", disabled=not picked):
        _act(protect_until, picked, None, success="desk.done.unprotect")
with dormant_tab:
    st.caption(t("desk.reactivate_hint"))
    if st.button(t("desk.reactivate"), key="desk_reactivate", disabled=not picked):
        _act(reactivate, picked, success="desk.done.reactivate")
