"""Sampling plans on a schedule: the week a plan was last drawn for (so the worker's weekly
run draws each week once) and when it was paused.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("qa_plan") as batch:
        batch.add_column(sa.Column("drawn_week", sa.Date(), nullable=True))
        batch.add_column(sa.Column("paused_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("qa_plan") as batch:
        batch.drop_column("paused_at")
        batch.drop_column("drawn_week")
