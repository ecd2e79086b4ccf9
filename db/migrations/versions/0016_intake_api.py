"""The lead intake API: keys per source (hashed secrets, scopes, last use), answers kept
for `Idempotency-Key` retries, per-minute request counters and the external ids received.

Revision ID: 0016
Revises: 0019
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("business_line_ids", sa.JSON(), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "api_idempotency",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_key.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_api_idempotency"),
    )
    op.create_table(
        "api_rate_window",
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_key.id"), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("requests", sa.Integer(), nullable=False),
    )
    op.create_table(
        "api_receipt",
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_key.id"), primary_key=True),
        sa.Column("external_id", sa.String(length=80), primary_key=True),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("lead.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("api_receipt", "api_rate_window", "api_idempotency", "api_key"):
        op.drop_table(table)
