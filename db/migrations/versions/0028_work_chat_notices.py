"""Work-chat notices: a WeCom or DingTalk group robot per org unit (webhook and secret kept
encrypted), each user's opt-in per notice kind, and the delivery log of pushed notices.

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_chat_robot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("webhook_encrypted", sa.String(length=1000), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=1000), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.UniqueConstraint("org_unit_id"),
    )
    op.create_table(
        "work_chat_opt_in",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("kind", sa.String(length=40), primary_key=True),
        sa.Column("since", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "work_chat_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("robot_id", sa.Integer(), sa.ForeignKey("work_chat_robot.id"), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("notice_id"),
    )
    op.create_index(
        "ix_work_chat_delivery_state_due", "work_chat_delivery", ["state", "next_attempt_at"]
    )
    op.create_index(
        "ix_work_chat_delivery_robot_sent", "work_chat_delivery", ["robot_id", "sent_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_work_chat_delivery_robot_sent", table_name="work_chat_delivery")
    op.drop_index("ix_work_chat_delivery_state_due", table_name="work_chat_delivery")
    op.drop_table("work_chat_delivery")
    op.drop_table("work_chat_opt_in")
    op.drop_table("work_chat_robot")
