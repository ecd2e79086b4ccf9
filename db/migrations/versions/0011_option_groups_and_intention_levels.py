"""Option lists become the company's own: a channel has a group (paid, organic, referral,
offline, other) for the channel reports, and the intention levels A-D become an option list
whose labels an administrator edits (the codes stay A-D).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL_GROUP = {
    "sem": "paid",
    "feed": "paid",
    "seo": "organic",
    "content": "organic",
    "chat": "organic",
    "form": "paid",
    "event": "offline",
    "referral": "referral",
    "import": "other",
}
INTENTION_LEVELS = {
    "A": ("A: ready to buy", "A：马上购买"),
    "B": ("B: interested", "B：有兴趣"),
    "C": ("C: undecided", "C：观望"),
    "D": ("D: no intention", "D：无意向"),
}

option = sa.table(
    "metadata_option",
    sa.column("id", sa.Integer),
    sa.column("category", sa.String),
    sa.column("business_line_id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("label_en", sa.String),
    sa.column("label_zh", sa.String),
    sa.column("option_group", sa.String),
    sa.column("sort_order", sa.Integer),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("metadata_option") as batch:
        batch.add_column(sa.Column("option_group", sa.String(length=20), nullable=True))
    conn = op.get_bind()
    for code, group in CHANNEL_GROUP.items():
        conn.execute(
            sa.update(option)
            .where(option.c.category == "channel", option.c.code == code)
            .values(option_group=group)
        )
    have = set(
        conn.execute(
            sa.select(option.c.code).where(
                option.c.category == "intention_level", option.c.business_line_id.is_(None)
            )
        ).scalars()
    )
    # Only a database that already has option lists gets them; an empty one is bootstrapped.
    populated = conn.execute(sa.select(sa.func.count()).select_from(option)).scalar()
    if populated:
        for order, (code, (en, zh)) in enumerate(INTENTION_LEVELS.items()):
            if code not in have:
                conn.execute(
                    sa.insert(option).values(
                        category="intention_level",
                        code=code,
                        label_en=en,
                        label_zh=zh,
                        sort_order=order,
                        active=True,
                    )
                )


def downgrade() -> None:
    op.get_bind().execute(sa.delete(option).where(option.c.category == "intention_level"))
    with op.batch_alter_table("metadata_option") as batch:
        batch.drop_column("option_group")
