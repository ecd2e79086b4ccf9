"""The lead library (名片库) and the customer domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, func, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field
from crm_core.platform.search_keys import name_key

# Byte order on PostgreSQL as on SQLite, so a prefix is a plain index range on both.
_KEY_TYPE = String(120).with_variant(String(120, collation="C"), "postgresql")


def _name_key_default(context) -> str:
    """An insert that gives no name key gets the one of its name (bulk inserts too)."""
    return name_key(context.get_current_parameters().get("name"))


class Customer(SQLModel, table=True):
    """A registered user of the learning platform."""

    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    platform_user_id: str = Field(max_length=80, unique=True)
    name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=20, index=True)
    email: str | None = Field(default=None, max_length=200)
    registered_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = datetime_field()


class Lead(SQLModel, table=True):
    """One person's contact record; identity is the E.164 phone (or an external id)."""

    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_phone_suffix", "phone_suffix"),
        # With merged_into_id, so counting the leads of a name prefix reads the index alone.
        Index("ix_lead_name_key", "name_key", "merged_into_id"),
        Index("ix_lead_created", "created_at"),
        Index("ix_lead_channel_created", "channel", "created_at"),
        Index("ix_lead_campaign", "campaign"),
        # Only merged leads: an index holding every live lead under NULL would tempt the
        # planner into reading the whole table for "merged_into_id IS NULL".
        Index(
            "ix_lead_merged_into",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
        Index("ix_lead_created_by", "created_by_id"),
        # Search by a whole e-mail (case ignored, as the intake compares them; every
        # entrance stores it stripped), WeChat id or QQ number finds the lead through these.
        Index("ix_lead_email_folded", func.lower(text("email"))),
        Index("ix_lead_wechat", "wechat"),
        Index("ix_lead_qq", "qq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    # The name case-folded with spaces collapsed (`search_keys.name_key`): name search is a
    # prefix range on this column.
    name_key: str = Field(
        default=None,
        sa_type=_KEY_TYPE,
        nullable=False,
        sa_column_kwargs={"default": _name_key_default},
    )
    phone: str | None = Field(default=None, max_length=20, unique=True)
    # Last four digits, so "search by the last 4" is an index lookup.
    phone_suffix: str | None = Field(default=None, max_length=4)
    no_phone: bool = False
    external_id: str | None = Field(default=None, max_length=80, unique=True)
    email: str | None = Field(default=None, max_length=200)
    wechat: str | None = Field(default=None, max_length=80)
    qq: str | None = Field(default=None, max_length=20)
    region: str | None = Field(default=None, max_length=80)
    city: str | None = Field(default=None, max_length=80)
    channel: str = Field(max_length=40)
    # Byte-ordered like name_key: the campaign filter is a prefix range.
    campaign: str | None = Field(default=None, sa_type=_KEY_TYPE, nullable=True)
    landing_page: str | None = Field(default=None, max_length=400)
    keyword: str | None = Field(default=None, max_length=120)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = datetime_field()
    # A lead merged into another stays for its history but leaves every search; its phone
    # and external id moved to the surviving lead.
    merged_into_id: int | None = Field(default=None, foreign_key="lead.id")


class LeadTag(SQLModel, table=True):
    __tablename__ = "lead_tag"

    lead_id: int = Field(foreign_key="lead.id", primary_key=True)
    tag: str = Field(max_length=60, primary_key=True, index=True)
