"""Storing a checked study activity file, and the rejected rows as a file."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm_core.imports.file_import import (
    ImportResult,
    all_or_nothing_refuses,
    audit_import,
    check_mode,
    check_preview_owner,
    one_transaction,
    rejected_rows_csv,
)
from crm_core.imports.study.preview import WRITTEN, LearningPreview, LearningRow
from crm_core.models import LearningActivity
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission

_CHUNK = 5_000  # rows per upsert statement


@dataclass(frozen=True)
class LearningImportResult(ImportResult):
    """What an import did. When all-or-nothing refused the file (`refused`), the counts say
    what the file held."""

    created: int
    updated: int
    unchanged: int
    older: int
    rejected: int
    audit_id: int | None = None


def _upsert(session: Session):
    """INSERT ... ON CONFLICT (lead, course) DO UPDATE in the database's own dialect. A row
    stored with a later study date than the file's stays as it is, also when another
    import stored it after the preview."""
    table = LearningActivity.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.lead_id, table.c.course],
        set_={
            "customer_id": func.coalesce(new.customer_id, table.c.customer_id),
            "progress_pct": new.progress_pct,
            "last_studied_on": new.last_studied_on,
            "imported_by_id": new.imported_by_id,
            "imported_at": new.imported_at,
        },
        where=or_(
            new.last_studied_on.is_(None),
            table.c.last_studied_on.is_(None),
            new.last_studied_on >= table.c.last_studied_on,
        ),
    )


def _values(row: LearningRow, actor: Actor, now) -> dict:
    return {
        "lead_id": row.lead_id,
        "customer_id": row.customer_id,
        "course": row.course,
        "progress_pct": row.progress_pct,
        "last_studied_on": row.last_studied_on,
        "imported_by_id": actor.user_id,
        "imported_at": now,
    }


def apply_learning_import(
    session: Session, actor: Actor, preview: LearningPreview, mode: str
) -> LearningImportResult:
    """Store a preview's new and changed rows: each (lead, course) takes the file's
    progress and study date, unless the stored row studied later.

    `mode` "good_rows" stores the good rows and leaves the rejected ones out;
    "all_or_nothing" stores nothing when any row is rejected (the result says `refused`).
    One upsert per few thousand rows, a `learning.import` audit entry, one commit; on any
    error everything is rolled back. Refused when the preview was made for another user."""
    actor.require(Permission.MANAGE_CUSTOMERS)
    check_mode(mode)
    check_preview_owner(actor, preview)
    counts = preview.counts
    if all_or_nothing_refuses(mode, preview.rejected):
        return LearningImportResult(mode, False, 0, 0, 0, 0, counts["rejected"])
    now = clock.now()
    rows = [_values(row, actor, now) for row in preview.rows_in(*WRITTEN)]
    with one_transaction(session):
        statement = _upsert(session)
        for start in range(0, len(rows), _CHUNK):
            session.execute(statement, rows[start : start + _CHUNK])
        audit_id = audit_import(
            session, actor, "learning.import", "learning_activity", preview, mode, counts
        )
    return LearningImportResult(
        mode,
        True,
        counts["new"],
        counts["updated"],
        counts["unchanged"],
        counts["older"],
        counts["rejected"],
        audit_id,
    )


def rejected_learning_rows_csv(actor: Actor, preview: LearningPreview, language: str) -> bytes:
    """The rejected rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese):
    the row number, the file's own columns and the reasons in `language`.

    The phone cell shows as `display_phone` shows it to `actor` (masked without
    view_full_phone), and every cell is neutralised so no cell runs as a formula."""
    actor.require(Permission.MANAGE_CUSTOMERS)
    return rejected_rows_csv(actor, preview, language)
