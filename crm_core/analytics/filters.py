"""What every dashboard is filtered by, and how a filter travels in a link.

A `DashboardFilter` is a frozen value: the cache keys on it, the pages build it from the
URL's query parameters (`from_query_params`) and write it back (`to_query_params`), so a
view shared as a link opens with the same filters. Dates are whole days; the period is
`start` to `end` inclusive, read as the half-open range [start, end + 1 day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from crm_core.platform import clock

# How a figure may be split (the funnel's table, the performance leaderboard).
SPLITS = ("none", "business_line", "channel", "campaign", "unit", "rep")
DEFAULT_DAYS = 30
# Whom team performance credits per person: the owner (who closed) or who qualified it.
CREDITS = ("owner", "qualifier")


@dataclass(frozen=True)
class DashboardFilter:
    """The filters of a dashboard view. None means "all"; `unit_id` means the unit and
    everything below it; `split` is how the table under a chart is broken down; `credit`
    whom team performance's people are (`owner` or `qualifier`)."""

    start: date | None = None
    end: date | None = None
    business_line_id: int | None = None
    channel: str | None = None
    campaign: str | None = None
    unit_id: int | None = None
    owner_id: int | None = None
    split: str = "none"
    credit: str = "owner"

    @property
    def since(self) -> datetime | None:
        """The first moment of the period."""
        return datetime(self.start.year, self.start.month, self.start.day) if self.start else None

    @property
    def until(self) -> datetime | None:
        """The first moment after the period."""
        if self.end is None:
            return None
        return datetime(self.end.year, self.end.month, self.end.day) + timedelta(days=1)

    def with_changes(self, **changes) -> DashboardFilter:
        return replace(self, **changes)


def default_filter(days: int = DEFAULT_DAYS, today: date | None = None) -> DashboardFilter:
    """The last `days` days up to `today` (the company's date; default the clock's UTC day)."""
    today = today or clock.now().date()
    return DashboardFilter(start=today - timedelta(days=days - 1), end=today)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def from_query_params(params: Mapping[str, str], fallback: DashboardFilter) -> DashboardFilter:
    """The filter a link describes; what it leaves out or garbles comes from `fallback`.
    An open period is written `start=` (empty)."""
    values = {}
    for name in ("start", "end"):
        if name in params:
            values[name] = _date(params.get(name))
    for name in ("business_line_id", "unit_id", "owner_id"):
        key = name.removesuffix("_id")
        if key in params:
            values[name] = _int(params.get(key))
    for name in ("channel", "campaign"):
        if name in params:
            values[name] = (params.get(name) or "").strip() or None
    split = params.get("split")
    if split in SPLITS:
        values["split"] = split
    credit = params.get("credit")
    if credit in CREDITS:
        values["credit"] = credit
    return replace(fallback, **values)


def to_query_params(view: DashboardFilter) -> dict[str, str]:
    """The filter as query parameters (strings), the inverse of `from_query_params`."""
    out: dict[str, str] = {}
    for item in fields(view):
        value = getattr(view, item.name)
        key = item.name.removesuffix("_id")
        if item.name in ("start", "end"):
            out[key] = value.isoformat() if value else ""
        elif item.name == "split":
            if value != "none":
                out[key] = value
        elif item.name == "credit":
            if value != "owner":
                out[key] = value
        elif value is not None:
            out[key] = str(value)
    return out
