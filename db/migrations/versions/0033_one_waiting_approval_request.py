"""One waiting approval request per kind and opportunity, kept by a partial unique index, so
two people asking for the same thing at the same moment open one request, not two.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "state = 'pending'"


def upgrade() -> None:
    # Should two requests already wait for the same thing, the later ones are ended as
    # withdrawn (their history says so) before the index is built.
    op.execute(
        "UPDATE approval_request SET state = 'withdrawn' WHERE state = 'pending' AND EXISTS ("
        " SELECT 1 FROM approval_request a WHERE a.state = 'pending'"
        " AND a.kind = approval_request.kind"
        " AND a.opportunity_id = approval_request.opportunity_id"
        " AND a.id < approval_request.id)"
    )
    op.create_index(
        "uq_approval_request_pending",
        "approval_request",
        ["kind", "opportunity_id"],
        unique=True,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("uq_approval_request_pending", table_name="approval_request")
