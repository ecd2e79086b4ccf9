"""Approval flows (审批流): the configured steps per kind and amount threshold, the requests
waiting on them, and every decision on a request (its history)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Column, Index, Numeric, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field, json_dict_field, json_list_field

APPROVAL_KINDS = ("refund", "discount", "transfer", "reactivation")
REQUEST_STATES = ("pending", "approved", "rejected", "withdrawn", "failed")
DECISIONS = ("requested", "approved", "rejected", "withdrawn", "applied", "failed")


class ApprovalFlow(SQLModel, table=True):
    """The ordered approver roles for requests of `kind` whose amount reaches `min_amount`
    (None: any amount). Of a kind's enabled flows, the one with the highest threshold not
    above the request's amount applies; none: no approval is needed."""

    __tablename__ = "approval_flow"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('refund','discount','transfer','reactivation')",
            name="ck_approval_flow_kind",
        ),
        CheckConstraint("min_amount IS NULL OR min_amount >= 0", name="ck_approval_flow_min"),
        Index("ix_approval_flow_kind", "kind", "min_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    min_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    steps: list = json_list_field()  # role ids, in order
    enabled: bool = True
    updated_at: datetime = created_at_field()
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class ApprovalRequest(SQLModel, table=True):
    """Something waiting for approval: what to do (`payload`) once the last step of the
    flow's steps as they were at request time (`steps`) approves."""

    __tablename__ = "approval_request"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('refund','discount','transfer','reactivation')",
            name="ck_approval_request_kind",
        ),
        CheckConstraint(
            "state IN ('pending','approved','rejected','withdrawn','failed')",
            name="ck_approval_request_state",
        ),
        Index("ix_approval_request_state_at", "state", "requested_at"),
        Index("ix_approval_request_opportunity", "opportunity_id"),
        Index("ix_approval_request_order", "order_id"),
        Index("ix_approval_request_requester", "requested_by_id", "requested_at"),
        # One waiting request per kind and opportunity, also when two people ask at once
        # (0033).
        Index(
            "uq_approval_request_pending",
            "kind",
            "opportunity_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    state: str = Field(default="pending", max_length=20)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    order_id: int | None = Field(default=None, foreign_key="sales_order.id")
    payload: dict = json_dict_field()
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    flow_id: int | None = Field(default=None, foreign_key="approval_flow.id")
    steps: list = Field(default_factory=list, sa_type=JSON, nullable=False)
    current_step: int = 0
    requested_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    requested_at: datetime = created_at_field()
    decided_at: datetime | None = datetime_field()
    outcome: str | None = Field(default=None, max_length=400)


class ApprovalDecision(SQLModel, table=True):
    """One line of a request's history: asked, approved or rejected at a step, withdrawn,
    applied, or failed at apply time (with the reason as the note)."""

    __tablename__ = "approval_decision"
    __table_args__ = (
        CheckConstraint(
            "decision IN ('requested','approved','rejected','withdrawn','applied','failed')",
            name="ck_approval_decision_decision",
        ),
        Index("ix_approval_decision_request", "request_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    step: int = 0
    approver_id: int | None = Field(default=None, foreign_key="app_user.id")
    decision: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=400)
    at: datetime = created_at_field()
