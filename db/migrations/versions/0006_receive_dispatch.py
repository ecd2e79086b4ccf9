"""The `receive_dispatch` permission: the built-in rep and team-lead roles get it, so
dispatch stops handing opportunities to managers and admins in the target units.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:30:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERMISSION = "receive_dispatch"
_ROLES = ("rep", "team_lead")


def _change(add: bool) -> None:
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
            roles.c.code.in_(_ROLES), roles.c.builtin.is_(True)
        )
    ).all()
    for role_id, permissions in rows:
        if isinstance(permissions, str):
            permissions = json.loads(permissions)
        wanted = set(permissions or [])
        wanted = wanted | {_PERMISSION} if add else wanted - {_PERMISSION}
        bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=sorted(wanted)))


def upgrade() -> None:
    _change(add=True)


def downgrade() -> None:
    _change(add=False)
