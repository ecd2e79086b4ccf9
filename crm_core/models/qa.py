"""Quality inspection (质检): checklists with weighted items, sampling plans, and the reviews
an inspector scores, a rep may appeal once and a decider settles."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field, json_dict_field, json_list_field

# pending (waits for an inspector) -> scored -> appealed -> decided
REVIEW_STATUSES = ("pending", "scored", "appealed", "decided")
# Why a follow-up is in the queue: drawn by a plan, or flagged for a sensitive word.
REVIEW_REASONS = ("sample", "flag")


class QaChecklist(SQLModel, table=True):
    """A scoring template: items with weights (points), and the mark that passes.
    `items` is a list of {"code", "label", "weight"}; the score is the sum of the points
    given per item, each between 0 and its weight."""

    __tablename__ = "qa_checklist"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    items: list[dict] = json_list_field()
    pass_mark: int = 60
    active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class QaPlan(SQLModel, table=True):
    """A sampling plan: a share of each rep's follow-ups of a week, narrowed by filters
    (`filters`: channel, max_duration_s, lost_only, new_rep_days, org_unit_id,
    business_line_id), drawn by a stored seed so a week's sample is always the same."""

    __tablename__ = "qa_plan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    checklist_id: int = Field(foreign_key="qa_checklist.id")
    percent: int = 5
    filters: dict = json_dict_field()
    seed: int = 0
    # A paused plan (active False, paused since `paused_at`) is skipped by the weekly run.
    active: bool = True
    paused_at: datetime | None = datetime_field()
    # The Monday of the latest ended week the plan was drawn for: the weekly run draws a
    # week once (crm_core.qa.schedule).
    drawn_week: date | None = Field(default=None, nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class QaReview(SQLModel, table=True):
    """One follow-up (a call, a note ...) in the inspection queue, and what became of it.
    `source` says where it came from ("plan:<id>:<week>" or "flag") so a plan run twice for
    the same week adds nothing."""

    __tablename__ = "qa_review"
    __table_args__ = (
        UniqueConstraint("follow_up_id", "source", name="uq_qa_review_source"),
        CheckConstraint(
            "status IN ('pending','scored','appealed','decided')", name="ck_qa_review_status"
        ),
        CheckConstraint("reason IN ('sample','flag')", name="ck_qa_review_reason"),
        Index("ix_qa_review_status", "status", "created_at"),
        Index("ix_qa_review_rep", "rep_id", "scored_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    follow_up_id: int = Field(foreign_key="follow_up.id")
    # The follow-up's author, copied so reports and the rep's own list read one table.
    rep_id: int | None = Field(default=None, foreign_key="app_user.id")
    plan_id: int | None = Field(default=None, foreign_key="qa_plan.id")
    source: str = Field(max_length=60)
    reason: str = Field(default="sample", max_length=10)
    flagged_words: list[str] = json_list_field()
    checklist_id: int | None = Field(default=None, foreign_key="qa_checklist.id")
    status: str = Field(default="pending", max_length=10)
    scores: dict = json_dict_field()
    violation_tags: list[str] = json_list_field()
    comment: str | None = Field(default=None, max_length=2000)
    total: int | None = None
    passed: bool | None = None
    inspector_id: int | None = Field(default=None, foreign_key="app_user.id")
    scored_at: datetime | None = datetime_field()
    appeal_reason: str | None = Field(default=None, max_length=2000)
    appealed_at: datetime | None = datetime_field()
    original_total: int | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = datetime_field()
    decision_note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()
