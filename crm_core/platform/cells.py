"""Cell values of imported and exported tables: placeholders, dates, formula injection.

Shared by every import (leads, customers) and every export, so a placeholder or a date reads
the same everywhere and no exported cell can run as a spreadsheet formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

# What forms and CRMs export for "nothing chosen"; compared case-folded.
DEFAULT_PLACEHOLDERS: tuple[str, ...] = (
    "-",
    "--",
    "—",
    "n/a",
    "na",
    "null",
    "none",
    "nil",
    "select",
    "please select",
    "请选择",
    "无",
    "空",
    "暂无",
    "未知",
)

_DATE_TIME = re.compile(
    r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
)
_DATE_TIME_ZH = re.compile(
    r"^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s*(\d{1,2})[:时](\d{2})分?(?::(\d{2})秒?)?)?$"
)
# A leading character that makes a spreadsheet read the cell as a formula (OWASP's list:
# = + - @, and tab / carriage return that some programs strip before looking).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def placeholder_set(values: Iterable[str]) -> frozenset[str]:
    """The placeholders as `is_placeholder` compares them."""
    return frozenset(" ".join(str(v).split()).casefold() for v in values if str(v).strip())


def is_placeholder(text: str | None, placeholders: frozenset[str]) -> bool:
    """Whether the cell says "nothing" in one of the given ways."""
    if text is None:
        return False
    return " ".join(text.split()).casefold() in placeholders


def clean_cell(text: object, placeholders: frozenset[str]) -> str | None:
    """The stripped cell text, or None for a blank cell or a placeholder."""
    if text is None:
        return None
    value = str(text).strip()
    if not value or is_placeholder(value, placeholders):
        return None
    return value


def parse_datetime(text: str) -> datetime:
    """`YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY.MM.DD`, each with an optional `HH:MM[:SS]`, or
    `YYYY年M月D日[ H:MM]`. Raise ValueError for anything else, or an impossible date."""
    text = (text or "").strip()
    match = _DATE_TIME.match(text)
    if match:
        year, month, day, hour, minute, second = (
            match[1],
            match[3],
            match[4],
            match[5],
            match[6],
            match[7],
        )
    else:
        match = _DATE_TIME_ZH.match(text)
        if not match:
            raise ValueError(text)
        year, month, day, hour, minute, second = match.groups()
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
    )


def neutralise_cell(value: object) -> object:
    """A value safe to write into CSV or XLSX: text that a spreadsheet would run as a formula
    gets a leading apostrophe, which shows as text; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
