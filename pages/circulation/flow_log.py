"""The flow log (流转记录): every change of owner or pool state in the reader's scope -
dispatch, claims, recycling, departures and a manager's hand - filtered and paged on the
server, newest first."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from crm_core.circulation.flow_log import COUNT_CAP, FlowFilter, count_flow, search_flow
from crm_core.models import RULE_KINDS
from crm_core.models.opportunity import FLOW_REASONS
from crm_core.platform.errors import CrmError
from ui.circulation import label, number, pager, people, when
from ui.company_time import instant_of
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t

PAGE_SIZE = 50
_PAGE = "flow_page"


def first_page() -> None:
    st.session_state[_PAGE] = 1


def _filters(names: dict[int, str]) -> FlowFilter:
    row = st.columns(5)
    since = row[0].date_input(
        t("flow_log.since"), value=None, key="flow_since", on_change=first_page
    )
    until = row[1].date_input(
        t("flow_log.until"), value=None, key="flow_until", on_change=first_page
    )
    reason = row[2].selectbox(
        t("flow_log.reason"),
        ["", *FLOW_REASONS],
        key="flow_reason",
        on_change=first_page,
        format_func=lambda r: t(f"flow.reason.{r}") if r else t("flow_log.any"),
    )
    kind = row[3].selectbox(
        t("flow_log.rule_kind"),
        ["", *RULE_KINDS],
        key="flow_rule_kind",
        on_change=first_page,
        format_func=lambda k: t(f"rules.kind.{k}") if k else t("flow_log.any"),
    )
    user = row[4].selectbox(
        t("flow_log.user"),
        [None, *names],
        key="flow_user",
        on_change=first_page,
        format_func=lambda u: names.get(u, t("flow_log.anyone")),
    )
    return FlowFilter(
        since=instant_of(since) if since else None,
        until=instant_of(until + timedelta(days=1)) if until else None,
        reason=reason or None,
        rule_kind=kind or None,
        user_id=user,
    )


def _owner(name: str | None, state: str | None) -> str:
    return name or label("pool", state) or "-"


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("flow_log.table.at"): when(r.at),
                t("flow_log.table.opportunity"): f"#{r.opportunity_id} {r.lead_name}",
                t("flow_log.table.line"): r.business_line,
                t("flow_log.table.from"): _owner(r.from_owner_name, r.from_state),
                t("flow_log.table.to"): _owner(r.to_owner_name, r.to_state),
                t("flow_log.table.reason"): label("flow.reason", r.reason),
                t("flow_log.table.rule"): (
                    f"{label('rules.kind', r.rule_kind)}: {r.rule_name or f'#{r.rule_id}'}"
                    if r.rule_id is not None
                    else ""
                ),
                t("flow_log.table.by"): r.actor_name or t("circulation.system"),
                t("flow_log.table.note"): r.note or "",
            }
            for r in rows
        ]
    )


me = actor()
st.title(t("flow_log.title"))
st.caption(t("flow_log.intro"))
try:
    with session() as s:
        names = people(s, me)
except CrmError as error:
    show_error(error)
    st.stop()
flow_filter = _filters(names)
if flow_filter.since and flow_filter.until and flow_filter.since >= flow_filter.until:
    st.warning(t("flow_log.bad_range"))
    st.stop()
try:
    with session() as s:
        total = count_flow(s, me, flow_filter)
        capped = total > COUNT_CAP  # past the cap the last page is unknown: page on
        pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
        page = max(1, st.session_state.get(_PAGE, 1))
        page = page if capped else min(page, pages)
        rows = search_flow(s, me, flow_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
except CrmError as error:
    show_error(error)
    st.stop()

shown = f"{number(COUNT_CAP)}+" if capped else number(total)
st.caption(t("flow_log.found", count=shown))
if not rows:
    st.info(t("flow_log.empty"))
    st.stop()
st.dataframe(_table(rows), hide_index=True, width="stretch")
if pages > 1:
    shown_pages = f"{number(max(pages, page))}+" if capped else number(pages)
    last = len(rows) < PAGE_SIZE if capped else page >= pages
    pager("flow_log", "flow", _PAGE, page, shown_pages, last=last)
