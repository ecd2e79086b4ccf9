"""Value mapping: reading a file column whose values must be options (元数据) of the company.

Every import that maps a column onto an option list (channel, business line, stage or
outcome, lost reason, intention level; custom-field choices later) goes through here:

1. `distinct_values` - the column's distinct values with their row counts, compared folded
   (case, full/half width and spacing do not count: `Google`, `google` and `ＧＯＯＧＬＥ` are
   one value), computed over the parsed cells at once;
2. `resolve_values` - each value's option: the explicit choice of the user where there is
   one, else a mapping remembered from an earlier file of the same import kind, else the
   option whose code or label reads as the value (`find_option` / `find_business_line`
   semantics); what none of these gives stays unmapped, and the import keeps the rows that
   hold it as bad rows with their reason, as it would without mapping;
3. `remember_values` - when an import run is applied (never on a preview), the user's choices
   are stored per import kind (`import_value_map`) for the next file;
4. `create_options_for` - a metadata manager makes options of source values on the spot,
   before the import is applied (the page's button; audited through
   `crm_core.platform.metadata`), so the preview and the run see the same lists.

An explicit choice is an option code, or `LEAVE` (keep the rows as bad rows even if the value
reads as an option or was remembered). Codes of a choice must exist in the list; the caller
checks nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from crm_core.models import CustomField, ImportValueMap
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import (
    create_business_line,
    create_option,
    fold,
    list_business_lines,
    list_options,
)
from crm_core.platform.permissions import Permission

# The lists a column can map onto. `business_line` is its own table; the others are option
# categories of `crm_core.platform.metadata`.
MAPPED_CATEGORIES = ("channel", "business_line", "stage", "lost_reason", "intention_level")
# An explicit choice: keep the rows with this value as bad rows.
LEAVE = ""
# How a value found its option (None: it did not).
BY_CHOICE = "chosen"
BY_MEMORY = "remembered"
BY_OPTION = "option"

UNKNOWN_CHOICE = N_("{code} is no option of this list.")
CANNOT_CREATE = N_("The stages are fixed: a value can only be mapped onto one of them.")
CANNOT_CREATE_CHOICE = N_(
    "A custom field's choices are changed on the custom fields page: map the value onto one of them."
)
# A choice custom field's list: `field:<id>` (ids are never reused: fields are only disabled).
FIELD_PREFIX = "field:"
KEY_LENGTH = 200


def value_key(text: str) -> str:
    """How source values compare: `fold` (case, width, surrounding space) with inner runs of
    spaces made one."""
    return " ".join(fold(text).split())[:KEY_LENGTH]


@dataclass(frozen=True)
class SourceValue:
    """A distinct value of a column: as the file first spells it, its folded key, and how
    many rows hold it."""

    value: str
    key: str
    rows: int


@dataclass(frozen=True)
class Choice:
    """An option a value can map onto, with both labels (the page shows the reader's)."""

    code: str
    label_en: str
    label_zh: str
    active: bool = True


@dataclass(frozen=True)
class ResolvedValue:
    """A distinct value and its option: `code` None when it stays unmapped; `how` says
    whether the user chose it, a remembered mapping gave it, or it reads as the option."""

    value: str
    key: str
    rows: int
    code: str | None
    how: str | None


def distinct_values(cells: Iterable[str | None]) -> list[SourceValue]:
    """The column's distinct non-blank values (blanks and placeholders are None already),
    most rows first, each spelled as the file first spells it."""
    counts = Counter(cell for cell in cells if cell is not None)
    by_key: dict[str, list] = {}
    for value, rows in counts.items():
        key = value_key(value)
        if not key:
            continue
        entry = by_key.setdefault(key, [value, 0, rows])
        entry[1] += rows
        if rows > entry[2]:  # the commonest spelling names the value
            entry[0], entry[2] = value, rows
    values = [SourceValue(value, key, rows) for key, (value, rows, _) in by_key.items()]
    return sorted(values, key=lambda v: (-v.rows, v.key))


def field_category(field_id: int) -> str:
    """The category of a choice custom field's list, for value mapping and its memory."""
    return f"{FIELD_PREFIX}{field_id}"


def choices(session: Session, category: str, *, active_only: bool = True) -> list[Choice]:
    """The options a value of `category` can map onto, in display order."""
    if category.startswith(FIELD_PREFIX):
        custom = session.get(CustomField, int(category.removeprefix(FIELD_PREFIX)))
        return [
            Choice(c["code"], c["label_en"], c["label_zh"], c.get("active", True))
            for c in (custom.choices or [] if custom is not None else [])
            if c.get("active", True) or not active_only
        ]
    if category == "business_line":
        return [
            Choice(line.code, line.name, line.name, line.active)
            for line in list_business_lines(session, active_only=active_only)
        ]
    return [
        Choice(o.code, o.label_en, o.label_zh, o.active)
        for o in list_options(session, category, active_only=active_only)
    ]


def _words(options: Sequence[Choice]) -> dict[str, str]:
    """Folded code or label -> code; codes first, so a label never hides another's code."""
    words: dict[str, str] = {}
    for option in options:
        words.setdefault(value_key(option.code), option.code)
    for option in options:
        for label in (option.label_en, option.label_zh):
            if label:
                words.setdefault(value_key(label), option.code)
    return words


def remembered(session: Session, kind: str, category: str) -> dict[str, str]:
    """Folded source value -> option code, as earlier files of this import kind mapped it."""
    rows = session.exec(
        select(ImportValueMap.source_key, ImportValueMap.option_code).where(
            ImportValueMap.kind == kind, ImportValueMap.category == category
        )
    ).all()
    return dict(rows)


def resolve_values(
    session: Session,
    kind: str,
    category: str,
    values: Sequence[SourceValue],
    explicit: Mapping[str, str] | None = None,
) -> list[ResolvedValue]:
    """Each distinct value with its option: the user's choice (`explicit`, folded key ->
    code or LEAVE), else the remembered mapping, else the option it reads as. Disabled
    options match too, so the import names them as disabled rather than unknown; a
    remembered code that is no longer in the list is ignored."""
    explicit = explicit or {}
    every = choices(session, category, active_only=False)
    codes = {c.code for c in every}
    words = _words(every)
    memory = remembered(session, kind, category)
    resolved = []
    for value in values:
        if value.key in explicit:
            code = explicit[value.key] or None
            if code is not None and code not in codes:
                raise ValidationError(UNKNOWN_CHOICE, code=code)
            resolved.append(ResolvedValue(value.value, value.key, value.rows, code, BY_CHOICE))
        elif memory.get(value.key) in codes:
            code = memory[value.key]
            resolved.append(ResolvedValue(value.value, value.key, value.rows, code, BY_MEMORY))
        elif value.key in words:
            code = words[value.key]
            resolved.append(ResolvedValue(value.value, value.key, value.rows, code, BY_OPTION))
        else:
            resolved.append(ResolvedValue(value.value, value.key, value.rows, None, None))
    return resolved


def code_map(resolved: Iterable[ResolvedValue]) -> dict[str, str]:
    """Folded value -> option code, for the values that found one: what a row reader
    looks each cell up in (`value_key(cell)`)."""
    return {r.key: r.code for r in resolved if r.code is not None}


def remember_values(
    session: Session,
    actor: Actor,
    kind: str,
    category: str,
    resolved: Iterable[ResolvedValue],
) -> int:
    """Store the user's choices and the remembered mappings that were used, for the next
    file of `kind`: a value that simply reads as its option needs no memory, and a value
    left as bad rows forgets what was remembered. Set-based (one DELETE, one INSERT);
    flushes, the import run commits. Returns how many mappings are stored."""
    chosen = [r for r in resolved if r.how in (BY_CHOICE, BY_MEMORY)]
    if not chosen:
        return 0
    table = ImportValueMap.__table__
    session.execute(
        delete(table).where(
            table.c.kind == kind,
            table.c.category == category,
            col(table.c.source_key).in_([r.key for r in chosen]),
        )
    )
    now = clock.now()
    rows = [(kind, category, r.key, r.code, actor.user_id, now) for r in chosen if r.code]
    insert_rows(
        session,
        table,
        ("kind", "category", "source_key", "option_code", "updated_by_id", "updated_at"),
        rows,
    )
    session.flush()
    return len(rows)


def create_options_for(
    session: Session,
    actor: Actor,
    category: str,
    values: Iterable[str],
    *,
    group: str | None = None,
) -> dict[str, str]:
    """Make an option of each source value (its label in both languages, the code made
    from it; `group` for channels), audited through `crm_core.platform.metadata`; needs
    manage_metadata. Returns folded value -> the new option's code. Flushes; the caller
    commits (the page does so before the file is checked again)."""
    actor.require(Permission.MANAGE_METADATA)
    if category == "stage":
        raise ValidationError(CANNOT_CREATE)
    if category.startswith(FIELD_PREFIX):
        raise ValidationError(CANNOT_CREATE_CHOICE)
    made: dict[str, str] = {}
    for value in values:
        label = " ".join(str(value).split())
        if not label or value_key(label) in made:
            continue
        if category == "business_line":
            code = create_business_line(session, actor, name=label).code
        else:
            code = create_option(session, actor, category, label_en=label, group=group).code
        made[value_key(label)] = code
    return made


__all__ = [
    "BY_CHOICE",
    "BY_MEMORY",
    "BY_OPTION",
    "FIELD_PREFIX",
    "LEAVE",
    "MAPPED_CATEGORIES",
    "Choice",
    "ResolvedValue",
    "SourceValue",
    "choices",
    "code_map",
    "create_options_for",
    "distinct_values",
    "field_category",
    "remember_values",
    "remembered",
    "resolve_values",
    "value_key",
]
