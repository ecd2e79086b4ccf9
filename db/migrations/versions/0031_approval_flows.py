"""Approval flows (审批流): configured approver roles per kind and amount threshold, the
requests waiting on them with their history, and the permission to configure them (held by
administrators).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 03:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GRANTS = {"admin": {"manage_approval_flows"}}
_KINDS = "kind IN ('refund','discount','transfer','reactivation')"


def _grant(add: bool) -> None:
    bind = op.get_bind()
    roles = sa.table(
        "role",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", sa.JSON),
    )
    rows = bind.execute(
        sa.select(roles.c.id, roles.c.code, roles.c.permissions).where(
            roles.c.code.in_(list(_GRANTS)), roles.c.builtin.is_(True)
        )
    ).all()
    for role_id, code, permissions in rows:
        if isinstance(permissions, str):
            permissions = json.loads(permissions)
        held = set(permissions or [])
        held = held | _GRANTS[code] if add else held - _GRANTS[code]
        bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=sorted(held)))


def upgrade() -> None:
    op.create_table(
        "approval_flow",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("min_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.CheckConstraint(_KINDS, name="ck_approval_flow_kind"),
        sa.CheckConstraint("min_amount IS NULL OR min_amount >= 0", name="ck_approval_flow_min"),
    )
    op.create_index("ix_approval_flow_kind", "approval_flow", ["kind", "min_amount"])
    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), sa.ForeignKey("opportunity.id"), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("sales_order.id"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("flow_id", sa.Integer(), sa.ForeignKey("approval_flow.id"), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=400), nullable=True),
        sa.CheckConstraint(_KINDS, name="ck_approval_request_kind"),
        sa.CheckConstraint(
            "state IN ('pending','approved','rejected','withdrawn','failed')",
            name="ck_approval_request_state",
        ),
    )
    op.create_index("ix_approval_request_state_at", "approval_request", ["state", "requested_at"])
    op.create_index("ix_approval_request_opportunity", "approval_request", ["opportunity_id"])
    op.create_index("ix_approval_request_order", "approval_request", ["order_id"])
    op.create_index(
        "ix_approval_request_requester", "approval_request", ["requested_by_id", "requested_at"]
    )
    op.create_table(
        "approval_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("approval_request.id"), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=400), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('requested','approved','rejected','withdrawn','applied','failed')",
            name="ck_approval_decision_decision",
        ),
    )
    op.create_index("ix_approval_decision_request", "approval_decision", ["request_id", "at"])
    _grant(True)


def downgrade() -> None:
    _grant(False)
    op.drop_index("ix_approval_decision_request", table_name="approval_decision")
    op.drop_table("approval_decision")
    op.drop_index("ix_approval_request_requester", table_name="approval_request")
    op.drop_index("ix_approval_request_order", table_name="approval_request")
    op.drop_index("ix_approval_request_opportunity", table_name="approval_request")
    op.drop_index("ix_approval_request_state_at", table_name="approval_request")
    op.drop_table("approval_request")
    op.drop_index("ix_approval_flow_kind", table_name="approval_flow")
    op.drop_table("approval_flow")
