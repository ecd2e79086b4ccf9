"""Opportunities (商机) and what happens to them: stage history, follow-ups, flow events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Numeric, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

POOL_STATES = ("unassigned", "owned", "public", "dormant", "closed")
OPEN_STAGES = ("new", "contacted", "qualified", "trial_booked", "trial_done")
DEFAULT_STAGES = (*OPEN_STAGES, "won", "lost")
# The default intention levels (the demo data draws from them); what the core accepts is the
# `intention_level` option list, which an administrator extends or disables.
INTENTION_LEVELS = ("A", "B", "C", "D")
FOLLOW_UP_CHANNELS = ("call", "wechat", "sms", "visit", "note")
PIPELINE_TYPES = ("new", "renewal")
# Why an opportunity changed owner or state (flow events); each has a `flow.reason.` text.
FLOW_REASONS = (
    "intake",
    "dispatch",
    "claim",
    "recycle",
    "departure",
    "merge",
    "won",
    "lost",
    # A renewal opportunity opened after a win, by hand or by a renewal rule.
    "renewal",
    # A manager's hand (manual override).
    "assign",
    "transfer",
    "return",
    "lock",
    "unlock",
    "protect",
    "reactivate",
)


class Opportunity(SQLModel, table=True):
    """The chance to sell one business line to one lead."""

    __tablename__ = "opportunity"
    __table_args__ = (
        CheckConstraint(
            "pool_state IN ('unassigned','owned','public','dormant','closed')",
            name="ck_opportunity_pool_state",
        ),
        # One open opportunity per lead and business line.
        Index(
            "uq_opportunity_open_per_line",
            "lead_id",
            "business_line_id",
            unique=True,
            sqlite_where=text("pool_state <> 'closed'"),
            postgresql_where=text("pool_state <> 'closed'"),
        ),
        # A rep's work read from the index alone: holdings and caps, the workbench's due
        # and untouched lists, the board's columns, counts, amounts and cards.
        Index(
            "ix_opportunity_owner_work",
            "owner_id",
            "pool_state",
            "stage",
            "next_follow_up_at",
            "amount",
            "closed_at",
            "first_follow_up_at",
        ),
        # A lead's opportunities, with what the scope checks, read from the index alone.
        Index("ix_opportunity_lead_scope", "lead_id", "owner_id", "org_unit_id"),
        # Waiting and pool opportunities per line; the whole company's counts by stage.
        Index(
            "ix_opportunity_state_line",
            "pool_state",
            "business_line_id",
            "stage",
            "amount",
            "closed_at",
        ),
        # A unit's share read from the index alone: home counts by state and stage, the
        # board of a manager (counts, amounts, this month's closed, cards by next follow-up).
        # No (stage, pool state) index: SQLite would walk it in stage order over the whole
        # table for a unit's GROUP BY stage.
        Index(
            "ix_opportunity_unit_work",
            "org_unit_id",
            "pool_state",
            "stage",
            "next_follow_up_at",
            "amount",
            "closed_at",
        ),
        # Idle owned opportunities (no follow-up for N days, or none since assignment) read
        # from the index alone: the circulation dashboard, the recycle rules' triggers.
        Index(
            "ix_opportunity_idle",
            "pool_state",
            "last_follow_up_at",
            "assigned_at",
            "created_at",
            "org_unit_id",
            "owner_id",
        ),
        # A period's cohort read from the index alone: the funnel (furthest stage, lost),
        # its splits by line, unit and rep, and how many were contacted within a day.
        Index(
            "ix_opportunity_cohort",
            "created_at",
            "furthest_stage",
            "stage",
            "business_line_id",
            "org_unit_id",
            "owner_id",
            "first_follow_up_at",
        ),
        # The period's assignments and the time to their first contact.
        Index(
            "ix_opportunity_assignment",
            "assigned_at",
            "first_follow_up_at",
            "org_unit_id",
            "owner_id",
        ),
        # Planned follow-ups coming due in a window, for the warnings job's reminders (0032).
        Index("ix_opportunity_follow_up_due", "next_follow_up_at", "pool_state", "owner_id"),
        # The source's id of an opportunity brought over by the history import (0008).
        Index("uq_opportunity_external_id", "external_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    business_line_id: int = Field(foreign_key="business_line.id")
    pipeline_type: str = Field(default="new", max_length=20)
    # The won opportunity a renewal follows (pipeline type `renewal`).
    renewal_of_id: int | None = Field(default=None, foreign_key="opportunity.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    # Who qualified it (a history file's second person, e.g. the SDR beside the closer):
    # team performance can credit them instead of the owner (0015).
    qualified_by_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    # The owner's unit while owned; kept when the opportunity goes to the pool so the pool
    # stays within the team's reach.
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    stage: str = Field(default="new", max_length=40)
    # The furthest funnel stage it ever reached (history or now; lost never counts): the
    # funnel counts it at every stage up to this one. Kept by `stages.record_stage`.
    furthest_stage: str = Field(
        default="new", max_length=40, sa_column_kwargs={"server_default": "new"}
    )
    intention_level: str | None = Field(default=None, max_length=1)
    pool_state: str = Field(default="unassigned", max_length=20)
    unassigned_reason: str | None = Field(default=None, max_length=200)
    assigned_at: datetime | None = datetime_field()
    first_follow_up_at: datetime | None = datetime_field()
    last_follow_up_at: datetime | None = datetime_field()
    next_follow_up_at: datetime | None = datetime_field()
    stage_changed_at: datetime | None = datetime_field()
    protected_until: datetime | None = datetime_field()
    locked: bool = False
    recycle_count: int = 0
    # When the owner was last warned that this opportunity is about to be recycled; a warning
    # is sent again only after the owner changes or works it.
    recycle_warned_at: datetime | None = datetime_field()
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    lost_reason: str | None = Field(default=None, max_length=80)
    closed_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    # Set by the history import: the source CRM's id (re-importing skips it) and the run
    # (the id of the run's audit entry, `history.import`; 0024).
    external_id: str | None = Field(default=None, max_length=80)
    history_import_id: int | None = None


class StageHistory(SQLModel, table=True):
    """Every stage an opportunity entered; funnels count from here."""

    __tablename__ = "stage_history"
    __table_args__ = (Index("ix_stage_history_stage_at", "to_stage", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    from_stage: str | None = Field(default=None, max_length=40)
    to_stage: str = Field(max_length=40)
    changed_at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")


class FollowUp(SQLModel, table=True):
    """One logged contact (跟进)."""

    __tablename__ = "follow_up"
    __table_args__ = (
        Index("ix_follow_up_opportunity_at", "opportunity_id", "created_at"),
        Index("ix_follow_up_author_at", "author_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    author_id: int | None = Field(default=None, foreign_key="app_user.id")
    channel: str = Field(max_length=20)
    content: str = Field(default="", max_length=4000)
    result: str | None = Field(default=None, max_length=80)
    intention_level: str | None = Field(default=None, max_length=1)
    next_follow_up_at: datetime | None = datetime_field()
    call_duration_s: int | None = None
    recording_url: str | None = Field(default=None, max_length=400)
    created_at: datetime = created_at_field()


class FlowEvent(SQLModel, table=True):
    """An append-only record of a change of owner or pool state (流转)."""

    __tablename__ = "flow_event"
    __table_args__ = (
        Index("ix_flow_event_opportunity_at", "opportunity_id", "at"),
        Index("ix_flow_event_at", "at"),
        # Daily caps count what each rep received today; the rule log reads a rule's events.
        Index("ix_flow_event_to_owner_at", "to_owner_id", "at"),
        Index("ix_flow_event_rule", "rule_kind", "rule_id", "at"),
        # Recycles (per rule, by the rep recycled from) and claims (by the claimer) per day
        # on the circulation dashboard, from the index alone (0008).
        Index("ix_flow_event_reason_at", "reason", "at", "rule_id", "from_owner_id", "to_owner_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    at: datetime = created_at_field()
    from_owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    to_owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str = Field(max_length=20)
    reason: str = Field(max_length=40)
    rule_kind: str | None = Field(default=None, max_length=20)
    rule_id: int | None = None
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str | None = Field(default=None, max_length=400)
