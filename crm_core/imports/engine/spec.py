"""What an import is, as data: its fields (header synonyms in both languages, required, the
kind of value, the option list a value maps onto), the key that identifies a row, the typed
row model built from the cells, the database checks over all rows at once, and the write.

A new import is an `ImportSpec`; `crm_core.imports.engine.run` does the rest (mapping,
cells, value mapping, custom fields, bad rows, warnings, modes, transaction, audit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from crm_core.imports.file_import import MODES
from crm_core.platform.actor import Actor
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, placeholder_set
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

if TYPE_CHECKING:
    from crm_core.imports.engine.model import ColumnReader, Findings, Preview, RowReader

DUPLICATE_KEY = N_("{value} is already on row {first_row}.")
# How a cell that holds several values (`FieldSpec.several`) is split: `a, b；c、d|e/f`.
LIST_SEPARATORS = re.compile(r"[,;，；、|/]+")

# How a cell reads (`crm_core.imports.engine.cells`): free text, a phone number (E.164), a
# date (a bare date as it is; with a time of day, the company's date of that instant in the
# file's zone), an instant in the file's zone (stored as naive UTC), a number, an amount of
# money, an option of a list (through value mapping), or a custom field's value.
KINDS: tuple[str, ...] = (
    "text",
    "phone",
    "date",
    "datetime",
    "number",
    "money",
    "option",
    "custom",
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of an import file: its name, the header names it may have (English and
    Chinese), and the list its values map onto (`category`, None: not an option). `kind`
    says how a cell reads, `max_length` bounds text, `required` asks for a column and a
    value. A custom field carries its id (`custom_field_id`) and is read with its own
    definition; a choice custom field's values map onto its choices (`category`).
    `several`: a cell holds a list (split at `LIST_SEPARATORS`), each part read and mapped
    on its own; the typed value is the tuple of parts (codes for options), repeats dropped."""

    name: str
    synonyms: tuple[str, ...]
    category: str | None = None
    required: bool = False
    kind: str = "text"
    max_length: int | None = None
    custom_field_id: int | None = None
    # The import's own wording of a reason instead of the engine's: "missing" (a required
    # field is blank), "invalid" (the cell does not read as its kind; params `value`, and
    # for phones `phone`, masked as the reader may see it), "too_long" (params `maximum`, `length`).
    messages: Mapping[str, str] = field(default_factory=dict)
    # A field the company defines names itself: language -> label. Built-in fields are
    # named by the import's label family (`label_of("<kind>.column", name)`).
    labels: Mapping[str, str] = field(default_factory=dict)
    several: bool = False
    # A custom field's entity ("lead", "opportunity"): its values go onto that entity's ids.
    entity: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind}")
        if self.category is not None and self.kind == "text":
            object.__setattr__(self, "kind", "option")


@dataclass(frozen=True)
class WriteOutcome:
    """What a spec's write did: counts by category (shown and audited), further details
    for the audit entry, and the stored ids per file row number (entity ids the custom
    field values of that row go onto)."""

    counts: dict[str, int]
    details: dict[str, Any] = field(default_factory=dict)
    targets: Mapping[int, Sequence[int]] = field(default_factory=dict)
    # Rows the write left out because they changed since the preview (their reasons): all
    # or nothing then stores nothing.
    failed: tuple[Any, ...] = ()
    # What the run hands back to the page and keeps out of the audit entry (e.g. new
    # accounts' temporary passwords).
    result: Any = None
    # The audit entry the write recorded itself (a spec `audited_by_write`).
    audit_id: int | None = None
    # For a spec with custom fields of several entities: entity -> row number -> the ids
    # of that entity the row's values go onto (`targets` serves a spec of one entity).
    entity_targets: Mapping[str, Mapping[int, Sequence[int]]] = field(default_factory=dict)
    # entity -> ids the write just inserted: they hold no custom values yet, so the values
    # are inserted without deleting first (a bulk import's new leads).
    inserted: Mapping[str, frozenset[int]] = field(default_factory=dict)


# spec.read(reader) -> the typed row, or None when it cannot be built. A row the reader
# was given reasons for is bad; it still goes to the check when read returns it, so a bad
# row gets every reason at once.
ReadRow = Callable[["RowReader"], Any]
# spec.read_columns(session, actor, reader) -> the typed rows of the whole file at once, built column by
# column (a large file through a set-based service); rows are rejected with `reader.bad`.
ReadColumns = Callable[[Session, Actor, "ColumnReader"], list[Any]]
# spec.check_file(session, actor, frame, options) -> None; refuses (raises) a file or a
# mapping that cannot be imported at all, in the import's own words, before any row is read.
CheckFile = Callable[[Session, Actor, Any, "ImportOptions"], None]
# spec.check(session, actor, rows, findings) -> the good rows, each with its `category`;
# rejects others through `findings.reject`, warns through `findings.warn`.
CheckRows = Callable[[Session, Actor, list[Any], "Findings"], list[Any]]
# spec.write(session, actor, preview) -> what it stored; set-based, flushes, never commits.
WriteRows = Callable[[Session, Actor, "Preview"], WriteOutcome]


def _no_checks(session: Session, actor: Actor, rows: list[Any], found: Findings) -> list[Any]:
    return rows


