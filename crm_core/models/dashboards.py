"""What the dashboards add: marketing spend per channel, campaign and month. (A run of the
history import is its audit entry, `history.import`.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Date, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field


class MarketingSpend(SQLModel, table=True):
    """What marketing spent on one channel (and campaign, or '' for the channel as a
    whole) in one month; the channel ROI report divides by it."""

    __tablename__ = "marketing_spend"
    __table_args__ = (
        UniqueConstraint("month", "channel", "campaign", name="uq_marketing_spend_month"),
    )

    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(sa_column=Column(Date, nullable=False))  # the month's first day
    channel: str = Field(max_length=40)
    campaign: str = Field(default="", max_length=120)
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    note: str | None = Field(default=None, max_length=400)
    entered_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
