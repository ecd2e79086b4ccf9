"""The call centre: lines and caller numbers, seats mapped to users, call records; the
`manage_call_center` permission for the built-in admin role.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-05 14:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERMISSION = "manage_call_center"


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
        sa.select(roles.c.id, roles.c.permissions).where(
            roles.c.code == "admin", roles.c.builtin.is_(True)
        )
    ).all()
    for role_id, permissions in rows:
        if isinstance(permissions, str):
            permissions = json.loads(permissions)
        held = set(permissions or [])
        held = held | {_PERMISSION} if add else held - {_PERMISSION}
        bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=sorted(held)))


def upgrade() -> None:
    op.create_table(
        "call_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=80), nullable=False, unique=True),
        sa.Column("caller_number", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "call_seat",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seat_no", sa.String(length=40), nullable=False, unique=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False, unique=True
        ),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("call_line.id"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "call_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_call_id", sa.String(length=80), nullable=True, unique=True),
        sa.Column("opportunity_id", sa.Integer(), sa.ForeignKey("opportunity.id"), nullable=True),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("lead.id"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("seat_no", sa.String(length=40), nullable=True),
        sa.Column("customer_phone", sa.String(length=20), nullable=True),
        sa.Column("caller_number", sa.String(length=20), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("recording_url", sa.String(length=400), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('dialling','ringing','connected','ended','failed')",
            name="ck_call_record_state",
        ),
    )
    op.create_index("ix_call_record_opportunity", "call_record", ["opportunity_id", "started_at"])
    op.create_index("ix_call_record_user_at", "call_record", ["user_id", "started_at"])
    _grant(add=True)


def downgrade() -> None:
    _grant(add=False)
    op.drop_table("call_record")
    op.drop_table("call_seat")
    op.drop_table("call_line")
