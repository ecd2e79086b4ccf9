"""The ground floor of the import engine (`crm_core.imports.engine`) once
`crm_core.imports.tabular.read_table` has read the file: the column mapping checked against
the file, each row's cells with placeholders as blanks, every rejected row with its reasons,
the two modes, one transaction with its audit entry, and the rejected rows as a CSV file to
correct and upload again. The lead and history imports use the modes until they move onto
the engine. Refusals read the same in every import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm_core.imports.tabular import guess_mapping
from crm_core.leads.masking import CONTACT_FIELDS, display_contact, display_phone
from crm_core.leads.phones import normalise_phone
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.cells import (
    DEFAULT_PLACEHOLDERS,
    clean_cell,
    neutralise_cell,
    placeholder_set,
)
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_, translate

# good_rows: store the good rows, leave the rejected ones out; all_or_nothing: store nothing
# when any row is rejected.
MODES: tuple[str, ...] = ("good_rows", "all_or_nothing")

# Header names of columns that several files have, English and Chinese (compared without
# case, spaces, `_`, `-`, `.`, `:` or brackets; see `crm_core.imports.tabular.normalise_header`).
PHONE_HEADERS: tuple[str, ...] = (
    "phone",
    "mobile",
    "phone number",
    "mobile phone",
    "cell phone",
    "tel",
    "手机号",
    "手机",
    "手机号码",
    "电话",
    "电话号码",
    "联系电话",
)
# The learning platform's user id, as its exports name it.
PLATFORM_USER_ID_HEADERS: tuple[str, ...] = (
    "user id",
    "platform user id",
    "uid",
    "member id",
    "student id",
    "account id",
    "用户ID",
    "平台用户ID",
    "会员ID",
    "学员ID",
    "用户编号",
    "会员编号",
    "学员编号",
)


# --- reasons and rejected rows ---------------------------------------------------------------


@dataclass(frozen=True)
class FieldIssue:
    """Why a row is rejected: translate `key` with `params`."""

    row: int
    field: str  # a field of the import, or "" for the row as a whole
    column: str  # the file's header for that field
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RejectedRow:
    """A rejected row: the file's cells in column order, and every reason."""

    row: int
    cells: tuple[str, ...]
    issues: tuple[FieldIssue, ...]


@dataclass(frozen=True)
class FilePreview:
    """What a checked file holds: the good `rows` (each import has its own kind), the
    `rejected` ones, and what the file was. Applying it checks `actor_user_id`."""

    rows: tuple[Any, ...]
    rejected: tuple[RejectedRow, ...]
    columns: tuple[str, ...]  # the file's headers, in order
    mapping: dict[str, str | None]
    source: str
    actor_user_id: int | None
    total_rows: int

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def issues(self) -> list[FieldIssue]:
        return [issue for row in self.rejected for issue in row.issues]


# --- columns and cells -----------------------------------------------------------------------


def missing_fields(mapping: Mapping[str, str | None], required: Iterable[str]) -> list[str]:
    """Required fields the mapping leaves without a column."""
    return [name for name in required if not mapping.get(name)]


def checked_mapping(
    frame: pd.DataFrame,
    mapping: Mapping[str, str | None] | None,
    synonyms: Mapping[str, Iterable[str]],
    missing: Callable[[Mapping[str, str | None]], list[str]],
) -> dict[str, str | None]:
    """field -> file column for every field of `synonyms` (guessed from the headers when
    `mapping` is None, a blank choice as None). Refuse a column the file lacks and the fields `missing` names."""
    mapping = dict(guess_mapping(frame.columns, synonyms) if mapping is None else mapping)
    mapping = {name: (mapping.get(name) or None) for name in synonyms}
    unknown = [c for c in mapping.values() if c is not None and c not in frame.columns]
    if unknown:
        raise ValidationError(N_("The file has no column {column}."), column=", ".join(unknown))
    absent = missing(mapping)
    if absent:
        raise ValidationError(N_("Choose a column for: {columns}."), columns=", ".join(absent))
    return mapping


def split_placeholders(text: str) -> list[str]:
    """The placeholders a user typed, comma separated (a Chinese keyboard types the
    full-width comma): each stripped, blanks left out."""
    return [part.strip() for part in text.replace("\uff0c", ",").split(",") if part.strip()]


class _Columns:
    """`FileCells._text[column]`: the column's cells, made text when first asked for."""

    def __init__(self, cells: FileCells):
        self._cells = cells

    def __getitem__(self, column: str) -> list[str]:
        return self._cells.column(column)


