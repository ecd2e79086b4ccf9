"""Times on the pages: every stored (naive UTC) instant is shown in the company's time zone
through `show_time`, and each page says once which zone that is (`zone_caption`). Local
dates and times typed into a form become instants through `instant_of`.

The zone is the setting `company.time_zone` (crm_core.platform.company_time), re-read at
most once a minute."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from crm_core.platform import clock
from crm_core.platform.company_time import company_zone, to_local, to_utc, zone_names
from db.engine import database_url
from ui.db import session
from ui.i18n import t, tmd

TIME_FORMAT = "%Y-%m-%d %H:%M"


@st.cache_data(ttl=60, show_spinner=False)
def _zone_name(url: str) -> str:
    with session() as s:
        return company_zone(s).key


def zone() -> ZoneInfo:
    """The company's time zone."""
    return ZoneInfo(_zone_name(database_url()))


def forget_zone() -> None:
    """After the setting changed: read it again on the next page."""
    _zone_name.clear()


def in_company_time(value: datetime | None) -> datetime | None:
    """A stored instant as the company's naive wall time (None stays None)."""
    return to_local(value, zone()) if value is not None else None


def show_time(value: datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A stored instant as text in company time ("" for none)."""
    if value is None or pd.isna(value):
        return ""
    return to_local(pd.Timestamp(value).to_pydatetime(), zone()).strftime(fmt)


def company_now() -> datetime:
    """Now, as the company's wall time."""
    return to_local(clock.now(), zone())


def company_today() -> date:
    return company_now().date()


def instant_of(day: date, at: time = time()) -> datetime:
    """A company-local date and time from a form as the instant the core stores."""
    return to_utc(datetime.combine(day, at), zone())


def zone_caption() -> None:
    """The one line a page shows to say its times are company time."""
    st.caption(tmd("Times on this page are in the company's time zone, {zone}.", zone=zone().key))


def file_zone_picker(key: str) -> str:
    """Ask for the time zone of an uploaded file's times (default: the company's)."""
    zones = list(zone_names())
    own = zone().key
    if own not in zones:
        zones.insert(0, own)
    return st.selectbox(
        t("Time zone of the file's times"),
        zones,
        index=zones.index(own),
        help=t(
            "The zone the times in this file were written in (default: the company's). They are stored as true instants."
        ),
        key=key,
    )
