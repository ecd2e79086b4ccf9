"""Dashboards: marketing spend per channel, campaign and month; history import runs; the
source id and the run on imported opportunities; each opportunity's furthest funnel stage
(filled from its stage history); indexes for the dashboards' reads.

Columns are added in place (no table copy on SQLite), so a database of a million
opportunities migrates in moments.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_reference(table: str, name: str, target: str) -> None:
    """A nullable id column pointing at `target`. SQLite takes the reference inside ADD
    COLUMN (Alembic would copy the whole table to add a constraint); PostgreSQL gets a
    named constraint."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {name} INTEGER REFERENCES {target}(id)")
    else:
        op.add_column(table, sa.Column(name, sa.Integer(), nullable=True))
        op.create_foreign_key(f"fk_{table}_{name}", table, target, [name], ["id"])


_FUNNEL = ("new", "contacted", "qualified", "trial_booked", "trial_done", "won")


def _rank(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(_FUNNEL))
    return f"CASE {column} {whens} ELSE -1 END"


def _fill_furthest_stage() -> None:
    """Every opportunity's furthest funnel stage from its history and current stage, in one
    statement (only the rows past `new` are written)."""
    best = (
        f"(SELECT max({_rank('h.to_stage')}) FROM stage_history h"
        " WHERE h.opportunity_id = opportunity.id)"
    )
    greatest = "greatest" if op.get_bind().dialect.name == "postgresql" else "max"
    furthest = f"{greatest}({_rank('stage')}, coalesce({best}, -1))"
    whens = " ".join(f"WHEN {rank} THEN '{stage}'" for rank, stage in enumerate(_FUNNEL))
    op.execute(
        f"UPDATE opportunity SET furthest_stage = CASE {furthest} {whens} ELSE 'new' END"
        f" WHERE {furthest} > 0"
    )


def upgrade() -> None:
    op.create_table(
        "marketing_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("campaign", sa.String(length=120), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("note", sa.String(length=400), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["entered_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "channel", "campaign", name="uq_marketing_spend_month"),
    )
    op.create_table(
        "history_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("business_line_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("already_imported", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("users_created", sa.Integer(), nullable=False),
        sa.Column("units_created", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["business_line_id"], ["business_line.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_history_import_actor_id", "history_import", ["actor_id"])

    op.add_column("opportunity", sa.Column("external_id", sa.String(length=80), nullable=True))
    _add_reference("opportunity", "history_import_id", "history_import")
    op.create_index("uq_opportunity_external_id", "opportunity", ["external_id"], unique=True)
    # The dashboards' watermark reads the newest refund; refunds per period read a range.
    op.create_index("ix_sales_order_refunded", "sales_order", ["status", "refunded_at"])
    # Recycles per rule and claims per day read one reason's events of a period, with the
    # people they were taken from or given to.
    op.create_index(
        "ix_flow_event_reason_at",
        "flow_event",
        ["reason", "at", "rule_id", "from_owner_id", "to_owner_id"],
    )
    op.add_column(
        "opportunity",
        sa.Column("furthest_stage", sa.String(length=40), nullable=False, server_default="new"),
    )
    _fill_furthest_stage()
    op.create_index(
        "ix_opportunity_cohort",
        "opportunity",
        [
            "created_at",
            "furthest_stage",
            "stage",
            "business_line_id",
            "org_unit_id",
            "owner_id",
            "first_follow_up_at",
        ],
    )
    # Idle owned ones read from the index alone; it serves what the narrower index did.
    op.drop_index("ix_opportunity_last_follow_up", table_name="opportunity")
    op.create_index(
        "ix_opportunity_idle",
        "opportunity",
        ["pool_state", "last_follow_up_at", "assigned_at", "created_at", "org_unit_id", "owner_id"],
    )
    op.create_index(
        "ix_opportunity_assignment",
        "opportunity",
        ["assigned_at", "first_follow_up_at", "org_unit_id", "owner_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_assignment", table_name="opportunity")
    op.drop_index("ix_opportunity_idle", table_name="opportunity")
    op.create_index("ix_opportunity_last_follow_up", "opportunity", ["last_follow_up_at"])
    op.drop_index("ix_opportunity_cohort", table_name="opportunity")
    with op.batch_alter_table("opportunity") as batch:
        batch.drop_column("furthest_stage")
    op.drop_index("ix_flow_event_reason_at", table_name="flow_event")
    op.drop_index("ix_sales_order_refunded", table_name="sales_order")
    op.drop_index("uq_opportunity_external_id", table_name="opportunity")
    with op.batch_alter_table("opportunity") as batch:
        if op.get_bind().dialect.name == "postgresql":
            batch.drop_constraint("fk_opportunity_history_import_id", type_="foreignkey")
        batch.drop_column("history_import_id")
        batch.drop_column("external_id")
    op.drop_index("ix_history_import_actor_id", table_name="history_import")
    op.drop_table("history_import")
    op.drop_table("marketing_spend")
