"""What the sales pages (workbench, board, opportunity detail) share: company-local times,
links to an opportunity, and the words for coded values.

Reps plan their day in the company's time zone, so these pages show and take local times;
the core stores naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import streamlit as st

from crm_core.platform.i18n import N_
from ui import figures, options
from ui.company_time import company_now, instant_of, show_time
from ui.i18n import t
from ui.options import labels
from ui.text import md

DETAIL_PAGE = "pages/sales/opportunity.py"
BOARD_PAGE = "pages/sales/board.py"


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as the company's local time."""
    return show_time(value, fmt)


def local_now() -> datetime:
    """Now as the company's wall time."""
    return company_now()


def to_utc(day: date, at: time) -> datetime:
    """A local date and time from a form, as the UTC moment the core stores."""
    return instant_of(day, at)


def option_labels(category: str) -> dict[str, str]:
    """Code -> label of an option list (channels, lost reasons, follow-up results) in the
    reader's language, disabled options included (read once per run, `ui.options`)."""
    return labels(category)


def money(amount: Decimal | int | float | None) -> str:
    """An amount with the company's currency in the reader's language (ui.figures)."""
    return figures.money(amount or 0)


def stage_text(stage: str | None) -> str:
    return options.stage_text(stage)


def open_link(opportunity_id: int, text: str) -> None:
    """A link to the opportunity's detail page, labelled with the plain `text` (a lead's
    name, say), which shows literally: a page link's label is Markdown."""
    st.page_link(
        DETAIL_PAGE,
        label=md(text),
        icon=":material/open_in_new:",
        query_params={"id": str(opportunity_id)},
    )


def line_text(opportunity_id: int, lead_name: str, *parts: str | None) -> str:
    """`#12 Li Lei · Postgraduate · Qualified` for a list line, as plain text."""
    return " · ".join([f"#{opportunity_id} {lead_name}", *[p for p in parts if p]])


def when_relative(value: datetime | None, now: datetime) -> str:
    """`in 3 h`, `2 d overdue`: how far a due time is from now."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    hours = abs(seconds) / 3600
    if hours >= 24:
        days = int(hours // 24)
        return (
            t(N_("{days} d overdue"), days=days) if seconds < 0 else t(N_("in {days} d"), days=days)
        )
    hours = max(1, int(hours))
    return (
        t(N_("{hours} h overdue"), hours=hours)
        if seconds < 0
        else t(N_("in {hours} h"), hours=hours)
    )
