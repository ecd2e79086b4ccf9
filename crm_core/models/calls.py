"""The call centre's tables (外呼): the lines and caller numbers of the telephony vendor, the
seats that map to users, and every call record the provider reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

CALL_STATES = ("dialling", "ringing", "connected", "ended", "failed")
CALL_RESULTS = ("answered", "no_answer", "busy", "rejected", "failed")


class CallLine(SQLModel, table=True):
    """A line of the vendor with the number customers see."""

    __tablename__ = "call_line"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    caller_number: str = Field(max_length=20)
    active: bool = True
    created_at: datetime = created_at_field()


class CallSeat(SQLModel, table=True):
    """A seat (坐席) of the vendor, rung for its user's click-to-call, on one line."""

    __tablename__ = "call_seat"

    id: int | None = Field(default=None, primary_key=True)
    seat_no: str = Field(max_length=40, unique=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    line_id: int = Field(foreign_key="call_line.id")
    active: bool = True
    created_at: datetime = created_at_field()


class CallRecord(SQLModel, table=True):
    """One call: placed by click-to-call (then followed by state), or reported by the
    provider's callback or a file. An ended call to a known lead is also a follow-up of the
    opportunity it was about."""

    __tablename__ = "call_record"
    __table_args__ = (
        CheckConstraint(
            "state IN ('dialling','ringing','connected','ended','failed')",
            name="ck_call_record_state",
        ),
        Index("ix_call_record_opportunity", "opportunity_id", "started_at"),
        Index("ix_call_record_user_at", "user_id", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_call_id: str | None = Field(default=None, max_length=80, unique=True)
    opportunity_id: int | None = Field(default=None, foreign_key="opportunity.id")
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    seat_no: str | None = Field(default=None, max_length=40)
    customer_phone: str | None = Field(default=None, max_length=20)
    caller_number: str | None = Field(default=None, max_length=20)
    state: str = Field(default="dialling", max_length=20)
    result: str | None = Field(default=None, max_length=20)
    started_at: datetime | None = datetime_field()
    answered_at: datetime | None = datetime_field()
    ended_at: datetime | None = datetime_field()
    duration_s: int | None = None
    recording_url: str | None = Field(default=None, max_length=400)
    source: str = Field(max_length=20)  # click | callback | import
    error: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
