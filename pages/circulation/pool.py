"""The public pool (公海): the opportunities a rep may claim, a page at a time with masked
phones, the rep's claim allowance, and claiming one or many at once. A claim is atomic in
the core: whoever was faster keeps the opportunity, and the page says so."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.circulation.pool import (
    PoolFilter,
    claim_allowance,
    claim_from_pool,
    count_pool,
    list_pool,
)
from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import CrmError
from crm_core.platform.metadata import list_business_lines
from ui.circulation import number, pager, when
from ui.context import actor
from ui.db import session
from ui.i18n import nt, show_error, t, tmd
from ui.inputs import search_input
from ui.options import every, labels, option_text, stage_text
from ui.tables import pick_table

PAGE_SIZE = 50
_PAGE = "pool_page"
_PICK = "pool_pick"
_RESULT = "pool_result"
_CLEAR = "pool_clear"


def first_page() -> None:
    st.session_state[_PAGE] = 1


def _filters(lines: dict[int, str]) -> PoolFilter:
    row = st.columns(4)
    line = row[0].selectbox(
        t("Business line"),
        [None, *lines],
        key="pool_f_line",
        on_change=first_page,
        format_func=lambda i: lines.get(i, t("Any")),
    )
    stage = row[1].selectbox(
        t("Stage"),
        ["", *OPEN_STAGES],
        key="pool_f_stage",
        on_change=first_page,
        format_func=lambda s: stage_text(s) if s else t("Any"),
    )
    level = row[2].selectbox(
        t("Intention"),
        ["", *every("intention_level")],
        key="pool_f_intention",
        on_change=first_page,
        format_func=lambda v: option_text("intention_level", v) if v else t("Any"),
    )
    region = search_input(t("Region"), container=row[3], key="pool_f_region", on_change=first_page)
    return PoolFilter(
        business_line_id=line,
        stage=stage or None,
        intention_level=level or None,
        region=region.strip() or None,
    )


def _show_result() -> None:
    result = st.session_state.pop(_RESULT, None)
    if not result:
        return
    claimed, taken, cooling, cooldown = result
    if claimed:
        st.success(
            tmd(
                "You claimed {count}: {names}.",
                count=number(len(claimed)),
                names=", ".join(claimed),
            )
        )
    if taken:
        st.warning(
            tmd(
                "Somebody was faster, or it left the pool ({count}): {names}.",
                count=number(len(taken)),
                names=", ".join(taken),
            )
        )
    if cooling:
        st.warning(
            tmd(
                "Not claimed: recycled from you within the last {days} days: {names}.",
                names=", ".join(cooling),
                days=cooldown,
            )
        )
    if not (claimed or taken or cooling):
        st.info(t("Nothing was claimed."))


def _table(rows, channels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "#": r.opportunity_id,
                t("Name"): r.lead_name,
                t("Phone"): r.phone or "",
                t("Region"): r.region or "",
                t("Channel"): channels.get(r.channel, r.channel),
                t("Business line"): r.business_line,
                t("Stage"): stage_text(r.stage),
                t("Intention"): r.intention_level or "",
                t("Times recycled"): r.recycle_count,
                t("Pool of"): r.unit or t("Whole company"),
                t("In the pool since"): when(r.pooled_at),
            }
            for r in rows
        ]
    )


me = actor()
st.title(t("Public pool"))
st.caption(t("Opportunities nobody owns that you may claim. The longest-waiting come first."))
if st.session_state.pop(_CLEAR, False):
    st.session_state[_PICK] = []
_show_result()

try:
    with session() as s:
        # A filter over existing rows: disabled lines too.
        lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}
        channels = labels("channel")
        allowance = claim_allowance(s, me)
except CrmError as error:
    show_error(error)
    st.stop()

st.info(
    t(
        "Claimed today {claimed} of {daily} · holding {holding} of {cap} · you may claim {left} more now.",
        claimed=number(allowance.claimed_today),
        daily=number(allowance.daily_claims),
        holding=number(allowance.holding),
        cap=number(allowance.holding_cap),
        left=number(allowance.left),
    )
)
pool_filter = _filters(lines)
try:
    with session() as s:
        total = count_pool(s, me, pool_filter)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, st.session_state.get(_PAGE, 1)), pages)
        rows = list_pool(s, me, pool_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
except CrmError as error:
    show_error(error)
    st.stop()

st.caption(
    nt(
        "{count} opportunity in the pool.",
        "{count} opportunities in the pool.",
        total,
        count=number(total),
    )
)
if not rows:
    st.info(t("The pool is empty for these filters."))
    st.stop()

picked = pick_table(
    _table(rows, channels),
    [r.opportunity_id for r in rows],
    key=_PICK,
    view=f"{pool_filter}|{page}",
)
if pages > 1:
    pager("pool", _PAGE, page, number(pages), last=page >= pages)
labels = {
    r.opportunity_id: f"#{r.opportunity_id} {r.lead_name} {r.phone or ''}".strip() for r in rows
}
too_many = len(picked) > allowance.left
if too_many:
    # Checked against the allowance before anything is written; the core refuses as well.
    st.warning(
        t(
            "{picked} checked, but you may claim {left} more now: uncheck some.",
            picked=number(len(picked)),
            left=number(allowance.left),
        )
    )
else:
    st.caption(t("Check the rows to claim: the box at the top checks this page."))
if st.button(
    t("Claim ({count})", count=len(picked)),
    key="pool_claim",
    type="primary",
    disabled=not picked or too_many,
):
    try:
        with session() as s:
            result = claim_from_pool(s, me, picked)
    except CrmError as error:
        show_error(error)
    else:
        st.session_state[_RESULT] = (
            [labels[i] for i in result.claimed],
            [labels.get(i, f"#{i}") for i in result.taken],
            [labels.get(i, f"#{i}") for i in result.cooling],
            allowance.cooldown_days,
        )
        st.session_state[_CLEAR] = True
        st.rerun()
