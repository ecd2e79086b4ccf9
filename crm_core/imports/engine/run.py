"""One preview and one apply for every import spec.

`preview` maps the columns (guessed from the headers unless given), reads every cell as its
field's kind, column by column (`crm_core.imports.engine.columns`), resolves option columns
through value mapping (remembered per spec kind), reads custom field columns, rejects a
repeated key, builds the spec's typed rows (row by row, or the whole file at once), lets the
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

from crm_core.custom_fields.values import write_values
from crm_core.imports.engine.cells import CellReading
from crm_core.imports.engine.columns import FileColumns
from crm_core.imports.engine.fields import (
    CUSTOM_PREFIX,
    checked_defaults,
    import_fields,
    spec_fields,
)
from crm_core.imports.engine.model import ColumnReader, Findings, ImportRun, Preview, RowReader
from crm_core.imports.engine.spec import FieldSpec, ImportOptions, ImportSpec, WriteOutcome
from crm_core.imports.engine.values import option_values, value_columns
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
    code_map,
    remember_values,
)
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, to_local, zone_named
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

OTHER_IMPORT = N_("This preview belongs to another import. Upload the file again.")
Issues = dict[int, list[tuple[str, str, dict[str, Any]]]]  # position -> (field, reason, params)


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
    if spec.check_file is not None:
        spec.check_file(session, actor, frame, options)
    fields, custom_fields = spec_fields(session, actor, spec)
    defaults = checked_defaults(session, fields, options.defaults)
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
    company = company_zone(session)
    today = to_local(clock.now(), company).date()
    zone = zone_named(options.time_zone) if options.time_zone else company
    codes: dict[str, dict[str, str]] = {}  # filled by value mapping below
    reading = CellReading(actor, zone, company, codes, custom_fields, cells.blanks)
    columns = FileColumns(cells, mapping, fields, reading, defaults)
    values = option_values(session, spec, fields, columns, options)
    codes.update({name: code_map(resolved) for name, resolved in values.items()})

    issues: Issues = {}
    custom: dict[int, dict[int, Any]] = {}  # position -> custom field id -> value
    for spec_field in fields:
        if spec_field.kind == "custom" and mapping.get(spec_field.name):
            typed, problems = columns.read(spec_field.name)
            for position, (key, params) in problems.items():
                issues.setdefault(position, []).append((spec_field.name, key, params))
            field_id = spec_field.custom_field_id
            for position, value in enumerate(typed):
                if value is not None:
                    custom.setdefault(position, {})[field_id] = value
    if spec.read_columns is not None:
        reader = ColumnReader(
            columns, numbers, codes, custom, issues, today, zone, options.settings
        )
        typed_rows = spec.read_columns(session, actor, reader)
    else:
        typed_rows = _read_rows(spec, fields, mapping, columns, numbers, issues, today)
    if spec.key:  # the first row wins, so the user sees which one a later row repeats
        first_row: dict[Any, int] = {}
        for position, key in enumerate(columns.read(spec.key)[0]):
            if key is None:
                continue
            if key in first_row:
                params = {spec.key_param: key, "first_row": first_row[key]}
                issues.setdefault(position, []).append((spec.key, spec.duplicate, params))
            else:
                first_row[key] = numbers[position]

    issues_of = {
        numbers[position]: [
            FieldIssue(numbers[position], name, mapping.get(name) or "", k, p)
            for name, k, p in found
        ]
        for position, found in issues.items()
    }
    found = Findings(mapping, issues_of, options.settings)
    good = spec.check(session, actor, typed_rows, found) if typed_rows else []
    for number, more in found.rejected.items():
        issues_of.setdefault(number, []).extend(more)
    good = [row for row in good if row.row not in issues_of]
    position_of = {number: position for position, number in enumerate(numbers)}
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
        custom={numbers[p]: v for p, v in custom.items() if numbers[p] not in issues_of},
        details=found.details,
        settings=options.settings,
    )


def _read_rows(
    spec: ImportSpec,
    fields: list[FieldSpec],
    mapping: Mapping[str, str | None],
    columns: FileColumns,
    numbers: list[int],
    issues: Issues,
    today: Any,
) -> list[Any]:
    """The spec's typed rows, one `spec.read` per row, from the columns read as a whole."""
    assert spec.read is not None
    typed_columns = {}
    for spec_field in fields:
        typed, problems = columns.read(spec_field.name)
        typed_columns[spec_field.name] = typed
        if spec_field.kind == "custom":
            continue  # read with the custom fields already
        for position, (key, params) in problems.items():
            issues.setdefault(position, []).append((spec_field.name, key, params))
    text_columns = {name: columns.text(name) for name in mapping}
    rows = []
    for position, number in enumerate(numbers):
        typed = {name: column[position] for name, column in typed_columns.items()}
        texts = {name: column[position] for name, column in text_columns.items()}
        reader = RowReader(number, typed, texts, today)
        reader.issues = issues.get(position, [])
        row = spec.read(reader)
        if row is not None:
            rows.append(row)
        if reader.issues:
            issues[position] = reader.issues
    return rows


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
    "all_or_nothing" stores nothing when any row is rejected (`refused`; a spec that
    `record_refused` records the refused run). On any error rolls back, so nothing
    half-written remains. Refused for a preview made by another user or of another
    import. `progress(fraction)` hears how far the run is."""
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
        return _refused(session, actor, spec, preview, mode)
    with one_transaction(session, spec.concurrent):
        step(0.05)
        more: dict[str, Any] = {}
        if spec.write_progress:
            more["progress"] = lambda done: step(0.05 + 0.75 * done)
        if spec.write_mode:
            more["mode"] = mode
        outcome = spec.write(session, actor, preview, **more)
        step(0.8)
        if all_or_nothing_refuses(mode, outcome.failed):
            session.rollback()  # nothing to commit: the block ends here
            return _refused(session, actor, spec, preview, mode, tuple(outcome.failed))
        custom_values = _write_custom(session, spec, preview, outcome)
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
        custom_values,
    )


def _refused(
    session: Session,
    actor: Actor,
    spec: ImportSpec,
    preview: Preview,
    mode: str,
    failed: tuple[FieldIssue, ...] = (),
) -> ImportRun:
    """All or nothing stored nothing; a spec that `record_refused` records the run."""
    audit_id = None
    if spec.record_refused:
        with one_transaction(session):
            counts = preview.counts
            if failed:
                counts["rejected"] = counts.get("rejected", 0) + len(failed)
            audit_id = audit_import(
                session,
                actor,
                spec.audit_action,
                spec.audit_target,
                preview,
                mode,
                counts,
                refused=True,
            )
    return ImportRun(mode, False, counts=preview.counts, audit_id=audit_id, failed=failed)


def _write_custom(
    session: Session, spec: ImportSpec, preview: Preview, outcome: WriteOutcome
) -> int:
    """Each row's custom values onto the ids the write stored for the row, per entity;
    returns how many values were stored."""
    stored = 0
    if not preview.custom or not spec.custom_entities:
        return stored
    targets = dict(outcome.entity_targets)
    if not targets and outcome.targets:
        targets[spec.custom_entities[0]] = outcome.targets
    entity_of = {f.custom_field_id: f.entity for f in preview.fields if f.kind == "custom"}
    for entity in spec.custom_entities:
        rows = targets.get(entity)
        if not rows:
            continue
        fresh = outcome.inserted.get(entity, frozenset())
        new: dict[int, dict[int, Any]] = {}  # ids that hold no values yet
        known: dict[int, dict[int, Any]] = {}
        for number, given in preview.custom.items():
            mine = {f: v for f, v in given.items() if entity_of.get(f) == entity}
            if not mine:
                continue
            for target in rows.get(number, ()):
                (new if target in fresh else known).setdefault(target, {}).update(mine)
        if new:
            stored += write_values(session, entity, new, fresh=True)
        if known:
            stored += write_values(session, entity, known)
    return stored


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
    "value_columns",
]
