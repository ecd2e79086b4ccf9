"""Collaborators on an opportunity: colleagues an owner or a manager adds with read or
read-and-follow-up access; the scope reaches their opportunities through this table.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opportunity_collaborator",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("opportunity_id", sa.Integer(), sa.ForeignKey("opportunity.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("access", sa.String(length=20), nullable=False),
        sa.Column("added_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "access IN ('read','follow_up')", name="ck_opportunity_collaborator_access"
        ),
        sa.UniqueConstraint("opportunity_id", "user_id", name="uq_opportunity_collaborator"),
    )
    op.create_index(
        "ix_opportunity_collaborator_user",
        "opportunity_collaborator",
        ["user_id", "opportunity_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_collaborator_user", table_name="opportunity_collaborator")
    op.drop_table("opportunity_collaborator")
