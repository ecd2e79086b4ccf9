"""Instalment plans (回款计划): an order's deposit and instalments, one row per payment with
the attribution frozen at that payment, and refunds of a part with the reason. Existing
paid and refunded orders get their one payment (and refund) rows, so revenue read from
payments stays what it was.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    with op.batch_alter_table("sales_order") as batch:
        batch.add_column(
            sa.Column("instalments", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("paid_amount", MONEY, nullable=False, server_default="0"))
        batch.add_column(sa.Column("refunded_amount", MONEY, nullable=False, server_default="0"))
    op.create_table(
        "order_instalment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("sales_order.id"), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_amount", MONEY, nullable=False, server_default="0"),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('deposit','instalment')", name="ck_order_instalment_kind"),
        sa.UniqueConstraint("order_id", "sequence", name="uq_order_instalment_sequence"),
    )
    op.create_index("ix_order_instalment_order_id", "order_instalment", ["order_id"])
    op.create_index("ix_order_instalment_open_due", "order_instalment", ["settled_at", "due_on"])
    op.create_table(
        "order_payment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("sales_order.id"), nullable=False),
        sa.Column("payment_ref", sa.String(length=80), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("attributed_owner_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("attributed_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=True),
        sa.Column("attributed_org_path", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("payment_ref"),
    )
    op.create_index("ix_order_payment_order_id", "order_payment", ["order_id"])
    op.create_index("ix_order_payment_paid_at", "order_payment", ["paid_at"])
    op.create_index(
        "ix_order_payment_owner_paid", "order_payment", ["attributed_owner_id", "paid_at"]
    )
    op.create_index("ix_order_payment_path", "order_payment", ["attributed_org_path"])
    op.create_table(
        "order_refund",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("sales_order.id"), nullable=False),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("order_payment.id"), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("refunded_at", sa.DateTime(), nullable=False),
        sa.Column("refunded_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("attributed_owner_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("attributed_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=True),
        sa.Column("attributed_org_path", sa.String(length=400), nullable=True),
    )
    op.create_index("ix_order_refund_order_id", "order_refund", ["order_id"])
    op.create_index("ix_order_refund_refunded_at", "order_refund", ["refunded_at"])
    op.create_index("ix_order_refund_path", "order_refund", ["attributed_org_path"])
    # One payment per order paid so far (and one refund per refunded order), set-based.
    op.execute(
        "INSERT INTO order_payment (order_id, payment_ref, amount, paid_at, recorded_by_id,"
        " attributed_owner_id, attributed_unit_id, attributed_org_path, created_at)"
        " SELECT id, payment_ref, amount, paid_at,"
        " payment_recorded_by_id, attributed_owner_id, attributed_unit_id,"
        " attributed_org_path, paid_at"
        " FROM sales_order WHERE status IN ('paid', 'refunded') AND paid_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO order_refund (order_id, payment_id, amount, reason, refunded_at,"
        " refunded_by_id, attributed_owner_id, attributed_unit_id, attributed_org_path)"
        " SELECT o.id, p.id, o.amount, COALESCE(o.refund_reason, ''),"
        " COALESCE(o.refunded_at, o.paid_at), o.refunded_by_id, o.attributed_owner_id,"
        " o.attributed_unit_id, o.attributed_org_path"
        " FROM sales_order o JOIN order_payment p ON p.order_id = o.id"
        " WHERE o.status = 'refunded'"
    )
    op.execute(
        "UPDATE sales_order SET paid_amount = amount"
        " WHERE status IN ('paid', 'refunded') AND paid_at IS NOT NULL"
    )
    op.execute("UPDATE sales_order SET refunded_amount = amount WHERE status = 'refunded'")


def downgrade() -> None:
    op.drop_index("ix_order_refund_path", table_name="order_refund")
    op.drop_index("ix_order_refund_refunded_at", table_name="order_refund")
    op.drop_index("ix_order_refund_order_id", table_name="order_refund")
    op.drop_table("order_refund")
    op.drop_index("ix_order_payment_path", table_name="order_payment")
    op.drop_index("ix_order_payment_owner_paid", table_name="order_payment")
    op.drop_index("ix_order_payment_paid_at", table_name="order_payment")
    op.drop_index("ix_order_payment_order_id", table_name="order_payment")
    op.drop_table("order_payment")
    op.drop_index("ix_order_instalment_open_due", table_name="order_instalment")
    op.drop_index("ix_order_instalment_order_id", table_name="order_instalment")
    op.drop_table("order_instalment")
    with op.batch_alter_table("sales_order") as batch:
        batch.drop_column("refunded_amount")
        batch.drop_column("paid_amount")
        batch.drop_column("instalments")
