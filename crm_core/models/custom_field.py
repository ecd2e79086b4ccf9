"""Custom fields (自定义字段): fields an administrator adds to leads or opportunities, and
their values.

A value is a row of a narrow table per entity, not a column of the lead: fields come and go
as data, and each kind of value sits in its own typed column so that a filter compares
numbers as numbers and dates as dates. Every filter reads one partial index per value
column - (field, value, row) - so a condition on one field over a million leads is a range
scan of that field's entries, never a table scan. A several-choices value is one row per
chosen code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Index, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, json_list_field

FIELD_ENTITIES = ("lead", "opportunity")
FIELD_KINDS = ("text", "number", "date", "yes_no", "choice", "multi_choice")


class CustomField(SQLModel, table=True):
    """One field an administrator defined for leads or opportunities."""

    __tablename__ = "custom_field"
    __table_args__ = (Index("uq_custom_field_code", "entity", "code", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=20)  # lead | opportunity
    code: str = Field(max_length=60)
    label_en: str = Field(max_length=120)
    label_zh: str = Field(max_length=120)
    kind: str = Field(max_length=20)
    required: bool = False
    # [{"code", "label_en", "label_zh", "active"}] for the two choice kinds.
    choices: Any = json_list_field()
    # Role codes that see the field; empty: everyone who sees the row.
    role_codes: Any = json_list_field()
    sort_order: int = 0
    active: bool = True
    created_at: datetime = created_at_field()


def _partial(column: str) -> dict:
    condition = text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


def _value_indexes(table: str, owner: str) -> tuple:
    return (
        # Reading a page's values and replacing one row's values.
        Index(f"ix_{table}_owner", owner, "field_id"),
        Index(f"ix_{table}_text", "field_id", "text_value", owner, **_partial("text_value")),
        Index(f"ix_{table}_number", "field_id", "number_value", owner, **_partial("number_value")),
        Index(f"ix_{table}_date", "field_id", "date_value", owner, **_partial("date_value")),
    )


class LeadFieldValue(SQLModel, table=True):
    """One value of a custom field on a lead (one row per chosen code for several choices)."""

    __tablename__ = "lead_field_value"
    __table_args__ = _value_indexes("lead_field_value", "lead_id")

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    field_id: int = Field(foreign_key="custom_field.id")
    # Text, and the code of a choice.
    text_value: str | None = Field(default=None, max_length=500)
    # Numbers, and yes / no as 1 / 0.
    number_value: float | None = Field(default=None, sa_type=Float)
    date_value: date | None = Field(default=None, sa_type=Date)


class OpportunityFieldValue(SQLModel, table=True):
    """One value of a custom field on an opportunity."""

    __tablename__ = "opportunity_field_value"
    __table_args__ = _value_indexes("opportunity_field_value", "opportunity_id")

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    field_id: int = Field(foreign_key="custom_field.id")
    text_value: str | None = Field(default=None, max_length=500)
    number_value: float | None = Field(default=None, sa_type=Float)
    date_value: date | None = Field(default=None, sa_type=Date)
