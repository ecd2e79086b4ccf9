"""The company's own time: its offset from UTC and where its local day begins."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from crm_core.platform.settings import get_setting


def utc_offset(session: Session) -> timedelta:
    return timedelta(hours=get_setting(session, "company.utc_offset_hours"))


def local_day_start(session: Session, at: datetime) -> datetime:
    """The UTC moment the company's local day containing `at` began."""
    offset = utc_offset(session)
    local = at + offset
    return datetime(local.year, local.month, local.day) - offset
