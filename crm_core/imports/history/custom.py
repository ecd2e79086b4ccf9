"""Custom fields in a history file: the opportunity fields and the lead fields the importer
sees are extra columns of the mapping (`opportunity.<code>`, `lead.<code>`), as the engine
offers them (`ImportSpec.custom_entities`), each cell read as its field's kind and its values
written onto the opportunities and leads the run wrote. A blank cell writes nothing, so a
person already in the lead library keeps the values the file does not give.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm_core.custom_fields.cells import import_columns
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.models import CustomField
from crm_core.platform.actor import Actor

ENTITIES = ("opportunity", "lead")


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
