"""What value mapping lists for a file: each mapped option column's distinct values (the
parts of a list apart), their row counts and the option each resolves to - the user's
choice, a mapping remembered for the import's kind, or the option the value reads as."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from sqlmodel import Session

from crm_core.imports.engine.cells import CellReading
from crm_core.imports.engine.columns import FileColumns
from crm_core.imports.engine.fields import spec_fields, value_parts
from crm_core.imports.engine.spec import FieldSpec, ImportOptions, ImportSpec
from crm_core.imports.file_import import FileCells
from crm_core.imports.tabular import guess_mapping
from crm_core.imports.value_mapping import (
    BY_OPTION,
    ResolvedValue,
    distinct_values,
    resolve_values,
)
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone


def option_values(
    session: Session,
    spec: ImportSpec,
    fields: list[FieldSpec],
    columns: FileColumns,
    options: ImportOptions,
) -> dict[str, list[ResolvedValue]]:
    """Each mapped option column's distinct values (parts of lists apart), their row counts
    and the option each resolves to: the user's choice, a mapping remembered for the
    spec's kind, or the option it reads as."""
    values: dict[str, list[ResolvedValue]] = {}
    for spec_field in fields:
        if columns.mapping.get(spec_field.name) and spec_field.category:
            resolved = resolve_values(
                session,
                spec.kind,
                spec_field.category,
                distinct_values(value_parts(spec_field, columns.text(spec_field.name))),
                options.value_choices.get(spec_field.name),
            )
            words = spec.option_words.get(spec_field.category)
            if words:
                # A word the sources use reads as its option, unless the user chose (even
                # "leave": `how` is set) or a mapping is remembered.
                resolved = [
                    replace(r, code=words[r.key], how=BY_OPTION)
                    if r.how is None and r.key in words
                    else r
                    for r in resolved
                ]
            values[spec_field.name] = resolved
    return values


def value_columns(
    session: Session,
    actor: Actor,
    spec: ImportSpec,
    frame: pd.DataFrame,
    options: ImportOptions | None = None,
) -> dict[str, list[ResolvedValue]]:
    """What value mapping lists for a file, without the rest of a preview: each mapped
    option column's distinct values with their row counts and options. The mapping is
    taken as given (guessed when None) and not checked."""
    options = options or ImportOptions()
    actor.require(spec.permission)
    fields, custom_fields = spec_fields(session, actor, spec)
    synonyms = {f.name: f.synonyms for f in fields}
    mapping = dict(
        guess_mapping(frame.columns, synonyms) if options.mapping is None else options.mapping
    )
    mapping = {n: (c if c in frame.columns else None) for n, c in mapping.items() if n in synonyms}
    cells = FileCells(frame, options.placeholders)
    company = company_zone(session)
    reading = CellReading(actor, company, company, {}, custom_fields, cells.blanks)
    columns = FileColumns(cells, mapping, fields, reading, {})
    return option_values(session, spec, fields, columns, options)


__all__ = ["option_values", "value_columns"]
