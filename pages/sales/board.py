"""The opportunity board (商机看板): a column per stage with its count, amount and first
cards, or the same opportunities as a list - filtered, sorted and paged in the database,
only within the reader's scope. Managers filter by rep."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.models import PIPELINE_TYPES
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import NC_, label_of
from crm_core.platform.metadata import list_business_lines
from crm_core.platform.permissions import DataScope, Permission
from crm_core.sales.board import (
    BOARD_STAGES,
    COUNT_CAP,
    NEXT_FOLLOW_UP,
    SORTS,
    BoardFilter,
    board_columns,
    count_board,
    list_board,
)
from ui.circulation import number, pager, people
from ui.collaborators import show_shared_with_me
from ui.context import actor
from ui.custom_fields import filter_inputs
from ui.db import session
from ui.feedback import show_flash
from ui.i18n import nt, show_error, t
from ui.inputs import search_input
from ui.options import every, option_text
from ui.override_actions import override_actions
from ui.query import query_id, query_text
from ui.sales import DETAIL_PAGE, line_text, local, money, open_link, option_labels, stage_text
from ui.tables import pick_table

PAGE_SIZE = 50
_PAGE = "board_page"
_PICK = "board_pick"
_CLEAR = "board_clear"


def first_page() -> None:
    st.session_state[_PAGE] = 1


def _any(value, text: str) -> str:
    return text if value not in (None, "") else t(NC_("board", "Any"))


def _filters(
    lines: dict[int, str],
    channels: dict[str, str],
    owners: dict[int, str] | None,
    fields: dict[str, list],
) -> BoardFilter:
    row = st.columns(4)
    stage = row[0].selectbox(
        t("Stage"),
        ["", *BOARD_STAGES],
        key="board_f_stage",
        on_change=first_page,
        format_func=lambda s: _any(s, stage_text(s)),
    )
    level = row[1].selectbox(
        t("Intention"),
        ["", *every("intention_level")],
        key="board_f_intention",
        on_change=first_page,
        format_func=lambda v: _any(v, option_text("intention_level", v) if v else ""),
    )
    line = row[2].selectbox(
        t("Business line"),
        [None, *lines],
        key="board_f_line",
        on_change=first_page,
        format_func=lambda i: lines.get(i, t(NC_("board", "Any"))),
    )
    channel = row[3].selectbox(
        t("Channel"),
        ["", *channels],
        key="board_f_channel",
        on_change=first_page,
        format_func=lambda c: channels.get(c, t(NC_("board", "Any"))),
    )
    row = st.columns(4)
    due = row[0].selectbox(
        t("Next follow-up"),
        ["", *NEXT_FOLLOW_UP],
        key="board_f_next",
        on_change=first_page,
        format_func=lambda d: _any(d, t(label_of("board.next", d)) if d else ""),
    )
    pipeline = row[1].selectbox(
        t("Pipeline"),
        ["", *PIPELINE_TYPES],
        key="board_f_pipeline",
        on_change=first_page,
        format_func=lambda p: _any(p, t(label_of("board.pipeline", p)) if p else ""),
    )
    owner = None
    if owners is not None:
        owner = row[2].selectbox(
            t(NC_("board.filter", "Rep")),
            [None, *owners],
            key="board_f_owner",
            on_change=first_page,
            format_func=lambda u: owners.get(u, t(NC_("board", "Any"))),
        )
    name = search_input(
        t("Lead name starts with"), key="board_f_name", on_change=first_page, container=row[3]
    )
    custom = []
    if fields["opportunity"] or fields["lead"]:
        with st.expander(t("Custom fields")):
            custom += filter_inputs(fields["opportunity"], "board_f_opp")
            custom += filter_inputs(fields["lead"], "board_f_lead")
    return BoardFilter(
        custom=tuple(custom),
        stage=stage or None,
        intention_level=level or None,
        business_line_id=line,
        channel=channel or None,
        next_follow_up=due or None,
        owner_id=owner,
        pipeline_type=pipeline or None,
        name=name.strip() or None,
    )


def _link_filters(owners: dict[int, str] | None) -> None:
    """A row of another page opens the board on its opportunities: `?owner=12` (a rep of
    team performance, the workbench or circulation health) and `?stage=qualified` (a stage
    of a pipeline) start the list afresh on those filters, once; the widgets keep them."""
    try:
        owner = query_id("owner")
    except ValidationError as error:
        show_error(error)
        owner = None
    stage = query_text("stage")
    if owner is None and not stage:
        return
    for name in [k for k in st.session_state if str(k).startswith("board_f_")]:
        del st.session_state[name]
    if owner is not None and owners is not None and owner in owners:
        st.session_state["board_f_owner"] = owner
    if stage in BOARD_STAGES:
        st.session_state["board_f_stage"] = stage
    st.session_state["board_view"] = "list"
    st.session_state[_PAGE] = 1
    for name in ("owner", "stage"):
        if name in st.query_params:
            del st.query_params[name]


def _board(columns) -> None:
    for chunk in (columns[:4], columns[4:]):
        cells = st.columns(4)
        for cell, column in zip(cells, chunk, strict=False):
            with cell.container(border=True):
                st.markdown(f"**{stage_text(column.stage)}**")
                st.caption(
                    t("{count} · {amount}", count=number(column.count), amount=money(column.amount))
                )
                for card in column.cards:
                    when = local(card.closed_at or card.next_follow_up_at, "%m-%d %H:%M")
                    open_link(
                        card.opportunity_id,
                        line_text(
                            card.opportunity_id,
                            card.lead_name,
                            card.intention_level,
                            when,
                            None if solo else card.owner_name,
                        ),
                    )
                if column.count > len(column.cards):
                    st.caption(
                        t(
                            "{count} more: use the list view",
                            count=number(column.count - len(column.cards)),
                        )
                    )


def _list(rows, channels: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "#": r.opportunity_id,
                t("Lead"): r.lead_name,
                t(NC_("board.table", "Phone")): r.phone,
                t("Business line"): r.business_line,
                t("Channel"): channels.get(r.channel, r.channel),
                t("Stage"): stage_text(r.stage),
                t("Intention"): r.intention_level or "",
                t("Owner"): r.owner_name or "",
                t("Amount"): money(r.amount) if r.amount else "",
                t("Last follow-up"): local(r.last_follow_up_at),
                t("Next follow-up"): local(r.next_follow_up_at),
            }
            for r in rows
        ]
    )
    return frame


me = actor()
solo = me.scope is DataScope.SELF
st.title(t("Opportunity board"))
show_flash()
show_shared_with_me(me)
if st.session_state.pop(_CLEAR, False):
    st.session_state[_PICK] = []
try:
    with session() as s:
        # A filter over existing rows: disabled lines too.
        lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}
        owners = None if solo else people(s, me)
        # The board filters by the opportunity's custom fields and by its lead's.
        fields = {entity: fields_visible_to(s, me, entity) for entity in ("opportunity", "lead")}
except CrmError as error:
    show_error(error)
    st.stop()
channels = option_labels("channel")
_link_filters(owners)
board_filter = _filters(lines, channels, owners, fields)
view, sort = st.columns([1, 1])
# The view's first value through the state, not `default`: a link sets it to the list.
st.session_state.setdefault("board_view", "board")
as_list = (
    view.segmented_control(
        t("View"),
        ["board", "list"],
        key="board_view",
        format_func=lambda v: t(label_of("board.view", v)),
    )
    == "list"
)
order = sort.selectbox(
    t("Sort by"),
    SORTS,
    key="board_sort",
    on_change=first_page,
    format_func=lambda o: t(label_of("board.sort", o)),
)

try:
    with session() as s:
        if as_list:
            total = count_board(s, me, board_filter)
            pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
            page = min(max(1, st.session_state.get(_PAGE, 1)), pages)
            rows = list_board(
                s, me, board_filter, sort=order, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
        else:
            columns = board_columns(s, me, board_filter, sort=order)
except CrmError as error:
    show_error(error)
    st.stop()

if as_list:
    shown = f"{number(COUNT_CAP)}+" if total > COUNT_CAP else number(total)
    st.caption(nt("{count} opportunity.", "{count} opportunities.", total, count=shown))
    if not rows:
        st.info(t("No opportunity matches."))
    else:
        picked = pick_table(
            _list(rows, channels),
            [r.opportunity_id for r in rows],
            key=_PICK,
            view=f"{board_filter}|{order}|{page}",
            open_page=DETAIL_PAGE,
        )
        if pages > 1:
            pager("board", _PAGE, page, number(pages), last=page >= pages)
        if me.can(Permission.ASSIGN_OPPORTUNITIES):
            st.caption(t("Check the rows to act on; click a row to open the opportunity."))
            st.caption(nt("{n} selected.", "{n} selected.", len(picked)))
            override_actions(me, picked, owners or {}, key="board", after=_CLEAR)
        else:
            st.caption(t("Click a row to open the opportunity."))
else:
    st.caption(
        t("Open opportunities by stage; won and lost ones of this month. Click a card to open it.")
    )
    _board(columns)
