"""The company's time zone becomes an IANA name (`company.time_zone`) instead of a fixed
offset (`company.utc_offset_hours`), and the one-time setup token of an empty console gets
its table (only the token's hash is stored).

An offset of +8 becomes `Asia/Shanghai`; another whole offset N becomes `Etc/GMT-N` (the
Etc zones' sign is inverted: `Etc/GMT-5` is UTC+5), 0 becomes `UTC`. Down: a zone becomes
its offset in January (standard time where there is daylight saving).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = "company.utc_offset_hours"
NEW_KEY = "company.time_zone"

setting = sa.table(
    "setting",
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_by_id", sa.Integer),
    sa.column("updated_at", sa.DateTime),
)


def zone_for_offset(hours: float) -> str:
    """The IANA zone a stored whole-hour offset becomes."""
    hours = int(round(float(hours)))
    if hours == 8:
        return "Asia/Shanghai"
    if hours == 0:
        return "UTC"
    return f"Etc/GMT{-hours:+d}"


def offset_for_zone(name: str) -> int:
    """The whole-hour offset a zone becomes again (January's: standard time)."""
    try:
        zone = ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return 8
    offset = datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset()
    return int(round(offset.total_seconds() / 3600)) if offset is not None else 0


def _move(old_key: str, new_key: str, convert) -> None:
    conn = op.get_bind()
    row = conn.execute(
        sa.select(setting.c.value, setting.c.updated_by_id, setting.c.updated_at).where(
            setting.c.key == old_key
        )
    ).first()
    if row is None:
        return
    conn.execute(sa.delete(setting).where(setting.c.key.in_((old_key, new_key))))
    if row.value is not None:
        conn.execute(
            sa.insert(setting).values(
                key=new_key,
                value=convert(row.value),
                updated_by_id=row.updated_by_id,
                updated_at=row.updated_at,
            )
        )


def upgrade() -> None:
    op.create_table(
        "setup_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(), nullable=True),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _move(OLD_KEY, NEW_KEY, zone_for_offset)


def downgrade() -> None:
    _move(NEW_KEY, OLD_KEY, offset_for_zone)
    op.drop_table("setup_token")
