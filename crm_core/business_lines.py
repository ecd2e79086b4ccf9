"""Business lines (业务线): the product families that teams, stages and rules belong to."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_core.models import BusinessLine


def list_business_lines(session: Session, *, active_only: bool = True) -> list[BusinessLine]:
    """Every business line, by code. Not scoped: the list itself is not business data."""
    query = select(BusinessLine).order_by(BusinessLine.code)
    if active_only:
        query = query.where(BusinessLine.active)
    return list(session.exec(query).all())