class FileCells:
    """A frame's cells as text, column by column: a Python list per column is far cheaper
    than `frame.iterrows()`. Rows are addressed by position; `numbers` holds the row number
    the file shows for each position (the frame's index)."""

    def __init__(self, frame: pd.DataFrame, placeholders: Iterable[str] = DEFAULT_PLACEHOLDERS):
        self.columns: tuple[str, ...] = tuple(str(c) for c in frame.columns)
        self.numbers: list[int] = [int(n) for n in frame.index]
        self.blanks = placeholder_set(placeholders)
        self._frame = frame
        # A column's cells become text when first asked for: a preview reads the mapped
        # columns, and every column only of the rejected rows.
        self._columns: dict[str, list[str]] = {}

    @property
    def _text(self) -> _Columns:
        return _Columns(self)

    def column(self, column: str) -> list[str]:
        """The column's cells as the file has them (blank: "")."""
        texts = self._columns.get(column)
        if texts is None:
            values = self._frame[column].tolist()
            if all(type(v) is str for v in values):  # read_table gives text already
                texts = values
            else:
                texts = ["" if v is None or pd.isna(v) else str(v) for v in values]
            self._columns[column] = texts
        return texts

    def text(self, column: str, position: int) -> str:
        """The cell as the file has it."""
        return self.column(column)[position]

    def values(self, position: int, mapping: Mapping[str, str | None]) -> dict[str, str | None]:
        """field -> the stripped cell of its column, None for a blank cell, a placeholder
        or a field without a column."""
        return {
            name: clean_cell(self._text[column][position], self.blanks) if column else None
            for name, column in mapping.items()
        }

    def cells(self, position: int) -> tuple[str, ...]:
        """The row's cells in column order, as the file has them."""
        return tuple(self._text[c][position] for c in self.columns)


# --- applying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What an import did (each import adds its counts). `stored` is False when all or
    nothing refused a file with bad rows: then nothing was written."""

    mode: str
    stored: bool

    @property
    def refused(self) -> bool:
        return not self.stored


def check_mode(mode: str) -> None:
    """Refuse a mode other than MODES."""
    if mode not in MODES:
        raise ValidationError(N_("Unknown import mode {mode}."), mode=mode)


def check_preview_owner(actor: Actor, preview: Any) -> None:
    """Refuse a preview made for another user: it was
    checked against that user's scope."""
    if preview.actor_user_id != actor.user_id:
        raise ValidationError(N_("This preview was made by another user. Upload the file again."))


def all_or_nothing_refuses(mode: str, bad_rows: Sized) -> bool:
    """Whether the mode stores nothing because of the bad rows."""
    return mode == "all_or_nothing" and len(bad_rows) > 0


@contextmanager
def one_transaction(session: Session, concurrent: CrmError | None = None) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back and re-raise, so nothing
    half-written stays (also when the page's script stops inside the block). With
    `concurrent`, a unique key that another import took meanwhile (IntegrityError) raises
    that error instead: preview the file again. A block that rolls back itself and
    returns leaves nothing to commit."""
    try:
        yield
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if concurrent is None:
            raise
        raise concurrent from error
    except BaseException:
        session.rollback()
        raise


def audit_import(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    preview: FilePreview,
    mode: str,
    counts: Mapping[str, int],
    **details: Any,
) -> int:
    """Record the import's audit entry in the caller's transaction (the file, the mode,
    the counts and `details`) and return its id."""
    summary = {"source": preview.source[:200], "mode": mode, "counts": dict(counts), **details}
    entry = audit.record(session, actor, action, target_type, None, None, summary)
    session.flush()
    return entry.id


# --- the rejected rows as a file -------------------------------------------------------------


def rejected_rows_csv(actor: Actor, preview: FilePreview, language: str) -> bytes:
    """The rejected rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese):
    the row number, the file's own columns and the reasons in `language`.

    The cells of the contact fields (`phone`, `email`, `wechat`, `qq`), where the import
    has them, show as `display_contact` shows them to `actor` (masked without
    view_full_phone), and every cell is neutralised so no cell runs as a formula. Refused
    for a preview made for another user; the caller checks the permission."""
    check_preview_owner(actor, preview)
    contact_at = {
        preview.columns.index(column): name
        for name in CONTACT_FIELDS
        if (column := preview.mapping.get(name)) in preview.columns
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = [
        translate(N_("Row"), language),
        *preview.columns,
        translate(N_("Reason"), language),
    ]
    writer.writerow([neutralise_cell(c) for c in header])
    for row in preview.rejected:
        cells = list(row.cells)
        for at, name in contact_at.items():
            raw = cells[at].strip()
            if raw and name == "phone":
                cells[at] = display_phone(actor, normalise_phone(raw) or raw)
            elif raw:
                cells[at] = display_contact(actor, name, raw)
        reasons = "; ".join(
            f"{issue.column}: {translate(issue.key, language, **issue.params)}"
            if issue.column
            else translate(issue.key, language, **issue.params)
            for issue in row.issues
        )
        writer.writerow([neutralise_cell(v) for v in (row.row, *cells, reasons)])
    return buffer.getvalue().encode("utf-8-sig")


__all__ = [
    "MODES",
    "PHONE_HEADERS",
    "PLATFORM_USER_ID_HEADERS",
    "FieldIssue",
    "ImportResult",
    "FileCells",
    "FilePreview",
    "RejectedRow",
    "all_or_nothing_refuses",
    "audit_import",
    "check_mode",
    "check_preview_owner",
    "checked_mapping",
    "missing_fields",
    "one_transaction",
    "rejected_rows_csv",
    "split_placeholders",
]
