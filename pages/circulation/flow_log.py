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
from crm_core.platform.i18n import NC_, label_of
from ui.circulation import label, number, pager, people, when
from ui.company_time import instant_of
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.sales import DETAIL_PAGE
from ui.tables import open_table

PAGE_SIZE = 50
_PAGE = "flow_page"


def first_page() -> None:
    st.session_state[_PAGE] = 1


def _filters(names: dict[int, str]) -> FlowFilter:
    row = st.columns(5)
    since = row[0].date_input(
        t(NC_("flow_log", "From")), value=None, key="flow_since", on_change=first_page
    )
    until = row[1].date_input(
        t(NC_("flow_log", "To")), value=None, key="flow_until", on_change=first_page
    )
    reason = row[2].selectbox(
        t("Reason"),
        ["", *FLOW_REASONS],
        key="flow_reason",
        on_change=first_page,
        format_func=lambda r: t(label_of("flow.reason", r)) if r else t("Any"),
    )
    kind = row[3].selectbox(
        t("Rule kind"),
        ["", *RULE_KINDS],
        key="flow_rule_kind",
        on_change=first_page,
        format_func=lambda k: t(label_of("rules.kind", k)) if k else t("Any"),
    )
    user = row[4].selectbox(
        t("Person"),
        [None, *names],
        key="flow_user",
        on_change=first_page,
        format_func=lambda u: names.get(u, t("Anyone")),
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
                t("When"): when(r.at),
                t("Opportunity"): f"#{r.opportunity_id} {r.lead_name}",
                t("Business line"): r.business_line,
                t(NC_("flow_log.table", "From")): _owner(r.from_owner_name, r.from_state),
                t(NC_("flow_log.table", "To")): _owner(r.to_owner_name, r.to_state),
                t("Reason"): label("flow.reason", r.reason),
                t("Rule"): (
                    f"{label('rules.kind', r.rule_kind)}: {r.rule_name or f'#{r.rule_id}'}"
                    if r.rule_id is not None
                    else ""
                ),
                t("By"): r.actor_name or t("System"),
                t("Note"): r.note or "",
            }
            for r in rows
        ]
    )


me = actor()
st.title(t("Flow log"))
st.caption(t("Every change of owner or pool state in your scope, newest first."))
try:
    with session() as s:
        names = people(s, me)
except CrmError as error:
    show_error(error)
    st.stop()
flow_filter = _filters(names)
if flow_filter.since and flow_filter.until and flow_filter.since >= flow_filter.until:
    st.warning(t("The start date is after the end date."))
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
st.caption(t("{count} events.", count=shown))
if not rows:
    st.info(t("No flow events match."))
    st.stop()
open_table(_table(rows), [r.opportunity_id for r in rows], key="flow_rows", open_page=DETAIL_PAGE)
st.caption(t("Click a row to open the opportunity."))
if pages > 1:
    shown_pages = f"{number(max(pages, page))}+" if capped else number(pages)
    last = len(rows) < PAGE_SIZE if capped else page >= pages
    pager("flow", _PAGE, page, shown_pages, last=last)
