"""The lead intake API's own rows: the keys sources call with, the answers kept for
`Idempotency-Key` retries, the per-minute request counters and the external ids received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field, json_list_field


class ApiKey(SQLModel, table=True):
    """One source's key (a website form, a chat widget, an ad platform). Only the SHA-256 of
    the secret is stored; `prefix` finds the row, so a request costs one indexed read and
    one hash, never a slow password hash."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    # Channel codes and business line ids whose leads the key may send.
    channels: Any = json_list_field()
    business_line_ids: Any = json_list_field()
    requests_per_minute: int = 600
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    rotated_at: datetime | None = datetime_field()
    revoked_at: datetime | None = datetime_field()
    last_used_at: datetime | None = datetime_field()


class ApiIdempotency(SQLModel, table=True):
    """The first answer to a request with an `Idempotency-Key`, per API key. Inserted in
    the request's own transaction before the intake, so a concurrent retry waits on the
    unique key and then reads the answer instead of taking the lead in twice."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key", name="uq_api_idempotency"),)

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="api_key.id")
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = created_at_field()


class ApiRateWindow(SQLModel, table=True):
    """Requests of one key in one minute: a fixed-window counter shared by every API
    process (upserted, so two processes never lose a count)."""

    __tablename__ = "api_rate_window"

    api_key_id: int = Field(foreign_key="api_key.id", primary_key=True)
    window_start: datetime = Field(sa_type=DateTime, primary_key=True)
    requests: int = 0


class ApiReceipt(SQLModel, table=True):
    """An external id a source sent through its key, and the lead it became: a retry
    without an `Idempotency-Key` is answered as a duplicate, with no second inquiry note."""

    __tablename__ = "api_receipt"

    api_key_id: int = Field(foreign_key="api_key.id", primary_key=True)
    external_id: str = Field(max_length=80, primary_key=True)
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    created_at: datetime = created_at_field()
