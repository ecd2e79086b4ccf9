"""Two audit actions were written as English words instead of their codes for a while
(roster applications as "Apply the roster", study-activity imports as "Import"): they become
`roster.apply` and `learning.import` again, so the audit page labels them.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

audit_log = sa.table(
    "audit_log",
    sa.column("action", sa.String),
    sa.column("target_type", sa.String),
)
FIXES = (
    ("Apply the roster", "roster", "roster.apply"),
    ("Import", "learning_activity", "learning.import"),
)


def upgrade() -> None:
    for wrong, target, code in FIXES:
        op.get_bind().execute(
            sa.update(audit_log)
            .where(audit_log.c.action == wrong, audit_log.c.target_type == target)
            .values(action=code)
        )


def downgrade() -> None:
    """Nothing to undo: the codes are what the entries always meant."""
