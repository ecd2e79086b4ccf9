"""The merged-lead index holds merged leads only, so searches never read it for live ones;
the name index carries merged_into_id, so a name-prefix count reads the index alone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MERGED = sa.text("merged_into_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_name_key")
        batch_op.create_index("ix_lead_name_key", ["name_key", "merged_into_id"], unique=False)
        batch_op.drop_index("ix_lead_merged_into")
        batch_op.create_index(
            "ix_lead_merged_into",
            ["merged_into_id"],
            unique=False,
            sqlite_where=_MERGED,
            postgresql_where=_MERGED,
        )


def downgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_name_key")
        batch_op.create_index("ix_lead_name_key", ["name_key"], unique=False)
        batch_op.drop_index("ix_lead_merged_into")
        batch_op.create_index("ix_lead_merged_into", ["merged_into_id"], unique=False)
