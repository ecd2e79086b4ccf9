"""Campaigns and tags become option lists: every campaign and tag already stored gets an
entry of its list, and the spellings of one word (`Spring-2026`, `spring-2026`) are stored
as one (the most used spelling), so reports group them together.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-05 09:00:00
"""

import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE_LENGTH = 60
LABEL_LENGTH = 120

option = sa.table(
    "metadata_option",
    sa.column("id", sa.Integer),
    sa.column("category", sa.String),
    sa.column("business_line_id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("label_en", sa.String),
    sa.column("label_zh", sa.String),
    sa.column("sort_order", sa.Integer),
    sa.column("active", sa.Boolean),
)
lead = sa.table("lead", sa.column("id", sa.Integer), sa.column("campaign", sa.String))
lead_tag = sa.table("lead_tag", sa.column("lead_id", sa.Integer), sa.column("tag", sa.String))


def _fold(text: str) -> str:
    # As crm_core.platform.metadata.fold (a migration keeps its own copy of the rule).
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


def _words(conn, category: str) -> tuple[dict[str, str], int]:
    """Folded word -> code of the list's options, and the list's last sort order."""
    rows = conn.execute(
        sa.select(option.c.code, option.c.label_en, option.c.label_zh, option.c.sort_order).where(
            option.c.category == category, option.c.business_line_id.is_(None)
        )
    ).all()
    words: dict[str, str] = {}
    for code, en, zh, _order in rows:
        for word in (zh, en, code):
            words[_fold(word)] = code
    return words, max((r[3] for r in rows), default=0)


def _plan(conn, category: str, stored: list[tuple[str, int]]) -> dict[str, str]:
    """Stored spelling -> the code to store instead; adds the missing options."""
    words, last = _words(conn, category)
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for value, count in stored:
        if value and value.strip():
            groups[_fold(value)].append((value, count))
    target: dict[str, str] = {}
    for word, spellings in groups.items():
        code = words.get(word)
        if code is None:
            best = max(spellings, key=lambda s: (s[1], s[0]))[0]
            code = " ".join(best.split())[:CODE_LENGTH].strip()
            last += 1
            conn.execute(
                sa.insert(option).values(
                    category=category,
                    code=code,
                    label_en=best.strip()[:LABEL_LENGTH],
                    label_zh=best.strip()[:LABEL_LENGTH],
                    sort_order=last,
                    active=True,
                )
            )
        for value, _count in spellings:
            if value != code:
                target[value] = code
    return target


def upgrade() -> None:
    conn = op.get_bind()
    campaigns = conn.execute(
        sa.select(lead.c.campaign, sa.func.count())
        .where(lead.c.campaign.is_not(None))
        .group_by(lead.c.campaign)
    ).all()
    for value, code in _plan(conn, "campaign", [tuple(r) for r in campaigns]).items():
        conn.execute(sa.update(lead).where(lead.c.campaign == value).values(campaign=code))
    tags = conn.execute(sa.select(lead_tag.c.tag, sa.func.count()).group_by(lead_tag.c.tag)).all()
    for value, code in _plan(conn, "tag", [tuple(r) for r in tags]).items():
        # A lead that has both spellings keeps one row: insert the missing ones, then drop.
        has_code = sa.select(lead_tag.c.lead_id).where(lead_tag.c.tag == code)
        conn.execute(
            sa.insert(lead_tag).from_select(
                ["lead_id", "tag"],
                sa.select(lead_tag.c.lead_id, sa.literal(code, sa.String)).where(
                    lead_tag.c.tag == value, lead_tag.c.lead_id.not_in(has_code)
                ),
            )
        )
        conn.execute(sa.delete(lead_tag).where(lead_tag.c.tag == value))


def downgrade() -> None:
    # The leads keep the spelling they were given; the two lists go.
    op.get_bind().execute(sa.delete(option).where(option.c.category.in_(("campaign", "tag"))))
