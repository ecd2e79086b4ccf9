"""Sales workbench: trial lessons, transfer requests, learning activity, renewal rules;
renewal links on opportunities; discount approval, payment and refund columns on orders;
each role's discount limit.

Columns are added in place (no table copy on SQLite), so a database of a million
opportunities migrates in moments.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Opportunity indexes this revision replaces: (name, columns) before and after.
_OLD_INDEXES = (
    ("ix_opportunity_owner_state", ["owner_id", "pool_state"]),
    ("ix_opportunity_next_follow_up", ["owner_id", "next_follow_up_at"]),
    ("ix_opportunity_unit_state_stage", ["org_unit_id", "pool_state", "stage"]),
    ("ix_opportunity_stage_state", ["stage", "pool_state"]),
    ("ix_opportunity_state_line", ["pool_state", "business_line_id"]),
)
_NEW_INDEXES = (
    (
        "ix_opportunity_owner_work",
        [
            "owner_id",
            "pool_state",
            "stage",
            "next_follow_up_at",
            "amount",
            "closed_at",
            "first_follow_up_at",
        ],
    ),
    (
        "ix_opportunity_unit_work",
        ["org_unit_id", "pool_state", "stage", "next_follow_up_at", "amount", "closed_at"],
    ),
    (
        "ix_opportunity_state_line",
        ["pool_state", "business_line_id", "stage", "amount", "closed_at"],
    ),
)
_DISCOUNTS = {"admin": 100, "sales_manager": 30, "team_lead": 15, "rep": 10}
_ORDER_USERS = ("approved_by_id", "payment_recorded_by_id", "refunded_by_id")


def _add_reference(table: str, name: str, target: str) -> None:
    """A nullable id column pointing at `target`. SQLite takes the reference inside ADD
    COLUMN (Alembic would copy the whole table to add a constraint); PostgreSQL gets a
    named constraint."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {name} INTEGER REFERENCES {target}(id)")
    else:
        op.add_column(table, sa.Column(name, sa.Integer(), nullable=True))
        op.create_foreign_key(f"fk_{table}_{name}", table, target, [name], ["id"])


def _rule_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["business_line_id"], ["business_line.id"]),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def upgrade() -> None:
    _rule_table("renewal_rule")
    op.create_table(
        "learning_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("course", sa.String(length=200), nullable=False),
        sa.Column("progress_pct", sa.Integer(), nullable=False),
        sa.Column("last_studied_on", sa.Date(), nullable=True),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["imported_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "course", name="uq_learning_activity_lead_course"),
    )
    op.create_index("ix_learning_activity_customer", "learning_activity", ["customer_id"])
    op.create_table(
        "transfer_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("suggested_owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending','approved','rejected','withdrawn')",
            name="ck_transfer_request_status",
        ),
        sa.ForeignKeyConstraint(["decided_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["suggested_owner_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_transfer_request_opportunity_id", "transfer_request", ["opportunity_id"])
    op.create_index("ix_transfer_request_status_at", "transfer_request", ["status", "created_at"])
    op.create_index(
        "uq_transfer_request_pending",
        "transfer_request",
        ["opportunity_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "trial_lesson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=False),
        sa.Column("course", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=400), nullable=True),
        sa.Column("booked_by_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('booked','done','no_show','cancelled')", name="ck_trial_lesson_status"
        ),
        sa.ForeignKeyConstraint(["booked_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_trial_lesson_booked_by_at", "trial_lesson", ["booked_by_id", "scheduled_at"]
    )
    op.create_index(
        "ix_trial_lesson_opportunity", "trial_lesson", ["opportunity_id", "scheduled_at"]
    )

    _add_reference("opportunity", "renewal_of_id", "opportunity")
    op.create_index("ix_opportunity_renewal_of_id", "opportunity", ["renewal_of_id"])
    # The workbench and the board read a rep's or a unit's work from the index alone.
    for name, _ in _OLD_INDEXES:
        op.drop_index(name, table_name="opportunity")
    for name, columns in _NEW_INDEXES:
        op.create_index(name, "opportunity", columns)

    op.add_column(
        "role", sa.Column("max_discount_pct", sa.Integer(), nullable=False, server_default="0")
    )
    role = sa.table(
        "role",
        sa.column("code", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("max_discount_pct", sa.Integer),
    )
    for code, pct in _DISCOUNTS.items():
        op.execute(
            role.update()
            .where(role.c.code == code, role.c.builtin.is_(True))
            .values(max_discount_pct=pct)
        )

    op.add_column("sales_order", sa.Column("note", sa.String(length=400), nullable=True))
    op.add_column(
        "sales_order",
        sa.Column("approval", sa.String(length=20), nullable=False, server_default="none"),
    )
    op.add_column("sales_order", sa.Column("approval_note", sa.String(length=400), nullable=True))
    op.add_column("sales_order", sa.Column("approved_at", sa.DateTime(), nullable=True))
    op.add_column("sales_order", sa.Column("refund_reason", sa.String(length=400), nullable=True))
    op.add_column("sales_order", sa.Column("cancelled_at", sa.DateTime(), nullable=True))
    op.add_column("sales_order", sa.Column("course_ends_at", sa.DateTime(), nullable=True))
    for name in _ORDER_USERS:
        _add_reference("sales_order", name, "app_user")
    op.create_index("ix_sales_order_approval", "sales_order", ["approval", "status"])
    op.create_index("ix_sales_order_course_end", "sales_order", ["course_ends_at"])
    # Paid orders of the past get their course end from their product.
    op.execute(
        "UPDATE sales_order SET course_ends_at = ("
        + (
            "paid_at + (SELECT course_days FROM product WHERE product.id = sales_order.product_id)"
            " * INTERVAL '1 day'"
            if op.get_bind().dialect.name == "postgresql"
            else "datetime(paid_at, '+' || (SELECT course_days FROM product"
            " WHERE product.id = sales_order.product_id) || ' days')"
        )
        + ") WHERE paid_at IS NOT NULL AND product_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_sales_order_course_end", table_name="sales_order")
    op.drop_index("ix_sales_order_approval", table_name="sales_order")
    with op.batch_alter_table("sales_order") as batch:
        for name in _ORDER_USERS:
            if op.get_bind().dialect.name == "postgresql":
                batch.drop_constraint(f"fk_sales_order_{name}", type_="foreignkey")
            batch.drop_column(name)
        for name in (
            "course_ends_at",
            "cancelled_at",
            "refund_reason",
            "approved_at",
            "approval_note",
            "approval",
            "note",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("role") as batch:
        batch.drop_column("max_discount_pct")
    for name, _ in _NEW_INDEXES:
        op.drop_index(name, table_name="opportunity")
    for name, columns in _OLD_INDEXES:
        op.create_index(name, "opportunity", columns)
    op.drop_index("ix_opportunity_renewal_of_id", table_name="opportunity")
    with op.batch_alter_table("opportunity") as batch:
        if op.get_bind().dialect.name == "postgresql":
            batch.drop_constraint("fk_opportunity_renewal_of_id", type_="foreignkey")
        batch.drop_column("renewal_of_id")
    op.drop_table("trial_lesson")
    op.drop_table("transfer_request")
    op.drop_table("learning_activity")
    op.drop_table("renewal_rule")
