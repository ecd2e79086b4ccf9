"""Custom fields in a history file: the opportunity fields and the lead fields the importer
sees are extra columns of the mapping (`lead.<code>`, `opportunity.<code>`), each cell read
as its field's kind (`parse_cell`; a choice through value mapping, see `values.py`), and
the values written set-based for the opportunities and leads the run wrote
(`write_values`).

A blank cell writes nothing, so a person already in the lead library keeps the values
the file does not give.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session

from crm_core.custom_fields.cells import FieldValue, import_columns, parse_cell
from crm_core.custom_fields.values import write_values
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.imports.history.people import Refused
from crm_core.models import CustomField
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError

ENTITIES = ("opportunity", "lead")
_SPLIT = re.compile(r"[,;、|，；]")  # as `parse_cell` splits several choices


@dataclass(frozen=True)
class CustomColumn:
    """A custom field offered as a column of the history file."""

    name: str  # `lead.<code>` or `opportunity.<code>`
    entity: str
    field: CustomField
    synonyms: tuple[str, ...]


def custom_columns(session: Session, actor: Actor) -> dict[str, CustomColumn]:
    """Mapping name -> the active custom fields of opportunities and leads `actor` sees,
    opportunity fields first, each with the headers that mean it (code and both labels)."""
    found: dict[str, CustomColumn] = {}
    for entity in ENTITIES:
        headers = import_columns(session, actor, entity)
        for field in fields_visible_to(session, actor, entity):
            name = f"{entity}.{field.code}"
            found[name] = CustomColumn(name, entity, field, tuple(headers.get(field.code, ())))
    return found


def split_choices(cell: str) -> list[str]:
    """The values of a several-choices cell."""
    return [part.strip() for part in _SPLIT.split(cell) if part.strip()]


def read_custom(
    column: CustomColumn, text: str | None, choice: Callable[[str, str, str], str]
) -> FieldValue:
    """A cell's value for `column` (None when blank); a bad cell refuses the row with the
    field's reason. `choice(name, field code, value)` maps one choice value (value mapping)."""
    if not text:
        return None
    kind, code = column.field.kind, column.field.code
    if kind == "choice":
        return choice(column.name, code, text)
    if kind == "multi_choice":
        codes = [choice(column.name, code, part) for part in split_choices(text)]
        return tuple(dict.fromkeys(codes)) or None
    try:
        return parse_cell(column.field, text)
    except ValidationError as error:
        raise Refused(column.name, error.key, **error.params) from None


def write_custom(
    session: Session,
    columns: Iterable[CustomColumn],
    values: dict[str, dict[int, dict[int, FieldValue]]],
) -> int:
    """Write `values` ({entity: {row id: {field id: value}}}) set-based; returns how many
    value rows were stored. Flushes nothing else; the run commits."""
    fields = [c.field for c in columns]
    stored = 0
    for entity, rows in values.items():
        if rows:
            stored += write_values(session, entity, rows, fields=fields)
    return stored
