"""The activity rankings read trials booked per rep and period from an index.

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trial_lesson_booked_by_created", "trial_lesson", ["booked_by_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_trial_lesson_booked_by_created", table_name="trial_lesson")
