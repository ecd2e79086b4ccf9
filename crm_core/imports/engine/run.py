"""One preview and one apply for every import spec.

`preview` maps the columns (guessed from the headers unless given), reads every cell as its
field's kind, resolves option columns through value mapping (remembered per spec kind),
reads custom field columns, rejects a repeated key, builds the spec's typed rows, lets the
spec check them against the database over all rows at once, and returns the good rows by
category, the rejected rows with every reason, and warnings apart from bad rows. It writes
nothing. `apply` stores a preview in one transaction - the good rows, or nothing when any row
is bad and all or nothing was chosen - with the custom field values, the value mappings to
remember and the audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
from sqlmodel import Session

from crm_core.custom_fields.cells import import_columns
from crm_core.custom_fields.definitions import CHOICE_KINDS, field_label
from crm_core.custom_fields.values import write_values
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.imports.engine.cells import (
    CellProblem,
    CellReading,
    choice_parts,
    message,
    read_cell,
)
from crm_core.imports.engine.model import Findings, ImportRun, Preview, RowReader
from crm_core.imports.engine.spec import FieldSpec, ImportOptions, ImportSpec, split_list
from crm_core.imports.file_import import (
    FieldIssue,
    FileCells,
    RejectedRow,
    all_or_nothing_refuses,
    audit_import,
    check_mode,
    check_preview_owner,
    checked_mapping,
    missing_fields,
    one_transaction,
)
from crm_core.imports.file_import import rejected_rows_csv as _rejected_csv
from crm_core.imports.tabular import guess_mapping
from crm_core.imports.value_mapping import (
    ResolvedValue,
    choices,
    code_map,
    distinct_values,
    field_category,
    remember_values,
    resolve_values,
)
from crm_core.models import CustomField
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.cells import clean_cell
from crm_core.platform.company_time import company_zone, to_local, zone_named
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

CUSTOM_PREFIX = "custom."  # custom fields' names among an import's fields
NOT_AN_OPTION = N_("{value} is no option for {field}.")
OTHER_IMPORT = N_("This preview belongs to another import. Upload the file again.")


def import_fields(session: Session, actor: Actor, spec: ImportSpec) -> list[FieldSpec]:
    """The fields a file of `spec` can map, in the page's order: the spec's, then the
    custom fields of its entity that `actor` sees (named `custom.<code>`, each header
    matching its code or either label)."""
    return _fields(session, actor, spec)[0]


def _fields(
    session: Session, actor: Actor, spec: ImportSpec
) -> tuple[list[FieldSpec], dict[int, CustomField]]:
    fields = list(spec.fields)
    if spec.custom_entity is None:
        return fields, {}
    headers = import_columns(session, actor, spec.custom_entity)
    if not headers:
        return fields, {}
    visible = fields_visible_to(session, actor, spec.custom_entity)
    for custom in visible:
        synonyms = tuple(headers.get(custom.code, ()))
        labels = {language: field_label(custom, language) for language in ("en", "zh")}
        choice = custom.kind in CHOICE_KINDS  # its values map onto its choices
        fields.append(
            FieldSpec(
                CUSTOM_PREFIX + custom.code,
                synonyms,
                field_category(custom.id) if choice else None,
                kind="custom",
                custom_field_id=custom.id,
                labels=labels,
                several=custom.kind == "multi_choice",
            )
        )
    return fields, {custom.id: custom for custom in visible}


def _parts(spec: FieldSpec, texts: list[str | None]) -> list[str | None]:
    """The values of an option column value mapping lists: each part of a list apart."""
    if spec.kind == "custom":
        return [part for text in texts if text is not None for part in choice_parts(spec, text)]
    if spec.several:
        return [part for text in texts if text is not None for part in split_list(text)]
    return texts


def missing(
    spec: ImportSpec, mapping: Mapping[str, str | None], defaults: Iterable[str] = ()
) -> list[str]:
    """Fields the mapping must give a column and does not: the required ones, and the first
    of each group of `spec.columns_needed` none of whose fields has one. A field with a
    value for the whole file (`defaults`) needs no column."""
    given = {**mapping, **dict.fromkeys(defaults, "(default)")}
    absent = missing_fields(given, spec.required)
    absent += [group[0] for group in spec.columns_needed if not any(given.get(n) for n in group)]
    return absent


def _checked_defaults(
    session: Session, fields: list[FieldSpec], defaults: Mapping[str, Any]
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


def guess_columns(fields: Iterable[FieldSpec], columns: Iterable[str]) -> dict[str, str | None]:
    """Field -> the file's column that seems to hold it (English or Chinese headers)."""
    return guess_mapping(columns, {f.name: f.synonyms for f in fields})


