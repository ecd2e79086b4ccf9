"""Covering indexes for counts within a scope: by unit, state and stage; by stage and state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:51:09.246401
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_stage"))
        batch_op.drop_index(batch_op.f("ix_opportunity_unit_state"))
        batch_op.create_index("ix_opportunity_stage_state", ["stage", "pool_state"], unique=False)
        batch_op.create_index(
            "ix_opportunity_unit_state_stage", ["org_unit_id", "pool_state", "stage"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunity_unit_state_stage")
        batch_op.drop_index("ix_opportunity_stage_state")
        batch_op.create_index(
            batch_op.f("ix_opportunity_unit_state"), ["org_unit_id", "pool_state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_opportunity_stage"), ["stage"], unique=False)
