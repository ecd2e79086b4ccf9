"""What the dashboard pages share: the filter bar (read from and written to the URL's query
parameters, so a view is a link) and the CSV / XLSX downloads of each chart's data."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_core.analytics import (
    EXPORT_FORMATS,
    MIME_TYPES,
    SPLITS,
    DashboardFilter,
    default_filter,
    export_table,
    from_query_params,
    to_query_params,
)
from crm_core.analytics.scope import unit_choices
from crm_core.platform.i18n import label_of
from crm_core.platform.metadata import list_business_lines
from ui.company_time import company_today
from ui.context import actor
from ui.db import session
from ui.figures import money, percent, styled
from ui.i18n import language, show_error, t
from ui.inputs import search_input
from ui.options import labels
from ui.query import query_params
from ui.sales import DETAIL_PAGE
from ui.tables import open_table

_ALL = ""
FUNNEL_PAGE = "pages/dashboards/funnel.py"


def _initial(key: str, value) -> None:
    # The link's value on the first run; the widget's own state afterwards.
    if key not in st.session_state:
        st.session_state[key] = value


def filter_bar(
    page: str, *, split: bool = True, open_period: bool = True, credit: bool = False
) -> DashboardFilter:
    """The view's filters: from the URL on the first run, then from the widgets, written
    back to the URL each run. `page` prefixes the widget keys; `credit` offers whom the
    people of team performance are (owner or who qualified)."""
    me = actor()
    # The link's ids are checked (a bad one is said and dropped), its texts cleaned.
    params, refused = query_params(ids=("business_line", "unit", "owner"))
    for error in refused:
        show_error(error)
    view = from_query_params(params, default_filter(today=company_today()))
    with session() as s:
        # A filter over existing rows: disabled lines too.
        lines = {line.id: line.name for line in list_business_lines(s, active_only=False)}
        channels = labels("channel")
        units = unit_choices(s, me)
    columns = st.columns(
        [2, 1.4, 1.2, 1.2, 1.8, 1.2] if split or credit else [2, 1.4, 1.2, 1.2, 1.8]
    )
    period_key = f"{page}_period"
    _initial(period_key, tuple(d for d in (view.start, view.end) if d is not None))
    period = columns[0].date_input(
        t("Period"),
        key=period_key,
        help=t("Local calendar days, first and last included. Clear it for all time."),
    )
    start, end = _period(period, open_period)
    all_lines = {_ALL: t("All"), **lines}
    line = pick(columns[1], t("Business line"), all_lines, f"{page}_line", view.business_line_id)
    channel = pick(
        columns[2],
        t("Channel"),
        {_ALL: t("All"), **channels},
        f"{page}_channel",
        view.channel,
    )
    campaign_key = f"{page}_campaign"
    _initial(campaign_key, view.campaign or "")
    campaign = search_input(t("Campaign"), container=columns[3], key=campaign_key)
    unit = pick(
        columns[4],
        t("Org unit (with everything below)"),
        {_ALL: t("All in my scope"), **units},
        f"{page}_unit",
        view.unit_id,
    )
    chosen_split = "none"
    if split:
        splits = {code: t(label_of("dash.split", code)) for code in SPLITS}
        chosen_split = pick(columns[5], t("Split by"), splits, f"{page}_split", view.split)
    chosen_credit = "owner"
    if credit:
        people = {"owner": t("Owner (who closed)"), "qualifier": t("Who qualified")}
        chosen_credit = pick(columns[5], t("People by"), people, f"{page}_credit", view.credit)
    chosen = DashboardFilter(
        start=start,
        end=end,
        business_line_id=line or None,
        channel=channel or None,
        campaign=campaign.strip() or None,
        unit_id=unit or None,
        owner_id=view.owner_id,
        split=chosen_split,
        credit=chosen_credit or "owner",
    )
    params = to_query_params(chosen)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    return chosen


def pick(container, label: str, choices: dict, key: str, initial=None):
    """A selectbox over `choices` (value -> label) returning the chosen value. Its options
    are the labels themselves, so nothing formats them after the run (AppTest formats
    outside the script, where the reader's language is unknown); the key carries the
    language, so switching it starts the widget afresh from the link."""
    labels = list(choices.values())
    widget_key = f"{key}_{language()}"
    _initial(widget_key, choices.get(initial, labels[0]) if labels else None)
    chosen = container.selectbox(label, labels, key=widget_key)
    return next((value for value, text in choices.items() if text == chosen), None)


def _period(value, open_period: bool) -> tuple[date | None, date | None]:
    days = list(value) if isinstance(value, (tuple, list)) else [value] if value else []
    if not days:
        return (
            (None, None)
            if open_period
            else (
                default_filter(today=company_today()).start,
                default_filter(today=company_today()).end,
            )
        )
    return days[0], days[-1]


def table(
    frame: pd.DataFrame,
    name: str,
    key: str,
    *,
    money_columns: tuple[str, ...] = (),
    share_columns: tuple[str, ...] = (),
    count_columns: tuple[str, ...] = (),
    opens: list | None = None,
    open_page: str = DETAIL_PAGE,
    params_of: Callable[[Any], dict[str, str]] | None = None,
) -> bool:
    """A table of figures and its downloads: numbers stay numbers (they sort and export as
    numbers) and show as money with the currency, shares and counts of the reader's
    language. With `opens` (per row an opportunity id, or what `params_of` turns into the
    query parameters of `open_page`), a click on a row opens it. Return whether rows open
    (not where the reader may not go to `open_page`)."""
    columns = {"money_columns": money_columns, "share_columns": share_columns}
    shown = styled(frame, **columns, count_columns=count_columns)
    opened = False
    if opens is not None:
        opened = open_table(shown, opens, key=key, open_page=open_page, params_of=params_of)
    else:
        st.dataframe(shown, hide_index=True, width="stretch", key=key)
    kinds = {
        **{c: "money" for c in money_columns},
        **{c: "share" for c in share_columns},
        **{c: "count" for c in count_columns},
    }
    downloads(frame, name, key, kinds)
    return opened


def drill_params(view: DashboardFilter, **row: str) -> dict[str, str]:
    """The query parameters of a drill-down from a row: the view's period and filters,
    narrowed to the row (`unit=`, `channel=` ...)."""
    return {**to_query_params(view), **row}


def downloads(frame: pd.DataFrame, name: str, key: str, kinds: dict | None = None) -> None:
    """CSV and XLSX download buttons for one chart's data (`kinds`: column -> money, share
    or count, see `export_table`). The file is made when its button is pressed, not on
    every run of the page (an XLSX costs a tenth of a second)."""
    # Side by side at their own width, also inside a half-width column.
    row = st.container(horizontal=True)
    for kind in EXPORT_FORMATS:
        row.download_button(
            t(label_of("dash.download", kind)),
            lambda kind=kind: export_table(frame, kind, name, kinds),
            file_name=f"{name}.{kind}",
            mime=MIME_TYPES[kind],
            key=f"{key}_{kind}",
            icon=":material/download:",
        )


def bar_chart(
    frame: pd.DataFrame,
    x: str,
    y: str | list[str],
    key: str,
    *,
    color: str | None = None,
    barmode: str = "stack",
) -> None:
    """A bar chart of `frame`: `y` per `x`, one series per `color` value or per column of
    a `y` list. Plain graph objects: plotly express takes ten times as long to build."""
    if frame.empty:
        st.caption(t("Nothing in this view."))
        return
    if color is not None:
        series = [(str(name), part[x], part[y]) for name, part in frame.groupby(color, sort=False)]
    elif isinstance(y, list):
        series = [(column, frame[x], frame[column]) for column in y]
    else:
        series = [(y, frame[x], frame[y])]
    # Plotly reads tick labels and series names as HTML (`<a href>` works there): a unit,
    # rep or rule name is people's text, so its `<`, `>` and `&` become entities.
    figure = go.Figure(
        [go.Bar(x=xs.map(_plotly_text), y=ys, name=_plotly_text(name)) for name, xs, ys in series]
    )
    figure.update_layout(
        barmode=barmode,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=300,
        showlegend=len(series) > 1,
        xaxis_title=x,
        yaxis_title=None if isinstance(y, list) else y,
        # Whole numbers with separators on the axis: Plotly's own short form writes "k",
        # which Chinese does not use.
        yaxis_tickformat=",~f",
        separators=".,",
    )
    st.plotly_chart(figure, key=key)


def _plotly_text(value):
    """A category or series name as Plotly shows it literally; other values unchanged."""
    return html.escape(value, quote=False) if isinstance(value, str) else value


__all__ = ["bar_chart", "downloads", "filter_bar", "money", "percent", "pick", "table"]