def preview(
    session: Session,
    actor: Actor,
    spec: ImportSpec,
    frame: pd.DataFrame,
    options: ImportOptions | None = None,
) -> Preview:
    """Check every row of `frame` (from `crm_core.imports.tabular.read_table`) against
    `spec` and say what storing it would do; writes nothing. Row numbers are the frame's
    index (the file's). Reads the database only in the spec's set-based check and once per
    option column and custom field list, never per row."""
    options = options or ImportOptions()
    actor.require(spec.permission)
    fields, custom_fields = _fields(session, actor, spec)
    defaults = _checked_defaults(session, fields, options.defaults)
    mapping = checked_mapping(
        frame,
        options.mapping,
        {f.name: f.synonyms for f in fields},
        lambda m: missing(spec, m, defaults),
    )
    used = [column for column in mapping.values() if column]
    if spec.one_column_per_field and len(used) != len(set(used)):
        raise ValidationError(N_("One column of the file is chosen for two fields."))
    if spec.max_rows is not None and len(frame.index) > spec.max_rows:
        raise ValidationError(
            N_("The file has {rows} rows; at most {max} are imported at once."),
            rows=len(frame.index),
            max=spec.max_rows,
        )
    cells = FileCells(frame, options.placeholders)
    numbers = cells.numbers
    values: dict[str, list[ResolvedValue]] = {}
    for spec_field in fields:
        column = mapping.get(spec_field.name)
        if column and spec_field.category:
            texts = [clean_cell(cells.text(column, p), cells.blanks) for p in range(len(numbers))]
            values[spec_field.name] = resolve_values(
                session,
                spec.kind,
                spec_field.category,
                distinct_values(_parts(spec_field, texts)),
                options.value_choices.get(spec_field.name),
            )
    company = company_zone(session)
    today = to_local(clock.now(), company).date()
    reading = CellReading(
        actor,
        zone_named(options.time_zone) if options.time_zone else company,
        company,
        {name: code_map(resolved) for name, resolved in values.items()},
        custom_fields,
        cells.blanks,
    )

    typed_rows: list[Any] = []
    issues_of: dict[int, list[FieldIssue]] = {}
    custom: dict[int, dict[int, Any]] = {}
    first_row: dict[Any, int] = {}
    position_of = {number: position for position, number in enumerate(numbers)}
    for position, number in enumerate(numbers):
        texts = cells.values(position, mapping)
        typed: dict[str, Any] = {}
        reader = RowReader(number, typed, texts, today)
        for spec_field in fields:
            text = texts.get(spec_field.name)
            typed[spec_field.name] = None
            if text is None:
                if spec_field.name in defaults:
                    typed[spec_field.name] = defaults[spec_field.name]
                elif spec_field.required:
                    reader.bad(
                        spec_field.name, message(spec_field, "missing"), field=spec_field.name
                    )
                continue
            try:
                typed[spec_field.name] = read_cell(spec_field, text, reading)
            except CellProblem as problem:
                reader.bad(spec_field.name, problem.key, **problem.params)
        row = spec.read(reader)
        key = typed.get(spec.key) if spec.key else None
        if key is not None:
            if key in first_row:  # the first row wins, so the user sees which one it repeats
                params = {spec.key_param: key, "first_row": first_row[key]}
                reader.bad(spec.key, spec.duplicate, **params)
            else:
                first_row[key] = number
        if row is not None:
            typed_rows.append(row)
        if reader.issues:
            issues_of[number] = [
                FieldIssue(number, name, mapping.get(name) or "", k, p)
                for name, k, p in reader.issues
            ]
            continue
        given = {
            f.custom_field_id: typed[f.name]
            for f in fields
            if f.kind == "custom" and typed[f.name] is not None
        }
        if given:
            custom[number] = given

    found = Findings(mapping, issues_of)
    good = spec.check(session, actor, typed_rows, found) if typed_rows else []
    for number, issues in found.rejected.items():
        issues_of.setdefault(number, []).extend(issues)
    good = [row for row in good if row.row not in issues_of]
    # A row's reasons read left to right: the row's own first, then by the fields' order.
    order = {"": -1, **{f.name: at for at, f in enumerate(fields)}}
    rejected = [
        RejectedRow(
            number,
            cells.cells(position_of[number]),
            tuple(sorted(issues_of[number], key=lambda i: order.get(i.field, len(order)))),
        )
        for number in sorted(issues_of, key=position_of.__getitem__)
    ]
    return Preview(
        rows=tuple(good),
        rejected=tuple(rejected),
        columns=cells.columns,
        mapping=mapping,
        source=options.source or str(frame.attrs.get("filename") or ""),
        actor_user_id=actor.user_id,
        total_rows=len(numbers),
        kind=spec.kind,
        categories=spec.categories,
        fields=tuple(fields),
        warnings=tuple(found.warnings),
        values=values,
        custom={n: v for n, v in custom.items() if n not in issues_of},
        details=found.details,
    )


