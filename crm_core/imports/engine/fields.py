"""The fields a file of an import can map: the spec's own, then the custom fields (自定义字段)
of the spec's entities that the importer sees, and the values for the whole file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel import Session

from crm_core.custom_fields.cells import import_columns
from crm_core.custom_fields.definitions import CHOICE_KINDS, field_label
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.imports.engine.cells import choice_parts
from crm_core.imports.engine.spec import FieldSpec, ImportSpec, split_list
from crm_core.imports.value_mapping import choices, field_category
from crm_core.models import CustomField
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

CUSTOM_PREFIX = "custom."  # custom fields' names among the fields of a one-entity import
NOT_AN_OPTION = N_("{value} is no option for {field}.")


def custom_name(spec: ImportSpec, custom: CustomField) -> str:
    """A custom field's name among the spec's fields: `custom.<code>` for an import of one
    entity, `<entity>.<code>` for an import of several (a lead file's `lead.<code>` and
    `opportunity.<code>`: two entities may both have a field `budget`)."""
    if len(spec.custom_entities) > 1:
        return f"{custom.entity}.{custom.code}"
    return CUSTOM_PREFIX + custom.code


def spec_fields(
    session: Session, actor: Actor, spec: ImportSpec
) -> tuple[list[FieldSpec], dict[int, CustomField]]:
    """The spec's fields, then the custom fields of its entities `actor` sees (in the
    entities' order; each header matches its code or either label), and those custom
    fields by id."""
    fields = list(spec.fields)
    seen: dict[int, CustomField] = {}
    for entity in spec.custom_entities:
        headers = import_columns(session, actor, entity)
        if not headers:
            continue
        for custom in fields_visible_to(session, actor, entity):
            labels = {language: field_label(custom, language) for language in ("en", "zh")}
            choice = custom.kind in CHOICE_KINDS  # its values map onto its choices
            fields.append(
                FieldSpec(
                    custom_name(spec, custom),
                    tuple(headers.get(custom.code, ())),
                    field_category(custom.id) if choice else None,
                    kind="custom",
                    custom_field_id=custom.id,
                    labels=labels,
                    several=custom.kind == "multi_choice",
                    entity=entity,
                )
            )
            seen[custom.id] = custom
    return fields, seen


def import_fields(session: Session, actor: Actor, spec: ImportSpec) -> list[FieldSpec]:
    """The fields a file of `spec` can map, in the page's order: the spec's, then the
    custom fields of its entities that `actor` sees (`custom_name`)."""
    return spec_fields(session, actor, spec)[0]


def value_parts(spec: FieldSpec, texts: list[str | None]) -> list[str | None]:
    """The values of an option column value mapping lists: each part of a list apart."""
    if spec.kind == "custom":
        return [part for text in texts if text is not None for part in choice_parts(spec, text)]
    if spec.several:
        return [part for text in texts if text is not None for part in split_list(text)]
    return texts


def checked_defaults(
    session: Session, fields: Iterable[FieldSpec], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The defaults of known fields; an option field's must be options of its list."""
    by_name = {f.name: f for f in fields}
    checked = {}
    for name, value in defaults.items():
        spec_field = by_name.get(name)
        if spec_field is None or value in (None, (), ""):
            continue
        if spec_field.category is not None:
            known = {choice.code for choice in choices(session, spec_field.category)}
            for code in value if isinstance(value, tuple) else (value,):
                if code not in known:
                    raise ValidationError(NOT_AN_OPTION, value=code, field=name)
        checked[name] = value
    return checked


__all__ = [
    "CUSTOM_PREFIX",
    "checked_defaults",
    "custom_name",
    "import_fields",
    "spec_fields",
    "value_parts",
]
