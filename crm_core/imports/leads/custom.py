"""Custom fields (自定义字段) in a lead file: the lead's and the opportunity's fields the
importer sees join the file's fields as `lead.<code>` and `opportunity.<code>`.

A cell is read by `crm_core.custom_fields.parse_cell` (numbers, dates, yes / no ...); a
choice field's values go through value mapping like a channel (its choices are the list), so
`Select` placeholders are blank and `Finance management` maps onto the choice whatever its
case. A cell that cannot be read makes the row bad with the field's reason. A required field
left blank refuses a row whose person is new (a known person keeps what they have). The
values are written after the intake, set-based (`write_values`): the lead's onto the row's
lead, the opportunity's onto each opportunity the row opened.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, func, select

from crm_core.custom_fields.cells import FieldValue, import_columns, parse_cell
from crm_core.custom_fields.definitions import CHOICE_KINDS, field_label, list_fields
from crm_core.custom_fields.values import FIELD_REQUIRED, write_values
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.imports.engine.spec import FieldSpec
from crm_core.imports.value_mapping import field_category, value_key
from crm_core.leads.intake import ADDED_LINE, CREATED, IntakeOutcome, IntakeResult, LeadInput
from crm_core.leads.intake.inputs import reject
from crm_core.leads.intake.matching import chunks
from crm_core.leads.phones import normalise_phone
from crm_core.models import CustomField, Lead
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

ENTITIES = ("lead", "opportunity")
UNMAPPED_CHOICE = N_("{field}: “{value}” is not mapped onto one of its choices.")
FIELD_NOT_YOURS = N_("There is no field {field} that you may edit.")
_PARTS = re.compile(r"[,;、|，；]")  # how several choices are split (as `parse_cell` does)


def field_name(custom: CustomField) -> str:
    """The import's name of a custom field: `lead.<code>` or `opportunity.<code>`."""
    return f"{custom.entity}.{custom.code}"


def is_custom(name: str | None) -> bool:
    """Whether an import field name is a custom field's."""
    return bool(name) and name.split(".", 1)[0] in ENTITIES and "." in name


def custom_specs(session: Session, actor: Actor) -> list[FieldSpec]:
    """The custom fields of leads, then of opportunities, that `actor` sees, as file
    fields: the code and both labels are the headers they go by."""
    specs: list[FieldSpec] = []
    for entity in ENTITIES:
        headers = import_columns(session, actor, entity)
        for custom in fields_visible_to(session, actor, entity):
            category = field_category(custom.id) if custom.kind in CHOICE_KINDS else None
            specs.append(
                FieldSpec(
                    field_name(custom),
                    tuple(headers.get(custom.code, ())),
                    category,
                    kind="custom",
                    custom_field_id=custom.id,
                    labels={language: field_label(custom, language) for language in ("en", "zh")},
                )
            )
    return specs


def mapped_fields(session: Session, mapping: dict[str, str | None]) -> dict[str, CustomField]:
    """Import name -> the active custom field, for the custom fields the mapping uses. A
    definition is no business data: who may map it is checked by `check_visible`."""
    wanted = {name for name, column in mapping.items() if column and is_custom(name)}
    if not wanted:
        return {}
    found = {}
    for entity in ENTITIES:
        for custom in list_fields(session, entity):
            if field_name(custom) in wanted:
                found[field_name(custom)] = custom
    return found


def check_visible(session: Session, actor: Actor, mapping: dict[str, str | None]) -> None:
    """Refuse a mapping that names a custom field the actor does not see (or none at all)."""
    wanted = {name for name, column in mapping.items() if column and is_custom(name)}
    if not wanted:
        return
    seen = {field_name(f) for e in ENTITIES for f in fields_visible_to(session, actor, e)}
    for name in sorted(wanted - seen):
        raise ValidationError(FIELD_NOT_YOURS, field=name.split(".", 1)[1])


def choice_cells(custom: CustomField, cells: list[str | None]) -> list[str | None]:
    """The cells whose distinct values value mapping lists: several choices count apart."""
    if custom.kind != "multi_choice":
        return cells
    return [part.strip() for c in cells if c is not None for part in _PARTS.split(c)]


@dataclass
class CustomValues:
    """Per input: {field id: value} of the lead's and of the opportunity's fields."""

    fields: list[CustomField] = field(default_factory=list)
    lead: list[dict[int, FieldValue]] = field(default_factory=list)
    opportunity: list[dict[int, FieldValue]] = field(default_factory=list)


