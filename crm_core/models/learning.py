"""Study activity from the learning system (a read-only neighbour): what a student studies,
shown to reps as talking points for renewals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field


class LearningActivity(SQLModel, table=True):
    """A lead's progress in one course, as the latest import says."""

    __tablename__ = "learning_activity"
    __table_args__ = (
        UniqueConstraint("lead_id", "course", name="uq_learning_activity_lead_course"),
        Index("ix_learning_activity_customer", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    course: str = Field(max_length=200)
    progress_pct: int = 0
    last_studied_on: date | None = None
    imported_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    imported_at: datetime = created_at_field()
