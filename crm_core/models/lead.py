"""The lead library (名片库) and the customer domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field


class Customer(SQLModel, table=True):
    """A registered user of the learning platform."""

    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    platform_user_id: str = Field(max_length=80, unique=True)
    name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=20, index=True)
    registered_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()


class Lead(SQLModel, table=True):
    """One person's contact record; identity is the E.164 phone (or an external id)."""

    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_phone_suffix", "phone_suffix"),
        Index("ix_lead_name", "name"),
        Index("ix_lead_channel_created", "channel", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    phone: str | None = Field(default=None, max_length=20, unique=True)
    # Last four digits, so "search by the last 4" is an index lookup.
    phone_suffix: str | None = Field(default=None, max_length=4)
    no_phone: bool = False
    external_id: str | None = Field(default=None, max_length=80, unique=True)
    email: str | None = Field(default=None, max_length=200)
    wechat: str | None = Field(default=None, max_length=80)
    region: str | None = Field(default=None, max_length=80)
    city: str | None = Field(default=None, max_length=80)
    channel: str = Field(max_length=40)
    campaign: str | None = Field(default=None, max_length=120)
    landing_page: str | None = Field(default=None, max_length=400)
    keyword: str | None = Field(default=None, max_length=120)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class LeadTag(SQLModel, table=True):
    __tablename__ = "lead_tag"

    lead_id: int = Field(foreign_key="lead.id", primary_key=True)
    tag: str = Field(max_length=60, primary_key=True, index=True)