def read_custom(
    fields: dict[str, CustomField],
    column: dict[str, list[str | None]],
    maps: dict[str, dict[str, str]],
    refused: dict[int, IntakeOutcome],
    count: int,
) -> CustomValues:
    """Each row's custom values; a cell that cannot be read (or a choice value mapped onto
    nothing) refuses the row, unless it is refused already. Each distinct cell is read once."""
    values = CustomValues(list(fields.values()))
    values.lead = [{} for _ in range(count)]
    values.opportunity = [{} for _ in range(count)]
    for name, custom in fields.items():
        target = values.lead if custom.entity == "lead" else values.opportunity
        codes = maps.get(name)
        seen: dict[str, object] = {}
        for i, cell in enumerate(column.get(name, ())):
            if cell is None:
                continue
            if cell not in seen:
                seen[cell] = _read(custom, cell, codes)
            value = seen[cell]
            if isinstance(value, ValidationError):
                if i not in refused:
                    refused[i] = reject(i, value.key, name, **value.params)
            elif value is not None:
                target[i][custom.id] = value
    return values


def _read(custom: CustomField, cell: str, codes: dict[str, str] | None):
    """The cell's value, or the ValidationError that says why it is none."""
    if codes is not None and custom.kind in CHOICE_KINDS:
        parts = [cell] if custom.kind == "choice" else _PARTS.split(cell)
        chosen = []
        for part in (p.strip() for p in parts):
            if not part:
                continue
            code = codes.get(value_key(part))
            if code is None:
                return ValidationError(UNMAPPED_CHOICE, field=custom.code, value=part)
            if code not in chosen:
                chosen.append(code)
        if not chosen:
            return None
        return chosen[0] if custom.kind == "choice" else tuple(chosen)
    try:
        return parse_cell(custom, cell)
    except ValidationError as error:
        return error


def refuse_missing_required(
    session: Session,
    actor: Actor,
    inputs: Sequence[LeadInput],
    values: CustomValues,
    refused: dict[int, IntakeOutcome],
) -> None:
    """Refuse the rows of new people that leave a required custom field blank. A row whose
    person is a stored lead (by phone, external id, e-mail or WeChat) is not new."""
    required = [f for e in ENTITIES for f in fields_visible_to(session, actor, e) if f.required]
    if not required:
        return
    missing: dict[int, CustomField] = {}
    for i in range(len(inputs)):
        if i in refused:
            continue
        have = values.lead[i] if values.lead else {}
        have_opp = values.opportunity[i] if values.opportunity else {}
        for custom in required:
            held = (have if custom.entity == "lead" else have_opp).get(custom.id)
            if held in (None, ()):
                missing[i] = custom
                break
    if not missing:
        return
    known = _stored_people(session, [inputs[i] for i in missing])
    for (i, custom), stored in zip(missing.items(), known, strict=True):
        if not stored:
            refused[i] = reject(i, FIELD_REQUIRED, field_name(custom), field=custom.code)


def _stored_people(session: Session, inputs: Sequence[LeadInput]) -> list[bool]:
    """Whether each input's person is a stored lead (a few chunked queries)."""
    keys = []
    for item in inputs:
        phone = normalise_phone(str(item.phone)) if item.phone else None
        ext = (item.external_id or "").strip() or None
        email = (item.email or "").strip().casefold() or None
        wechat = (item.wechat or "").strip() or None
        keys.append((phone, ext, email, wechat))
    columns = (Lead.phone, Lead.external_id, func.lower(func.trim(Lead.email)), Lead.wechat)
    found: list[set[str]] = []
    for position, column in enumerate(columns):
        wanted = {k[position] for k in keys if k[position]}
        hits: set[str] = set()
        for chunk in chunks(wanted):
            query = select(column).where(col(Lead.merged_into_id).is_(None), column.in_(chunk))
            hits.update(session.exec(query).all())
        found.append(hits)
    return [any(k[p] and k[p] in found[p] for p in range(4)) for k in keys]


def write_custom(
    session: Session,
    values: CustomValues,
    positions: Sequence[int],
    result: IntakeResult,
) -> int:
    """Write the rows' custom values onto the leads and opportunities the intake stored
    for them (set-based); returns the number of value rows written."""
    if not values.fields:
        return 0
    new_leads: dict[int, dict[int, FieldValue]] = {}  # no values yet: nothing to replace
    known_leads: dict[int, dict[int, FieldValue]] = {}
    opportunity_values: dict[int, dict[int, FieldValue]] = {}  # all just opened
    for outcome in result.outcomes:
        if outcome.status not in (CREATED, ADDED_LINE) or outcome.lead_id is None:
            continue
        position = positions[outcome.index]
        if values.lead[position]:
            target = new_leads if outcome.status == CREATED else known_leads
            target.setdefault(outcome.lead_id, {}).update(values.lead[position])
        if values.opportunity[position]:
            for opportunity_id in outcome.opportunity_ids:
                opportunity_values[opportunity_id] = values.opportunity[position]
    fields = values.fields
    written = write_values(session, "lead", new_leads, fields=fields, fresh=True)
    written += write_values(session, "lead", known_leads, fields=fields)
    written += write_values(session, "opportunity", opportunity_values, fields=fields, fresh=True)
    return written
