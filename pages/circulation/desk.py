"""The manager desk (人工干预): find open opportunities the manager may change by hand,
select some, and step in - assign or transfer to a rep, return to the pool, lock, unlock,
protect until a date, re-activate dormant ones. Listing is `crm_core.circulation.desk`;
every act is a flow event written by `crm_core.circulation.override`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.circulation.desk import COUNT_CAP, DeskFilter, count_desk, list_desk
from crm_core.circulation.override import (
    OPEN_STATES,
)
from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, label_of
from crm_core.platform.metadata import list_business_lines
from ui.circulation import label, number, pager, people, when
from ui.context import actor
from ui.db import session
from ui.feedback import show_flash
from ui.i18n import nt, show_error, t
from ui.inputs import search_input
from ui.options import stage_text
from ui.override_actions import override_actions
from ui.sales import DETAIL_PAGE
from ui.tables import pick_table
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
        t("Lead"),
        container=top[0],
        key="desk_f_text",
        on_change=first_page,
        placeholder=t("The start of the lead's name"),
    )
    locked = top[1].selectbox(
        t(NC_("desk.filter", "Locked")),
        [None, True, False],
        key="desk_f_locked",
        on_change=first_page,
        format_func=lambda v: t("Any") if v is None else t(label_of("desk.locked", str(v).lower())),
    )
    row = st.columns(4)
    state = row[0].selectbox(
        t("Pool state"),
        ["", *OPEN_STATES],
        key="desk_f_state",
        on_change=first_page,
        format_func=lambda p: t(label_of("pool", p)) if p else t("Any"),
    )
    owner = row[1].selectbox(
        t("Owner"),
        [None, *names],
        key="desk_f_owner",
        on_change=first_page,
        format_func=lambda u: names.get(u, t("Any")),
    )
    stage = row[2].selectbox(
        t("Stage"),
        ["", *OPEN_STAGES],
        key="desk_f_stage",
        on_change=first_page,
        format_func=lambda s: stage_text(s) if s else t("Any"),
    )
    line = row[3].selectbox(
        t("Business line"),
        [None, *lines],
        key="desk_f_line",
        on_change=first_page,
        format_func=lambda i: lines.get(i, t("Any")),
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
        return t("Not looked at yet")
    if reason.startswith("no_room:"):
        return t("Rule “{rule}” found no rep with room", rule="#" + reason.split(":", 1)[1])
    return label("waiting", reason)


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "#": r.opportunity_id,
                t("Lead"): r.lead_name,
                t("Phone"): r.phone,
                t("Business line"): r.business_line,
                t("Pool state"): t(label_of("pool", r.pool_state)),
                t("Owner"): r.owner_name or "",
                t("Unit"): r.unit or "",
                t("Stage"): stage_text(r.stage),
                t("Intention"): r.intention_level or "",
                t("Lock"): t("Locked") if r.locked else "",
                t("Protected until"): when(r.protected_until),
                t("Times recycled"): r.recycle_count,
                t("Waiting because"): _waiting(r),
            }
            for r in rows
        ]
    )


me = actor()
st.title(t("Manager desk"))
st.caption(
    t(
        "Open opportunities you may change by hand - your scope, plus waiting and pool opportunities that belong to no unit yet. Select them and step in; every act is recorded in the flow log."
    )
)
show_flash()
if st.session_state.pop(_CLEAR, False):
    st.session_state[_PICK] = []

try:
    with session() as s:
        # A filter over existing rows: disabled lines too.
        lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}
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
st.caption(
    nt("{count} open opportunity found.", "{count} open opportunities found.", total, count=shown)
)
if not rows:
    st.info(t("No opportunities match. Change the filters above."))
    st.stop()
picked = pick_table(
    _table(rows),
    [r.opportunity_id for r in rows],
    key=_PICK,
    view=f"{desk_filter}|{page}",
    open_page=DETAIL_PAGE,
)
if pages > 1:
    pager("desk", _PAGE, page, number(pages), last=page >= pages)
st.caption(t("Check the rows to act on; click a row to open the opportunity."))
st.caption(nt("{n} selected.", "{n} selected.", len(picked)))

override_actions(me, picked, names, key="desk", after=_CLEAR)