def apply(
    session: Session,
    actor: Actor,
    spec: ImportSpec,
    preview: Preview,
    mode: str,
    progress: Callable[[float], None] | None = None,
) -> ImportRun:
    """Store a preview of `spec` in one transaction and commit: the spec's write, the
    custom field values onto the ids it stored, the value mappings to remember, and the
    `spec.audit_action` audit entry. `mode` "good_rows" leaves the rejected rows out;
    "all_or_nothing" stores nothing when any row is rejected (`refused`). On any error
    rolls back, so nothing half-written remains. Refused for a preview made by another
    user or of another import. `progress(fraction)` hears how far the run is."""
    step = progress or (lambda fraction: None)
    actor.require(spec.permission)
    check_mode(mode)
    if mode not in spec.modes:
        raise ValidationError(N_("Unknown import mode {mode}."), mode=mode)
    if all_or_nothing_refuses(mode, preview.rejected) and spec.refusal is not None:
        raise ValidationError(spec.refusal, count=len(preview.rejected))
    check_preview_owner(actor, preview)
    if preview.kind != spec.kind:
        raise ValidationError(OTHER_IMPORT)
    if all_or_nothing_refuses(mode, preview.rejected):
        return ImportRun(mode, False, counts=preview.counts)
    with one_transaction(session, spec.concurrent):
        step(0.05)
        outcome = spec.write(session, actor, preview)
        step(0.8)
        if all_or_nothing_refuses(mode, outcome.failed):
            session.rollback()  # nothing to commit: the block ends here
            return ImportRun(mode, False, counts=preview.counts, failed=tuple(outcome.failed))
        if preview.custom and spec.custom_entity is not None:
            values: dict[int, dict[int, Any]] = {}
            for number, given in preview.custom.items():
                for target in outcome.targets.get(number, ()):
                    values.setdefault(target, {}).update(given)
            if values:
                write_values(session, spec.custom_entity, values)
        categories = {f.name: f.category for f in preview.fields if f.category}
        for name, resolved in preview.values.items():
            remember_values(session, actor, spec.kind, categories[name], resolved)
        step(0.9)
        audit_id = outcome.audit_id
        if not spec.audited_by_write:
            audit_id = audit_import(
                session,
                actor,
                spec.audit_action,
                spec.audit_target,
                preview,
                mode,
                outcome.counts,
                **outcome.details,
            )
    step(1.0)
    return ImportRun(
        mode,
        True,
        dict(outcome.counts),
        dict(outcome.details),
        audit_id,
        tuple(outcome.failed),
        outcome.result,
    )


def rejected_rows_csv(actor: Actor, spec: ImportSpec, preview: Preview, language: str) -> bytes:
    """The rejected rows as CSV to correct and upload again (see
    `crm_core.imports.file_import.rejected_rows_csv`); needs the spec's permission."""
    actor.require(spec.permission)
    return _rejected_csv(actor, preview, language)


__all__ = [
    "CUSTOM_PREFIX",
    "Findings",
    "ImportRun",
    "Preview",
    "RowReader",
    "apply",
    "guess_columns",
    "import_fields",
    "missing",
    "preview",
    "rejected_rows_csv",
]
