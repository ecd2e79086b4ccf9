"""A QQ number on the lead, and indexes that let a search by a whole e-mail (case ignored),
WeChat id or QQ number find its lead without reading the table.

Plain `add_column` / `create_index` rather than a batch: SQLite adds a nullable column in
place, and a batch would rebuild the table for nothing.

Revision ID: 0026
Revises: 0027
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("lead", sa.Column("qq", sa.String(length=20), nullable=True))
    op.create_index("ix_lead_email_folded", "lead", [sa.text("lower(email)")])
    op.create_index("ix_lead_wechat", "lead", ["wechat"])
    op.create_index("ix_lead_qq", "lead", ["qq"])


def downgrade() -> None:
    op.drop_index("ix_lead_qq", table_name="lead")
    op.drop_index("ix_lead_wechat", table_name="lead")
    op.drop_index("ix_lead_email_folded", table_name="lead")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("qq")
