"""The option lists behind dropdowns (元数据): channels, lost reasons and the like, and
the business lines (业务线) that teams, stages and rules belong to."""

from __future__ import annotations

from sqlmodel import Session, col, select

from crm_core.models import BusinessLine, MetadataOption


def list_options(
    session: Session, category: str, *, active_only: bool = True
) -> list[MetadataOption]:
    """The company-wide options of `category`, in their display order. Not scoped: an option
    list is not business data."""
    query = (
        select(MetadataOption)
        .where(MetadataOption.category == category, col(MetadataOption.business_line_id).is_(None))
        .order_by(MetadataOption.sort_order, MetadataOption.code)
    )
    if active_only:
        query = query.where(MetadataOption.active)
    return list(session.exec(query).all())


def option_label(option: MetadataOption, language: str) -> str:
    """The option's label in `language` (Chinese for anything but English)."""
    return option.label_en if language == "en" else option.label_zh


def list_business_lines(session: Session, *, active_only: bool = True) -> list[BusinessLine]:
    """Every business line, by code. Not scoped: the list itself is not business data."""
    query = select(BusinessLine).order_by(BusinessLine.code)
    if active_only:
        query = query.where(BusinessLine.active)
    return list(session.exec(query).all())
