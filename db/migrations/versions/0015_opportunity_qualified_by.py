"""An opportunity keeps who qualified it beside who owns (closed) it: a history file's second
person column (an SDR beside the closer), so team performance can credit either.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-08 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite takes the reference inside ADD COLUMN (no table copy); PostgreSQL gets a
    # named constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE opportunity ADD COLUMN qualified_by_id INTEGER REFERENCES app_user(id)"
        )
    else:
        op.add_column("opportunity", sa.Column("qualified_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_opportunity_qualified_by_id", "opportunity", "app_user", ["qualified_by_id"], ["id"]
        )
    op.create_index("ix_opportunity_qualified_by_id", "opportunity", ["qualified_by_id"])


def downgrade() -> None:
    op.drop_index("ix_opportunity_qualified_by_id", table_name="opportunity")
    with op.batch_alter_table("opportunity") as batch:
        if op.get_bind().dialect.name == "postgresql":
            batch.drop_constraint("fk_opportunity_qualified_by_id", type_="foreignkey")
        batch.drop_column("qualified_by_id")
