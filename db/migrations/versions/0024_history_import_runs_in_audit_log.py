"""The history import runs on the import engine, whose record of a run is its audit entry (as
for every import): the `history_import` table goes. Each run it holds already has its audit
entry (`history.import`, target `history_import`, written in the same transaction); a run
without one gets it here, in the shape those entries have (`{"filename", "status", <count>:
n}`), so the run list keeps every earlier run.

The opportunities a run wrote keep their batch id (`opportunity.history_import_id`): it now
holds the id of the run's audit entry, as a new run writes it, and no longer references the
dropped table. SQLite drops the column's inline reference by moving the values to a new
column (ALTER TABLE ... DROP / RENAME COLUMN, no copy of the table).

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("target_type", sa.String),
    sa.column("target_id", sa.String),
    sa.column("after", sa.JSON),
)
history_import = sa.table(
    "history_import",
    sa.column("id", sa.Integer),
    sa.column("filename", sa.String),
    sa.column("source", sa.String),
    sa.column("actor_id", sa.Integer),
    sa.column("business_line_id", sa.Integer),
    sa.column("mode", sa.String),
    sa.column("status", sa.String),
    sa.column("total_rows", sa.Integer),
    sa.column("imported", sa.Integer),
    sa.column("already_imported", sa.Integer),
    sa.column("rejected", sa.Integer),
    sa.column("users_created", sa.Integer),
    sa.column("units_created", sa.Integer),
    sa.column("started_at", sa.DateTime),
)
_FK = "fk_opportunity_history_import_id"


def _move_batch_ids(statement: str) -> None:
    """Set every imported opportunity's batch id to `statement` (SQL over the old value,
    `opportunity.history_import_id`), dropping the column's reference on the way."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE opportunity ADD COLUMN history_batch INTEGER")
        op.execute(
            f"UPDATE opportunity SET history_batch = ({statement})"
            " WHERE history_import_id IS NOT NULL"
        )
        op.execute("ALTER TABLE opportunity DROP COLUMN history_import_id")
        op.execute("ALTER TABLE opportunity RENAME COLUMN history_batch TO history_import_id")
    else:
        op.drop_constraint(_FK, "opportunity", type_="foreignkey")
        op.execute(
            f"UPDATE opportunity SET history_import_id = ({statement})"
            " WHERE history_import_id IS NOT NULL"
        )


def upgrade() -> None:
    bind = op.get_bind()
    recorded = set(
        bind.execute(
            sa.select(audit_log.c.target_id).where(
                audit_log.c.action == "history.import",
                audit_log.c.target_type == "history_import",
            )
        ).scalars()
    )
    entries = [
        {
            "at": run.started_at,
            "actor_id": run.actor_id,
            "action": "history.import",
            "target_type": "history_import",
            "target_id": str(run.id),
            "after": {
                "filename": run.filename,
                "status": run.status,
                "mode": run.mode,
                "imported": run.imported,
                "already_imported": run.already_imported,
                "rejected": run.rejected,
                "users_created": run.users_created,
                "units_created": run.units_created,
            },
        }
        for run in bind.execute(sa.select(history_import).order_by(history_import.c.id)).all()
        if str(run.id) not in recorded
    ]
    if entries:
        op.bulk_insert(audit_log, entries)
    # The run's audit entry (the first, should a run have two) becomes the batch id.
    _move_batch_ids(
        "SELECT min(a.id) FROM audit_log a WHERE a.action = 'history.import'"
        " AND a.target_type = 'history_import'"
        " AND a.target_id = CAST(opportunity.history_import_id AS VARCHAR(80))"
    )
    with op.batch_alter_table("history_import", schema=None) as batch_op:
        batch_op.drop_index("ix_history_import_actor_id")
    op.drop_table("history_import")


def downgrade() -> None:
    # The table comes back with a row per run the audit log holds (numbered by the entry, so
    # the opportunities' batch ids stay valid); the entries stay in the audit log.
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
    bind = op.get_bind()
    lines = dict(
        bind.execute(
            sa.text(
                "SELECT history_import_id, min(business_line_id) FROM opportunity"
                " WHERE history_import_id IS NOT NULL GROUP BY history_import_id"
            )
        ).all()
    )
    any_line = bind.execute(sa.text("SELECT min(id) FROM business_line")).scalar()
    runs = []
    for entry in bind.execute(
        sa.select(audit_log).where(audit_log.c.action == "history.import")
    ).all():
        after = entry.after if isinstance(entry.after, dict) else {}
        counts = after.get("counts") if isinstance(after.get("counts"), dict) else after
        line = lines.get(entry.id, any_line)
        if line is None:
            continue
        runs.append(
            {
                "id": entry.id,
                "filename": str(after.get("filename") or after.get("source") or "")[:200],
                "source": str(after.get("id_prefix") or "history")[:40],
                "actor_id": entry.actor_id,
                "business_line_id": line,
                "mode": str(after.get("mode") or "good_rows"),
                "status": "refused"
                if after.get("refused") or after.get("status") == "refused"
                else "done",
                "total_rows": int(after.get("total_rows") or 0),
                **{
                    k: int(counts.get(k) or 0)
                    for k in (
                        "imported",
                        "already_imported",
                        "rejected",
                        "users_created",
                        "units_created",
                    )
                },
                "started_at": entry.at,
            }
        )
    if runs:
        op.bulk_insert(history_import, runs)
    if bind.dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE opportunity ADD COLUMN history_batch INTEGER REFERENCES history_import(id)"
        )
        op.execute("UPDATE opportunity SET history_batch = history_import_id")
        op.execute("ALTER TABLE opportunity DROP COLUMN history_import_id")
        op.execute("ALTER TABLE opportunity RENAME COLUMN history_batch TO history_import_id")
    else:
        op.create_foreign_key(_FK, "opportunity", "history_import", ["history_import_id"], ["id"])
