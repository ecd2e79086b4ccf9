"""The sales targets in the console: how a metric and its values read, the attainment
tables of the targets page, and the workbench's "this month's targets" line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import streamlit as st

from crm_core.models import TARGET_METRICS
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.sales.target_attainment import AttainmentRow, Figure, my_attainment
from ui.context import actor
from ui.db import session
from ui.figures import count, money, percent, styled
from ui.i18n import show_error, t


def metric_label(metric: str) -> str:
    return t(label_of("target.metric", metric))


def value_text(metric: str, value: Decimal | None) -> str:
    """A target or an actual: money for revenue, a count for the others."""
    if value is None:
        return "-"
    return money(value) if metric == "revenue" else count(int(value))


def month_text(month: date) -> str:
    return f"{month.year}-{month.month:02d}"


def month_choices(today: date, back: int = 12, ahead: int = 3) -> list[date]:
    """The months a target page offers: a year back to a quarter ahead, newest first."""
    first = today.replace(day=1)
    months = []
    for shift in range(ahead, -back - 1, -1):
        index = first.year * 12 + first.month - 1 + shift
        months.append(date(index // 12, index % 12 + 1, 1))
    return months


def figure_columns(metric: str) -> tuple[str, str, str]:
    """The headers of a metric's target, actual and attainment columns."""
    name = metric_label(metric)
    return (
        t("{metric}: target", metric=name),
        t("{metric}: actual", metric=name),
        t("{metric}: attainment", metric=name),
    )


def attainment_frame(rows: list[AttainmentRow], first: str, names: dict[int, str] | None = None):
    """One row per unit or person: each metric's target, actual and attainment (numbers
    stay numbers; `styled` shows them)."""
    records = []
    for row in rows:
        record = {first: row.name}
        if names is not None:
            record[t("Org unit")] = names.get(row.unit_id or 0, "")
        for metric in TARGET_METRICS:
            figure = row.figures[metric]
            target, actual, share = figure_columns(metric)
            record[target] = None if figure.target is None else float(figure.target)
            record[actual] = float(figure.actual)
            record[share] = figure.share
        records.append(record)
    return pd.DataFrame(records)


def show_attainment(frame: pd.DataFrame, key: str) -> None:
    revenue = figure_columns("revenue")[:2]
    shares = tuple(figure_columns(m)[2] for m in TARGET_METRICS)
    counts = tuple(c for m in TARGET_METRICS if m != "revenue" for c in figure_columns(m)[:2])
    st.dataframe(
        styled(frame, money_columns=revenue, share_columns=shares, count_columns=counts),
        hide_index=True,
        width="stretch",
        key=key,
    )


def figure_text(figure: Figure) -> str:
    """`Revenue ¥9,000.00 of ¥30,000.00 (30%)`."""
    return t(
        "{metric} {actual} of {target} ({share})",
        metric=metric_label(figure.metric),
        actual=value_text(figure.metric, figure.actual),
        target=value_text(figure.metric, figure.target),
        share=percent(figure.share),
    )


def my_targets_line() -> None:
    """The workbench's line: the reader's own targets of this month and how far they are."""
    try:
        with session() as s:
            figures = my_attainment(s, actor())
    except CrmError as error:
        show_error(error)
        return
    if figures:
        st.caption(
            t(
                "Your targets this month: {figures}.",
                figures=" · ".join(figure_text(f) for f in figures),
            )
        )
