"""The sales domain schema: org, users and roles, leads, opportunities and their history,
rules, products and orders, metadata, settings and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:44:06.046830
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_user_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_user_id"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_phone"), ["phone"], unique=False)

    op.create_table(
        "role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("data_scope", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("scope_unit_ids", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "data_scope IN ('self','team','subtree','custom','all')", name="ck_role_scope"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "metadata_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("label_en", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("label_zh", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("category", "business_line_id", "code", name="uq_metadata_option"),
    )
    with op.batch_alter_table("metadata_option", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metadata_option_category"), ["category"], unique=False)

    op.create_table(
        "org_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("head_user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["head_user_id"], ["app_user.id"], name="fk_org_unit_head_user", use_alter=True
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_unit_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_org_unit_path"), ["path"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("course_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_business_line_id"), ["business_line_id"], unique=False
        )

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("employee_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("skill_tags", sa.JSON(), nullable=False),
        sa.Column("dispatch_weight", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("holding_cap", sa.Integer(), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("sessions_valid_after", sa.DateTime(), nullable=True),
        sa.Column("failed_login_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("hired_on", sa.DateTime(), nullable=True),
        sa.Column("left_on", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('active','on_leave','resigned')", name="ck_user_status"),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employee_no"),
        sa.UniqueConstraint("username"),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_user_status"), ["status"], unique=False)

    # org_unit.head_user_id and app_user.org_unit_id point at each other. SQLite wrote the
    # constraint inline above; PostgreSQL adds it now that both tables exist.
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            "fk_org_unit_head_user", "org_unit", "app_user", ["head_user_id"], ["id"]
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "claim_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "departure_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dispatch_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
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
        sa.Column("rr_position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("phone_suffix", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
        sa.Column("no_phone", sa.Boolean(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("wechat", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("campaign", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("landing_page", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("keyword", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
        sa.UniqueConstraint("phone"),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index("ix_lead_channel_created", ["channel", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_lead_name", ["name"], unique=False)
        batch_op.create_index("ix_lead_phone_suffix", ["phone_suffix"], unique=False)

    op.create_table(
        "login_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_event_username"), ["username"], unique=False)

    op.create_table(
        "recycle_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "setting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id"),
    )
    with op.batch_alter_table("user_role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_role_role_id"), ["role_id"], unique=False)

    op.create_table(
        "lead_tag",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
        ),
        sa.PrimaryKeyConstraint("lead_id", "tag"),
    )
    with op.batch_alter_table("lead_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_tag_tag"), ["tag"], unique=False)

    op.create_table(
        "opportunity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("intention_level", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
        sa.Column("pool_state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("unassigned_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.Column("first_follow_up_at", sa.DateTime(), nullable=True),
        sa.Column("last_follow_up_at", sa.DateTime(), nullable=True),
        sa.Column("next_follow_up_at", sa.DateTime(), nullable=True),
        sa.Column("stage_changed_at", sa.DateTime(), nullable=True),
        sa.Column("protected_until", sa.DateTime(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("recycle_count", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("lost_reason", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "pool_state IN ('unassigned','owned','public','dormant','closed')",
            name="ck_opportunity_pool_state",
        ),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index("ix_opportunity_last_follow_up", ["last_follow_up_at"], unique=False)
        batch_op.create_index(
            "ix_opportunity_next_follow_up", ["owner_id", "next_follow_up_at"], unique=False
        )
        batch_op.create_index(
            "ix_opportunity_owner_state", ["owner_id", "pool_state"], unique=False
        )
        batch_op.create_index("ix_opportunity_stage", ["stage"], unique=False)
        batch_op.create_index(
            "ix_opportunity_state_line", ["pool_state", "business_line_id"], unique=False
        )
        batch_op.create_index(
            "ix_opportunity_unit_state", ["org_unit_id", "pool_state"], unique=False
        )
        batch_op.create_index(
            "uq_opportunity_open_per_line",
            ["lead_id", "business_line_id"],
            unique=True,
            sqlite_where=sa.text("pool_state <> 'closed'"),
            postgresql_where=sa.text("pool_state <> 'closed'"),
        )

    op.create_table(
        "flow_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("from_owner_id", sa.Integer(), nullable=True),
        sa.Column("to_owner_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("to_state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("rule_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["from_owner_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_owner_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flow_event", schema=None) as batch_op:
        batch_op.create_index("ix_flow_event_at", ["at"], unique=False)
        batch_op.create_index(
            "ix_flow_event_opportunity_at", ["opportunity_id", "at"], unique=False
        )

    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("content", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("intention_level", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
        sa.Column("next_follow_up_at", sa.DateTime(), nullable=True),
        sa.Column("call_duration_s", sa.Integer(), nullable=True),
        sa.Column("recording_url", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index("ix_follow_up_author_at", ["author_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_follow_up_opportunity_at", ["opportunity_id", "created_at"], unique=False
        )

    op.create_table(
        "sales_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("payment_ref", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("attributed_owner_id", sa.Integer(), nullable=True),
        sa.Column("attributed_unit_id", sa.Integer(), nullable=True),
        sa.Column(
            "attributed_org_path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending','paid','refunded','cancelled')", name="ck_order_status"
        ),
        sa.ForeignKeyConstraint(
            ["attributed_owner_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["attributed_unit_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_ref"),
    )
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sales_order_attributed_owner_id"), ["attributed_owner_id"], unique=False
        )
        batch_op.create_index(
            "ix_sales_order_attributed_path", ["attributed_org_path"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sales_order_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index("ix_sales_order_paid", ["status", "paid_at"], unique=False)

    op.create_table(
        "stage_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("to_stage", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_history_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index("ix_stage_history_stage_at", ["to_stage", "changed_at"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_org_unit_head_user", "org_unit", type_="foreignkey")
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_history_stage_at")
        batch_op.drop_index(batch_op.f("ix_stage_history_opportunity_id"))

    op.drop_table("stage_history")
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_paid")
        batch_op.drop_index(batch_op.f("ix_sales_order_opportunity_id"))
        batch_op.drop_index("ix_sales_order_attributed_path")
        batch_op.drop_index(batch_op.f("ix_sales_order_attributed_owner_id"))

    op.drop_table("sales_order")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_up_opportunity_at")
        batch_op.drop_index("ix_follow_up_author_at")

    op.drop_table("follow_up")
    with op.batch_alter_table("flow_event", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_event_opportunity_at")
        batch_op.drop_index("ix_flow_event_at")

    op.drop_table("flow_event")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_opportunity_open_per_line",
            sqlite_where=sa.text("pool_state <> 'closed'"),
            postgresql_where=sa.text("pool_state <> 'closed'"),
        )
        batch_op.drop_index("ix_opportunity_unit_state")
        batch_op.drop_index("ix_opportunity_state_line")
        batch_op.drop_index("ix_opportunity_stage")
        batch_op.drop_index("ix_opportunity_owner_state")
        batch_op.drop_index("ix_opportunity_next_follow_up")
        batch_op.drop_index("ix_opportunity_last_follow_up")

    op.drop_table("opportunity")
    with op.batch_alter_table("lead_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_tag_tag"))

    op.drop_table("lead_tag")
    with op.batch_alter_table("user_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_role_role_id"))

    op.drop_table("user_role")
    op.drop_table("setting")
    op.drop_table("recycle_rule")
    with op.batch_alter_table("login_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_event_username"))

    op.drop_table("login_event")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_phone_suffix")
        batch_op.drop_index("ix_lead_name")
        batch_op.drop_index(batch_op.f("ix_lead_customer_id"))
        batch_op.drop_index("ix_lead_channel_created")

    op.drop_table("lead")
    op.drop_table("dispatch_rule")
    op.drop_table("departure_rule")
    op.drop_table("claim_rule")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_status"))
        batch_op.drop_index(batch_op.f("ix_app_user_org_unit_id"))

    op.drop_table("app_user")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_business_line_id"))

    op.drop_table("product")
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_unit_path"))
        batch_op.drop_index(batch_op.f("ix_org_unit_parent_id"))

    op.drop_table("org_unit")
    with op.batch_alter_table("metadata_option", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metadata_option_category"))

    op.drop_table("metadata_option")
    op.drop_table("role")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phone"))

    op.drop_table("customer")
    op.drop_table("business_line")
