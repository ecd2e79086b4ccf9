"""The SMS platform: templates with an approval state, the sensitive-word list, opt-outs and
the message log; the SMS permissions for the built-in roles that send or manage messages.

Revision ID: 0020
Revises: 0013
Create Date: 2026-12-05 13:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# built-in role -> the SMS permissions it gains
_GRANTS = {
    "admin": {"send_sms", "bulk_sms", "manage_sms", "approve_sms"},
    "sales_manager": {"send_sms", "bulk_sms"},
    "team_lead": {"send_sms"},
    "rep": {"send_sms"},
    "marketing": {"send_sms", "bulk_sms", "manage_sms"},
}


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
        "sms_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=120), nullable=False, unique=True),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("review_note", sa.String(length=400), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("purpose IN ('notice','marketing')", name="ck_sms_template_purpose"),
        sa.CheckConstraint(
            "state IN ('draft','pending','approved','rejected','retired')",
            name="ck_sms_template_state",
        ),
    )
    op.create_table(
        "sensitive_word",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("word", sa.String(length=60), nullable=False),
        sa.Column("word_key", sa.String(length=60), nullable=False, unique=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "sms_opt_out",
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("lead.id"), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
    )
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("lead.id"), nullable=False),
        sa.Column("template_id", sa.Integer(), sa.ForeignKey("sms_template.id"), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=1200), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(12, 4), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("provider_message_id", sa.String(length=80), nullable=True),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.Column("event_key", sa.String(length=80), nullable=True),
        sa.Column("sent_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued','sending','sent','delivered','failed')",
            name="ck_sms_message_status",
        ),
        sa.UniqueConstraint("event_key", name="uq_sms_message_event_key"),
    )
    op.create_index(
        "ix_sms_message_queued",
        "sms_message",
        ["created_at"],
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )
    op.create_index("ix_sms_message_lead_at", "sms_message", ["lead_id", "created_at"])
    op.create_index("ix_sms_message_provider_id", "sms_message", ["provider_message_id"])
    op.create_index("ix_sms_message_batch", "sms_message", ["batch_id"])
    _grant(add=True)


def downgrade() -> None:
    _grant(add=False)
    op.drop_table("sms_message")
    op.drop_table("sms_opt_out")
    op.drop_table("sensitive_word")
    op.drop_table("sms_template")
