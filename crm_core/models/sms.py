"""The SMS platform's tables: templates with an approval state, the sensitive-word list (shared
with quality inspection), leads who asked for no more messages, and every message sent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

TEMPLATE_PURPOSES = ("notice", "marketing")
TEMPLATE_STATES = ("draft", "pending", "approved", "rejected", "retired")
# queued -> sending -> sent -> delivered | failed; `sending` is a claim by one delivery run.
MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "failed")


class SmsTemplate(SQLModel, table=True):
    """A message text with variables (`{name}`, `{trial_time}` ...); only an approved
    template is sent."""

    __tablename__ = "sms_template"
    __table_args__ = (
        CheckConstraint("purpose IN ('notice','marketing')", name="ck_sms_template_purpose"),
        CheckConstraint(
            "state IN ('draft','pending','approved','rejected','retired')",
            name="ck_sms_template_state",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    body: str = Field(max_length=1000)
    purpose: str = Field(default="notice", max_length=20)
    state: str = Field(default="draft", max_length=20)
    review_note: str | None = Field(default=None, max_length=400)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = datetime_field()
    reviewed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    reviewed_at: datetime | None = datetime_field()


class SensitiveWord(SQLModel, table=True):
    """A word that blocks an SMS and flags a note or call summary for quality inspection.
    `word_key` is the word case- and width-folded, so 加V and 加ｖ are one entry."""

    __tablename__ = "sensitive_word"

    id: int | None = Field(default=None, primary_key=True)
    word: str = Field(max_length=60)
    word_key: str = Field(max_length=60, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class SmsOptOut(SQLModel, table=True):
    """A lead who asked for no more messages (by a reply such as 退订/TD/STOP, or told a rep)."""

    __tablename__ = "sms_opt_out"

    lead_id: int = Field(foreign_key="lead.id", primary_key=True)
    at: datetime = created_at_field()
    source: str = Field(max_length=20)  # reply | rep
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class SmsMessage(SQLModel, table=True):
    """One message to one lead: queued by a send or an automatic notice, handed to the
    provider by the delivery job, settled by the provider's delivery report."""

    __tablename__ = "sms_message"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued','sending','sent','delivered','failed')",
            name="ck_sms_message_status",
        ),
        # An automatic notice is queued once per event (e.g. one reminder per trial lesson).
        UniqueConstraint("event_key", name="uq_sms_message_event_key"),
        # The delivery job's queue, oldest first.
        Index(
            "ix_sms_message_queued",
            "created_at",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index("ix_sms_message_lead_at", "lead_id", "created_at"),
        Index("ix_sms_message_provider_id", "provider_message_id"),
        Index("ix_sms_message_batch", "batch_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    template_id: int | None = Field(default=None, foreign_key="sms_template.id")
    purpose: str = Field(max_length=20)
    # Kept in full for the provider only; pages show it masked unless the reader may see it.
    phone: str = Field(max_length=20)
    body: str = Field(max_length=1200)
    segments: int = 1
    cost: Decimal = Field(default=Decimal("0"), sa_type=Numeric(12, 4))
    status: str = Field(default="queued", max_length=20)
    error: str | None = Field(default=None, max_length=200)
    provider_message_id: str | None = Field(default=None, max_length=80)
    batch_id: str | None = Field(default=None, max_length=40)
    event_key: str | None = Field(default=None, max_length=80)
    sent_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    sent_at: datetime | None = datetime_field()
    settled_at: datetime | None = datetime_field()
