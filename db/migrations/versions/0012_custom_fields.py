"""Custom fields on leads and opportunities: their definitions, and typed value tables with
one partial index per value column, (field, value, row), for filters.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALUE_TABLES = (
    ("lead_field_value", "lead_id", "lead"),
    ("opportunity_field_value", "opportunity_id", "opportunity"),
)


def upgrade() -> None:
    op.create_table(
        "custom_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("label_en", sa.String(length=120), nullable=False),
        sa.Column("label_zh", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("role_codes", sa.JSON(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_custom_field_code", "custom_field", ["entity", "code"], unique=True)
    for table, owner, target in VALUE_TABLES:
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column(owner, sa.Integer(), nullable=False),
            sa.Column("field_id", sa.Integer(), nullable=False),
            sa.Column("text_value", sa.String(length=500), nullable=True),
            sa.Column("number_value", sa.Float(), nullable=True),
            sa.Column("date_value", sa.Date(), nullable=True),
            sa.ForeignKeyConstraint([owner], [f"{target}.id"]),
            sa.ForeignKeyConstraint(["field_id"], ["custom_field.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(f"ix_{table}_owner", table, [owner, "field_id"])
        for column in ("text", "number", "date"):
            where = sa.text(f"{column}_value IS NOT NULL")
            op.create_index(
                f"ix_{table}_{column}",
                table,
                ["field_id", f"{column}_value", owner],
                sqlite_where=where,
                postgresql_where=where,
            )


def downgrade() -> None:
    for table, _owner, _target in VALUE_TABLES:
        op.drop_table(table)
    op.drop_index("uq_custom_field_code", table_name="custom_field")
    op.drop_table("custom_field")
