"""The lead import runs on the import engine, whose record of a run is its audit entry (as for
every import): the `lead_import` table goes. Each run it holds already has its audit entry
(`lead.import`, written in the same transaction); a run without one gets it here, in the
shape those entries have (`{"filename", "status", <count>: n}`), so the run list keeps every
earlier run.

Revision ID: 0019
Revises: 0022
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

audit_log = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("target_type", sa.String),
    sa.column("target_id", sa.String),
    sa.column("after", sa.JSON),
)
lead_import = sa.table(
    "lead_import",
    sa.column("id", sa.Integer),
    sa.column("filename", sa.String),
    sa.column("actor_id", sa.Integer),
    sa.column("mode", sa.String),
    sa.column("status", sa.String),
    sa.column("total_rows", sa.Integer),
    sa.column("created", sa.Integer),
    sa.column("added_line", sa.Integer),
    sa.column("collisions", sa.Integer),
    sa.column("duplicates", sa.Integer),
    sa.column("rejected", sa.Integer),
    sa.column("started_at", sa.DateTime),
)


def upgrade() -> None:
    bind = op.get_bind()
    recorded = set(
        bind.execute(
            sa.select(audit_log.c.target_id).where(
                audit_log.c.action == "lead.import", audit_log.c.target_type == "lead_import"
            )
        ).scalars()
    )
    entries = [
        {
            "at": run.started_at,
            "actor_id": run.actor_id,
            "action": "lead.import",
            "target_type": "lead_import",
            "target_id": str(run.id),
            "after": {
                "filename": run.filename,
                "status": run.status,
                "mode": run.mode,
                "created": run.created,
                "added_line": run.added_line,
                "collision": run.collisions,
                "duplicate": run.duplicates,
                "rejected": run.rejected,
            },
        }
        for run in bind.execute(sa.select(lead_import)).all()
        if str(run.id) not in recorded
    ]
    if entries:
        op.bulk_insert(audit_log, entries)
    with op.batch_alter_table("lead_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_import_actor_id"))
    op.drop_table("lead_import")


def downgrade() -> None:
    # The runs stay in the audit log; the table comes back empty.
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
