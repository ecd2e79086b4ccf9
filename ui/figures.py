"""Figures on the pages: counts, money and shares in the reader's language through
`crm_core.platform.i18n.formats` (Babel), money always with the company's currency.

Metrics (`metric`) show a long figure in the language's short form (664.3万, 6.64M) so it is
never cut off in a narrow column, with the full figure in the metric's tooltip. Tables
(`styled`) keep their numbers as numbers - they sort as numbers and export as numbers -
and only show them formatted."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pandas as pd
import streamlit as st

from crm_core.platform.i18n.formats import (
    format_amount,
    format_compact,
    format_compact_money,
    format_count,
    format_money,
    format_share,
)
from crm_core.platform.settings import get_setting
from db.engine import database_url
from ui.db import session
from ui.i18n import language

# A metric longer than this many characters is shown in the short form: six metrics side
# by side at 1280 px leave each about nine characters of the metric's type size.
COMPACT_AFTER = 8
NONE = "—"

Number = Decimal | int | float


@st.cache_data(ttl=60, show_spinner=False)
def _currency(url: str) -> str:
    with session() as s:
        return str(get_setting(s, "company.currency") or "CNY")


def currency() -> str:
    """The company's currency (the `company.currency` setting, re-read once a minute)."""
    return _currency(database_url())


def forget_currency() -> None:
    """After the setting changed: read it again on the next page."""
    _currency.clear()


def count(value: int | None) -> str:
    """`12,345` in the reader's language."""
    return NONE if value is None else format_count(value, language())


def money(value: Number | None) -> str:
    """`¥9,800.00`: the company's currency, the reader's separators."""
    return NONE if value is None else format_money(value, language(), currency())


def amount(value: Number | None) -> str:
    """`9,800.00` without the currency (a column whose header names it)."""
    return NONE if value is None else format_amount(value, language())


def percent(value: float | None) -> str:
    """`12.5%`."""
    return NONE if value is None else format_share(value, language())


def compact(value: Number, kind: str = "count") -> str:
    """The short form of a count or (kind "money") an amount, when the full one is long."""
    full = money(value) if kind == "money" else count(int(value))
    if len(full) <= COMPACT_AFTER:
        return full
    if kind == "money":
        whole = format_money(value, language(), currency(), whole=True)  # ¥3,000
        if len(whole) <= COMPACT_AFTER:
            return whole
        return format_compact_money(value, language(), currency())
    return format_compact(value, language())


def metric(container, label: str, value: Number | None, kind: str = "count", help=None):
    """`st.metric` of a count, an amount (kind "money") or a share (kind "share"): short
    where the full figure would be cut off, the full figure then in the tooltip."""
    if value is None:
        container.metric(label, NONE, help=help)
        return
    if kind == "share":
        container.metric(label, percent(value), help=help)
        return
    full = money(value) if kind == "money" else count(int(value))
    shown = compact(value, kind)
    if shown != full:
        help = f"{help}\n\n{full}" if help else full
    container.metric(label, shown, help=help)


def styled(
    frame: pd.DataFrame,
    *,
    money_columns: Iterable[str] = (),
    share_columns: Iterable[str] = (),
    count_columns: Iterable[str] = (),
):
    """`frame` for `st.dataframe`: the values stay numbers, shown as money, shares and
    counts in the reader's language (a missing value as a dash)."""
    formats = {
        **{c: money for c in money_columns if c in frame.columns},
        **{c: percent for c in share_columns if c in frame.columns},
        **{c: _count_cell for c in count_columns if c in frame.columns},
    }
    return frame.style.format(
        {c: (lambda v, f=f: NONE if _missing(v) else f(v)) for c, f in formats.items()}
    )


def _count_cell(value) -> str:
    return count(int(value))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))
