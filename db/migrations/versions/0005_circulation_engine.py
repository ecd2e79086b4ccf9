"""Circulation engine: rule versions, dispatch tallies, notices, job runs and job locks;
recycle warnings on opportunities; flow-event indexes for daily caps and rule logs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:11:15.426006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_lock",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=400), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index("ix_job_run_job_started", ["job", "started_at"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notice_user_read", ["user_id", "read_at", "created_at"], unique=False
        )

    op.create_table(
        "rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_kind", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rule_version", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rule_version_rule", ["rule_kind", "rule_id", "version"], unique=False
        )

    op.create_table(
        "dispatch_tally",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["dispatch_rule.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("rule_id", "user_id"),
    )
    with op.batch_alter_table("flow_event", schema=None) as batch_op:
        batch_op.create_index("ix_flow_event_rule", ["rule_kind", "rule_id", "at"], unique=False)
        batch_op.create_index("ix_flow_event_to_owner_at", ["to_owner_id", "at"], unique=False)

    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recycle_warned_at", sa.DateTime(), nullable=True))

    op.bulk_insert(
        sa.table("job_lock", sa.column("name", sa.String())),
        [{"name": name} for name in ("dispatch", "recycle", "warnings")],
    )


def downgrade() -> None:
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_column("recycle_warned_at")

    with op.batch_alter_table("flow_event", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_event_to_owner_at")
        batch_op.drop_index("ix_flow_event_rule")

    op.drop_table("dispatch_tally")
    with op.batch_alter_table("rule_version", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_version_rule")

    op.drop_table("rule_version")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_user_read")

    op.drop_table("notice")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_job_run_job_started")

    op.drop_table("job_run")
    op.drop_table("job_lock")
