"""The company's own time: its IANA zone (`company.time_zone`), and where its local days,
weeks and months begin, correct across daylight-saving changes.

The database stores naive UTC instants; company time is naive local wall time in the zone.
Every "local day" of the core is computed here, never by adding a fixed offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import ColumnElement, Date, case, cast, func, literal_column
from sqlmodel import Session

from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.settings import get_setting

DEFAULT_ZONE = "Asia/Shanghai"


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted (the list the pages offer)."""
    return tuple(sorted(n for n in available_timezones() if "/" in n or n == "UTC"))


def zone_named(name: str) -> ZoneInfo:
    """The zone called `name`; an unknown name is refused (ValidationError)."""
    try:
        return ZoneInfo(str(name or "").strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(N_("“{zone}” is not a known time zone."), zone=name) from exc


def company_zone(session: Session) -> ZoneInfo:
    """The company's time zone (setting `company.time_zone`)."""
    return zone_named(get_setting(session, "company.time_zone"))


def file_zone(session: Session, time_zone: str | None) -> ZoneInfo:
    """The zone a file's times are read in: `time_zone` when given, else the company's."""
    return zone_named(time_zone) if time_zone else company_zone(session)


def to_local(utc: datetime, zone: ZoneInfo) -> datetime:
    """A naive-UTC (or aware) instant as naive wall time in `zone`."""
    if utc.tzinfo is None:
        utc = utc.replace(tzinfo=UTC)
    return utc.astimezone(zone).replace(tzinfo=None)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Naive wall time in `zone` (or an aware time) as a naive-UTC instant. A wall time
    that a clock change skips or repeats is read with its earlier offset (fold 0)."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def to_company(session: Session, utc: datetime) -> datetime:
    """A stored instant as the company's wall time."""
    return to_local(utc, company_zone(session))


def day_start_in(zone: ZoneInfo, day: date) -> datetime:
    """The naive-UTC instant local day `day` began in `zone`."""
    return to_utc(datetime.combine(day, time()), zone)


def month_bounds_in(zone: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the local month holding `day`, as naive-UTC instants."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return day_start_in(zone, first), day_start_in(zone, following)


def local_day_start(session: Session, at: datetime) -> datetime:
    """The naive-UTC instant the company's local day containing `at` began."""
    zone = company_zone(session)
    return day_start_in(zone, to_local(at, zone).date())


def month_bounds(session: Session, at: datetime) -> tuple[datetime, datetime]:
    """The company's local month holding the instant `at`."""
    zone = company_zone(session)
    return month_bounds_in(zone, to_local(at, zone).date())


def month_start(session: Session, at: datetime) -> datetime:
    return month_bounds(session, at)[0]


def offset_segments(
    zone: ZoneInfo, since: datetime, until: datetime
) -> list[tuple[datetime | None, timedelta]]:
    """The zone's offsets between two naive-UTC instants: [(valid_until, offset), ...],
    the last with None (valid to the end). Found hour by hour, then to the minute."""

    def exact(at: datetime) -> timedelta:
        return at.replace(tzinfo=UTC).astimezone(zone).utcoffset() or timedelta(0)

    segments: list[tuple[datetime | None, timedelta]] = []
    current = exact(since)
    at = since
    step = timedelta(hours=1)
    while at < until:
        nxt = min(at + step, until)
        if exact(nxt) != current:
            low, high = at, nxt  # the change lies in (low, high]
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if exact(middle) == current:
                    low = middle
                else:
                    high = middle
            change = high.replace(second=0, microsecond=0)
            if exact(change) == current:
                change += timedelta(minutes=1)
            segments.append((change, current))
            current = exact(change)
            at = change
            continue
        at = nxt
    segments.append((None, current))
    return segments


def _shifted_date(session: Session, column, offset: timedelta) -> ColumnElement:
    minutes = int(offset.total_seconds() // 60)
    if session.get_bind().dialect.name == "postgresql":
        return cast(column + literal_column(f"INTERVAL '{minutes} minutes'"), Date)
    return func.date(column, literal_column(f"'{minutes:+d} minutes'"))


def local_day_sql(
    session: Session, column, since: datetime | None, until: datetime | None
) -> ColumnElement:
    """The company's local calendar day of a naive-UTC column, for rows in [since, until):
    a CASE over the offset changes of that period, so a day is cut right across a
    daylight-saving change on SQLite and PostgreSQL alike."""
    zone = company_zone(session)
    now = clock.now()
    since = since or now - timedelta(days=400)
    until = until or now + timedelta(days=1)
    segments = offset_segments(zone, since, until)
    if len(segments) == 1:
        return _shifted_date(session, column, segments[0][1])
    # The instants are literals, not parameters: PostgreSQL must see the SELECT's and the
    # GROUP BY's expression as the same text.
    postgres = session.get_bind().dialect.name == "postgresql"

    def instant(at: datetime) -> ColumnElement:
        text = at.strftime("%Y-%m-%d %H:%M:%S")
        return literal_column(f"TIMESTAMP '{text}'" if postgres else f"'{text}'")

    whens = [
        (column < instant(change), _shifted_date(session, column, offset))
        for change, offset in segments[:-1]
    ]
    return case(*whens, else_=_shifted_date(session, column, segments[-1][1]))
