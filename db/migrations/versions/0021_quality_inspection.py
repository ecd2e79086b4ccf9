"""Quality inspection: checklists, sampling plans and reviews; the permission to decide an
appeal for the built-in roles that settle them (administrators and sales managers).

Revision ID: 0021
Revises: 0023
Create Date: 2026-12-05 14:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GRANTS = {"admin": {"qa_decide"}, "sales_manager": {"qa_decide"}}


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
        "qa_checklist",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=120), nullable=False, unique=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "qa_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=120), nullable=False, unique=True),
        sa.Column("checklist_id", sa.Integer(), sa.ForeignKey("qa_checklist.id"), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "qa_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("follow_up_id", sa.Integer(), sa.ForeignKey("follow_up.id"), nullable=False),
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("qa_plan.id"), nullable=True),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("flagged_words", sa.JSON(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), sa.ForeignKey("qa_checklist.id"), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("violation_tags", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("inspector_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("scored_at", sa.DateTime(), nullable=True),
        sa.Column("appeal_reason", sa.String(length=2000), nullable=True),
        sa.Column("appealed_at", sa.DateTime(), nullable=True),
        sa.Column("original_total", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("follow_up_id", "source", name="uq_qa_review_source"),
        sa.CheckConstraint(
            "status IN ('pending','scored','appealed','decided')", name="ck_qa_review_status"
        ),
        sa.CheckConstraint("reason IN ('sample','flag')", name="ck_qa_review_reason"),
    )
    op.create_index("ix_qa_review_status", "qa_review", ["status", "created_at"])
    op.create_index("ix_qa_review_rep", "qa_review", ["rep_id", "scored_at"])
    _grant(add=True)


def downgrade() -> None:
    _grant(add=False)
    op.drop_table("qa_review")
    op.drop_table("qa_plan")
    op.drop_table("qa_checklist")
