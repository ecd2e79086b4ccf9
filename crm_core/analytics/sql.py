"""SQL pieces the dashboards share, written once for SQLite and PostgreSQL: the funnel's
stage order and the seconds between two moments."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Float, cast, extract, func
from sqlmodel import Session

from crm_core.sales.stages import FUNNEL_STAGES

__all__ = ["FUNNEL_STAGES", "seconds_between"]

# The company's local day of a moment: crm_core.platform.company_time.local_day_sql.


def seconds_between(session: Session, start, end) -> ColumnElement[float]:
    """`end - start` in seconds (NULL when either is NULL)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0
