"""Sales targets (业绩目标): a target per month, metric and org unit or rep, the history of
its changes, and the permission to set them for the built-in roles that run teams
(sales managers and team leads; administrators hold every permission).

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-06 10:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GRANTS = {
    "admin": {"manage_targets"},
    "sales_manager": {"manage_targets"},
    "team_lead": {"manage_targets"},
}
_UNIT = sa.text("org_unit_id IS NOT NULL")
_USER = sa.text("user_id IS NOT NULL")


def _grant(add: bool) -> None:
    bind = op.get_bind()
    roles = sa.table(
        "role",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", sa.JSON),
    )
    rows = bind.execute(
        sa.select(roles.c.id, roles.c.code, roles.c.permissions).where(
            roles.c.code.in_(list(_GRANTS)), roles.c.builtin.is_(True)
        )
    ).all()
    for role_id, code, permissions in rows:
        if isinstance(permissions, str):
            permissions = json.loads(permissions)
        held = set(permissions or [])
        held = held | _GRANTS[code] if add else held - _GRANTS[code]
        bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=sorted(held)))


def upgrade() -> None:
    op.create_table(
        "sales_target",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("value", sa.Numeric(14, 2), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "metric IN ('revenue','won','new_students')", name="ck_sales_target_metric"
        ),
        sa.CheckConstraint(
            "(org_unit_id IS NULL) <> (user_id IS NULL)", name="ck_sales_target_subject"
        ),
        sa.CheckConstraint("value >= 0", name="ck_sales_target_value"),
    )
    op.create_index(
        "uq_sales_target_unit",
        "sales_target",
        ["org_unit_id", "month", "metric"],
        unique=True,
        sqlite_where=_UNIT,
        postgresql_where=_UNIT,
    )
    op.create_index(
        "uq_sales_target_user",
        "sales_target",
        ["user_id", "month", "metric"],
        unique=True,
        sqlite_where=_USER,
        postgresql_where=_USER,
    )
    op.create_index("ix_sales_target_month", "sales_target", ["month", "metric"])
    op.create_table(
        "sales_target_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target_id", sa.Integer(), sa.ForeignKey("sales_target.id"), nullable=False),
        sa.Column("old_value", sa.Numeric(14, 2), nullable=True),
        sa.Column("new_value", sa.Numeric(14, 2), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=400), nullable=True),
    )
    op.create_index(
        "ix_sales_target_change_target", "sales_target_change", ["target_id", "changed_at"]
    )
    _grant(add=True)


def downgrade() -> None:
    _grant(add=False)
    op.drop_table("sales_target_change")
    op.drop_table("sales_target")
