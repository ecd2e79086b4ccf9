"""SQL pieces the dashboards share, written once for SQLite and PostgreSQL: the funnel's
stage order, the company's local day of a moment, the seconds between two moments."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Date, Float, cast, extract, func, literal_column
from sqlmodel import Session

from crm_core.sales.stages import FUNNEL_STAGES

__all__ = ["FUNNEL_STAGES", "local_day", "seconds_between"]


def local_day(session: Session, column, offset_hours: float) -> ColumnElement:
    """The company's local calendar day of a naive-UTC moment."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column + literal_column(f"INTERVAL '{float(offset_hours)} hours'"), Date)
    return func.date(column, f"{float(offset_hours):+} hours")


def seconds_between(session: Session, start, end) -> ColumnElement[float]:
    """`end - start` in seconds (NULL when either is NULL)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0
