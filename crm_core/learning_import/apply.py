"""Storing a checked study activity file, and the rejected rows as a file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm_core import audit, clock
from crm_core.access import Actor
from crm_core.cells import neutralise_cell
from crm_core.errors import ValidationError
from crm_core.i18n import translate
from crm_core.learning_import.preview import WRITTEN, LearningPreview, LearningRow
from crm_core.masking import display_phone
from crm_core.models import LearningActivity
from crm_core.permissions import Permission
from crm_core.phones import normalise_phone

MODES: tuple[str, ...] = ("good_rows", "all_or_nothing")
_CHUNK = 5_000  # rows per upsert statement


@dataclass(frozen=True)
class LearningImportResult:
    """What an import did. `stored` is False when all-or-nothing refused a file with
    rejected rows: then nothing was written and the counts say what the file held."""

    mode: str
    stored: bool
    created: int
    updated: int
    unchanged: int
    older: int
    rejected: int
    audit_id: int | None = None

    @property
    def refused(self) -> bool:
        return not self.stored


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


def apply_learning_import(session: Session, actor: Actor, preview: LearningPreview,
                          mode: str) -> LearningImportResult:  # fmt: skip
    """Store a preview's new and changed rows: each (lead, course) takes the file's
    progress and study date, unless the stored row studied later.

    `mode` "good_rows" stores the good rows and leaves the rejected ones out;
    "all_or_nothing" stores nothing when any row is rejected (the result says `refused`).
    One upsert per few thousand rows, a `learning.import` audit entry, one commit; on any
    error everything is rolled back. Refused when the preview was made for another user."""
    actor.require(Permission.MANAGE_CUSTOMERS)
    if mode not in MODES:
        raise ValidationError("learning.error.mode", mode=mode)
    if preview.actor_user_id != actor.user_id:
        raise ValidationError("learning.error.other_actor")
    counts = preview.counts
    if mode == "all_or_nothing" and preview.rejected:
        return LearningImportResult(mode, False, 0, 0, 0, 0, counts["rejected"])
    now = clock.now()
    rows = [_values(row, actor, now) for row in preview.rows_in(*WRITTEN)]
    try:
        statement = _upsert(session)
        for start in range(0, len(rows), _CHUNK):
            session.execute(statement, rows[start : start + _CHUNK])
        summary = {
            "source": preview.source[:200],
            "mode": mode,
            "counts": {k: counts[k] for k in ("new", "updated", "unchanged", "older", "rejected")},
        }
        entry = audit.record(session, actor, "learning.import", "learning_activity", None, None,
                             summary)  # fmt: skip
        session.flush()
        audit_id = entry.id
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return LearningImportResult(mode, True, counts["new"], counts["updated"],
                                counts["unchanged"], counts["older"], counts["rejected"],
                                audit_id)  # fmt: skip


def rejected_learning_rows_csv(actor: Actor, preview: LearningPreview, language: str) -> bytes:
    """The rejected rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese):
    the row number, the file's own columns and the reasons in `language`.

    The phone cell shows as `display_phone` shows it to `actor` (masked without
    view_full_phone), and every cell is neutralised so no cell runs as a formula."""
    actor.require(Permission.MANAGE_CUSTOMERS)
    if preview.actor_user_id != actor.user_id:
        raise ValidationError("learning.error.other_actor")
    phone_column = preview.mapping.get("phone")
    phone_at = preview.columns.index(phone_column) if phone_column in preview.columns else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = [
        translate("learning.table.row", language),
        *preview.columns,
        translate("learning.table.reason", language),
    ]
    writer.writerow([neutralise_cell(c) for c in header])
    for row in preview.rejected:
        cells = list(row.cells)
        if phone_at is not None and cells[phone_at].strip():
            raw = cells[phone_at].strip()
            cells[phone_at] = display_phone(actor, normalise_phone(raw) or raw)
        reasons = "; ".join(
            f"{issue.column}: {translate(issue.key, language, **issue.params)}"
            if issue.column
            else translate(issue.key, language, **issue.params)
            for issue in row.issues
        )
        writer.writerow([neutralise_cell(v) for v in (row.row, *cells, reasons)])
    return buffer.getvalue().encode("utf-8-sig")