@dataclass(frozen=True)
class ImportSpec:
    """An import: `kind` names it (value mappings are remembered under it, the audit
    action is `audit_action`), `permission` guards preview and apply, `fields` in the
    page's order, `key` the field no two rows may share, `categories` what a good row can
    be. `custom_entity` ("lead" / "opportunity") offers the custom fields the importer sees
    as extra fields (`custom.<code>`), written onto the ids the write returns;
    `custom_entities` offers those of several entities (`<entity>.<code>`, e.g. a lead file's
    lead fields and opportunity fields), written onto `WriteOutcome.entity_targets`.
    `concurrent` is the error a unique key taken meanwhile by another import raises instead
    of a database error. A spec reads its rows one by one (`read`) or the whole file column
    by column (`read_columns`: a file of 100,000 rows through a set-based service)."""

    kind: str
    permission: Permission
    fields: tuple[FieldSpec, ...]
    read: ReadRow | None
    write: WriteRows
    categories: tuple[str, ...]
    # The audit entry of a run (action, target type); apply records it, unless
    # `audited_by_write`: then the write records its own richer entry (the accounts before
    # and after, say) under this action and returns its id.
    audit_action: str
    audit_target: str
    key: str | None = None
    # The reason a later row with an earlier row's key gets: params `first_row` and the
    # key's value under `key_param`.
    duplicate: str = DUPLICATE_KEY
    key_param: str = "value"
    check: CheckRows = _no_checks
    # Groups of fields of which the mapping must give at least one a column (missing ones
    # are reported by the group's first field), besides the required fields.
    columns_needed: tuple[tuple[str, ...], ...] = ()
    # Refuse a file that gives one column to two fields, or has more rows than this.
    one_column_per_field: bool = False
    max_rows: int | None = None
    # The modes the import offers; an import that is all of it or none by nature offers
    # only "all_or_nothing" and gives `refusal` (param `count`, the bad rows) as the error
    # apply raises for a file with bad rows.
    modes: tuple[str, ...] = MODES
    refusal: str | tuple[str, str] | None = None
    audited_by_write: bool = False
    custom_entity: str | None = None
    concurrent: CrmError | None = None
    custom_entities: tuple[str, ...] = ()
    read_columns: ReadColumns | None = None
    check_file: CheckFile | None = None
    # Record a run that all or nothing refused too (audit entry with `refused`), so the
    # run list shows it.
    record_refused: bool = False
    # The write takes `progress=` (a callable hearing the fraction of the write done), for
    # a long write the page's progress bar follows.
    write_progress: bool = False
    # (field, other): the field takes the other's column when the headers name none of its
    # own (a web lead export's lead number is its name too).
    shared_guess: tuple[tuple[str, str], ...] = ()
    # Fields the page offers a value for the whole file (`ImportOptions.defaults`): rows
    # whose cell is blank, or a file without the column, take it.
    file_defaults: tuple[str, ...] = ()
    # mapping_problems(mapping, defaults) -> why the mapping cannot work, in the import's
    # own words (messages without parameters); the page shows them instead of the engine's
    # "Choose a column for ...".
    mapping_problems: Callable[[Mapping[str, str | None], Mapping[str, Any]], list[str]] | None = (
        None
    )
    # category -> folded source word -> option code: words the import's sources use for an
    # option (another CRM's `Prospecting` for `new`), read as it unless the user chose
    # otherwise or a remembered mapping says else.
    option_words: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The write takes `mode=` (a write that records its own audit entry says in which mode
    # the run stored).
    write_mode: bool = False

    def __post_init__(self) -> None:
        if self.custom_entity is not None and not self.custom_entities:
            object.__setattr__(self, "custom_entities", (self.custom_entity,))
        if (self.read is None) == (self.read_columns is None):
            raise ValueError(f"import {self.kind}: give read or read_columns")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def synonyms(self) -> dict[str, tuple[str, ...]]:
        return {f.name: f.synonyms for f in self.fields}


@dataclass(frozen=True)
class ImportOptions:
    """How to read one file: field -> file column (None: guessed from the headers), the
    cells that mean blank, the zone of the file's times (None: the company's), the user's
    value mapping (field -> {folded source value -> option code or `value_mapping.LEAVE`}),
    the file's name and the values for the whole file where it has none (`defaults`)."""

    mapping: Mapping[str, str | None] | None = None
    placeholders: Sequence[str] = DEFAULT_PLACEHOLDERS
    time_zone: str | None = None
    value_choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: str | None = None
    # field -> its typed value where a row's cell is blank or the file has no column for it
    # (a channel, or business lines, for the whole file); an option field's default must be
    # options of its list. A field with a default needs no column.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # The import's own options beyond the file (the history import's teams file, where
    # unowned rows go ...): handed to the spec's check and write through the preview.
    settings: Any = None

    @property
    def blanks(self) -> frozenset[str]:
        return placeholder_set(self.placeholders)


def split_list(text: str | None) -> list[str]:
    """`a, b；c、d` as its parts (blank parts dropped)."""
    return [part.strip() for part in LIST_SEPARATORS.split(text or "") if part.strip()]


__all__ = [
    "KINDS",
    "LIST_SEPARATORS",
    "split_list",
    "CheckFile",
    "CheckRows",
    "FieldSpec",
    "ImportOptions",
    "ImportSpec",
    "ReadColumns",
    "ReadRow",
    "WriteOutcome",
    "WriteRows",
]
