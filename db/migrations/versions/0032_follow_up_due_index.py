"""An index of opportunities by planned next follow-up: the warnings job tells owners of the
follow-ups that came due since its last run, reading only that window.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 03:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_opportunity_follow_up_due",
        "opportunity",
        ["next_follow_up_at", "pool_state", "owner_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_follow_up_due", table_name="opportunity")
