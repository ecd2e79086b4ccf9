"""What a rep's work adds beside an opportunity: trial lessons (试听) and requests to a
manager to transfer an opportunity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

TRIAL_STATUSES = ("booked", "done", "no_show", "cancelled")
TRANSFER_STATUSES = ("pending", "approved", "rejected", "withdrawn")


class TrialLesson(SQLModel, table=True):
    """A trial lesson booked for an opportunity's lead."""

    __tablename__ = "trial_lesson"
    __table_args__ = (
        CheckConstraint(
            "status IN ('booked','done','no_show','cancelled')", name="ck_trial_lesson_status"
        ),
        Index("ix_trial_lesson_opportunity", "opportunity_id", "scheduled_at"),
        # A rep's trials of the day.
        Index("ix_trial_lesson_booked_by_at", "booked_by_id", "scheduled_at"),
        # Trials booked per rep and period (the activity rankings).
        Index("ix_trial_lesson_booked_by_created", "booked_by_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    scheduled_at: datetime = Field(sa_type=DateTime, nullable=False)
    course: str | None = Field(default=None, max_length=200)
    status: str = Field(default="booked", max_length=20)
    note: str | None = Field(default=None, max_length=400)
    booked_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    done_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()


class TransferRequest(SQLModel, table=True):
    """A rep asks a manager to move one of their opportunities to someone else."""

    __tablename__ = "transfer_request"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','approved','rejected','withdrawn')",
            name="ck_transfer_request_status",
        ),
        # One open request per opportunity.
        Index(
            "uq_transfer_request_pending",
            "opportunity_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_transfer_request_status_at", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    reason: str = Field(default="", max_length=400)
    # A colleague the rep suggests; the manager decides.
    suggested_owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    status: str = Field(default="pending", max_length=20)
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = datetime_field()
    decision_note: str | None = Field(default=None, max_length=400)
    created_at: datetime = created_at_field()


COLLABORATOR_ACCESS = ("read", "follow_up")


class OpportunityCollaborator(SQLModel, table=True):
    """A colleague an owner or a manager added to one opportunity: `read` lets them see it
    (and its lead) as the owner does, `follow_up` also lets them log follow-ups on it. Neither
    gives any other power over it (see `circulation.collaborators`)."""

    __tablename__ = "opportunity_collaborator"
    __table_args__ = (
        CheckConstraint(
            "access IN ('read','follow_up')", name="ck_opportunity_collaborator_access"
        ),
        UniqueConstraint("opportunity_id", "user_id", name="uq_opportunity_collaborator"),
        # What one user collaborates on: the scope's shared part, read from the index alone.
        Index("ix_opportunity_collaborator_user", "user_id", "opportunity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    user_id: int = Field(foreign_key="app_user.id")
    access: str = Field(default="read", max_length=20)
    added_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    added_at: datetime = created_at_field()
