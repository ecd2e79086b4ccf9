"""Lead library: name search key, merges, import runs, customer e-mail, scope index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "lead_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("added_line", sa.Integer(), nullable=False),
        sa.Column("collisions", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_import_actor_id"), ["actor_id"], unique=False)

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", _KEY, nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
    # Leads stored before the key existed: lower() is what both databases offer in SQL.
    op.execute("UPDATE lead SET name_key = lower(name)")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=_KEY, nullable=False)
        batch_op.alter_column(
            "campaign", existing_type=sa.String(120), type_=_KEY, existing_nullable=True
        )
        batch_op.create_foreign_key(
            "fk_lead_merged_into_id_lead", "lead", ["merged_into_id"], ["id"]
        )
        batch_op.drop_index("ix_lead_name")
        batch_op.create_index("ix_lead_name_key", ["name_key"], unique=False)
        batch_op.create_index("ix_lead_created", ["created_at"], unique=False)
        batch_op.create_index("ix_lead_campaign", ["campaign"], unique=False)
        batch_op.create_index("ix_lead_merged_into", ["merged_into_id"], unique=False)
        batch_op.create_index("ix_lead_created_by", ["created_by_id"], unique=False)

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_opportunity_lead_scope", ["lead_id", "owner_id", "org_unit_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunity_lead_scope")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("email")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_created_by")
        batch_op.drop_index("ix_lead_merged_into")
        batch_op.drop_index("ix_lead_campaign")
        batch_op.drop_index("ix_lead_created")
        batch_op.drop_index("ix_lead_name_key")
        batch_op.create_index("ix_lead_name", ["name"], unique=False)
        batch_op.drop_constraint("fk_lead_merged_into_id_lead", type_="foreignkey")
        batch_op.alter_column(
            "campaign", existing_type=_KEY, type_=sa.String(120), existing_nullable=True
        )
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("name_key")
    with op.batch_alter_table("lead_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_import_actor_id"))
    op.drop_table("lead_import")
