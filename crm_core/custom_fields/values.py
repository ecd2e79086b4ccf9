"""Custom field values: read for a page or an export chunk in one query, set on one lead or
opportunity by hand (scope-checked, required fields enforced), and written set-based for
imports (one DELETE per field and one bulk INSERT per chunk, no ORM object per row).

A value is stored in the column of its kind: text and choice codes in `text_value`, numbers
and yes / no (1 / 0) in `number_value`, dates in `date_value`; several choices are one row
per code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from crm_core.custom_fields.cells import FieldValue, parse_form_value
from crm_core.custom_fields.definitions import value_table
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.models import CustomField, Lead, Opportunity
from crm_core.org.access import lead_scope, opportunity_scope
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

CHUNK = 500  # rows per statement: bounded IN (...) lists on every driver
OWNER_COLUMN = {"lead": "lead_id", "opportunity": "opportunity_id"}

FIELD_REQUIRED = N_("{field} is required.")
UNKNOWN_FIELD = N_("There is no field {field} that you may edit.")
WRONG_VALUE = N_("{field}: the value does not fit the field's kind.")


def _owner(entity: str):
    return getattr(value_table(entity), OWNER_COLUMN[entity])


def _columns(field: CustomField, value: FieldValue) -> list[dict]:
    """The value's stored rows (without owner and field): one per chosen code."""
    if value is None:
        return []
    kind = field.kind
    if kind in ("text", "choice") and isinstance(value, str):
        return [{"text_value": value, "number_value": None, "date_value": None}]
    if kind == "multi_choice" and isinstance(value, tuple | list):
        return [
            {"text_value": str(code), "number_value": None, "date_value": None}
            for code in dict.fromkeys(value)
        ]
    if kind == "yes_no" and isinstance(value, bool):
        return [{"text_value": None, "number_value": 1.0 if value else 0.0, "date_value": None}]
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return [{"text_value": None, "number_value": float(value), "date_value": None}]
    if kind == "date" and isinstance(value, date):
        return [{"text_value": None, "number_value": None, "date_value": value}]
    raise ValidationError(WRONG_VALUE, field=field.code)


def _decode(field: CustomField, text, number, day) -> FieldValue:
    if field.kind in ("text", "choice", "multi_choice"):
        return text
    if field.kind == "yes_no":
        return None if number is None else bool(number)
    if field.kind == "number":
        return number
    return day


def write_values(
    session: Session,
    entity: str,
    values: Mapping[int, Mapping[int, FieldValue]],
    *,
    fields: Iterable[CustomField] | None = None,
    fresh: bool = False,
) -> int:
    """Replace the values of many rows at once: `values` is {row id: {field id: value}};
    a None value clears that field. Per chunk of rows, one DELETE per field and one bulk
    INSERT. `fresh`: the rows were just inserted and hold no values, so nothing is deleted
    (an import's new leads). For imports: the caller has checked the actor's scope, the rows
    and the values (`parse_cell`). Returns the number of value rows inserted; flushes
    nothing else."""
    table = value_table(entity)
    owner_name = OWNER_COLUMN[entity]
    owner = getattr(table, owner_name)
    known = {f.id: f for f in (fields if fields is not None else [])}
    wanted = {fid for row in values.values() for fid in row} - set(known)
    if wanted:
        for field in session.exec(select(CustomField).where(col(CustomField.id).in_(wanted))):
            known[field.id] = field
    missing = {fid for row in values.values() for fid in row} - set(known)
    if missing:
        raise ValidationError(UNKNOWN_FIELD, field=str(min(missing)))
    ids = list(values)
    inserted = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        by_field: dict[int, list[int]] = defaultdict(list)
        rows: list[dict] = []
        for row_id in chunk:
            for field_id, value in values[row_id].items():
                by_field[field_id].append(row_id)
                for stored in _columns(known[field_id], value):
                    rows.append({owner_name: row_id, "field_id": field_id, **stored})
        if not fresh:
            for field_id, owners in by_field.items():
                session.execute(
                    delete(table).where(table.field_id == field_id, col(owner).in_(owners))
                )
        if rows:
            # Core executemany: the ORM's bulk path sends such rows one statement each.
            session.connection().execute(insert(table.__table__), rows)
            inserted += len(rows)
    return inserted


def values_for(
    session: Session,
    actor: Actor,
    entity: str,
    ids: Iterable[int],
    *,
    include_disabled: bool = False,
) -> dict[int, dict[str, FieldValue]]:
    """{row id: {field code: value}} of the fields `actor` sees, for the rows among `ids`
    that the actor reaches and that hold a value (others are absent), in one query (a page of a list, a chunk of an export). Several
    choices come as a tuple of codes."""
    ids = list(dict.fromkeys(ids))
    fields = {
        f.id: f
        for f in fields_visible_to(session, actor, entity, include_disabled=include_disabled)
    }
    # Only rows that hold a value: a row out of reach is not even named.
    result: dict[int, dict[str, FieldValue]] = defaultdict(dict)
    if not ids or not fields:
        return {}
    table = value_table(entity)
    owner = _owner(entity)
    if entity == "lead":
        reached = select(Lead.id).where(col(Lead.id).in_(ids), lead_scope(actor, per_lead=True))
    else:
        reached = select(Opportunity.id).where(
            col(Opportunity.id).in_(ids), opportunity_scope(actor)
        )
    rows = session.exec(
        select(owner, table.field_id, table.text_value, table.number_value, table.date_value)
        .where(col(owner).in_(reached), col(table.field_id).in_(list(fields)))
        .order_by(owner, table.field_id, table.id)
    ).all()
    for row_id, field_id, text, number, day in rows:
        field = fields[field_id]
        value = _decode(field, text, number, day)
        if field.kind == "multi_choice":
            before = result[row_id].get(field.code) or ()
            result[row_id][field.code] = (*before, value)
        else:
            result[row_id][field.code] = value
    return dict(result)


def _reach(session: Session, actor: Actor, entity: str, row_id: int) -> None:
    if entity == "lead":
        actor.require(Permission.CREATE_LEADS)
        found = session.exec(
            select(Lead.id).where(
                Lead.id == row_id,
                col(Lead.merged_into_id).is_(None),
                lead_scope(actor, per_lead=True, shared=False),
            )
        ).first()
    else:
        actor.require(Permission.WORK_OPPORTUNITIES)
        found = session.exec(
            select(Opportunity.id).where(
                Opportunity.id == row_id, opportunity_scope(actor, shared=False)
            )
        ).first()
    if found is None:
        raise NotFound(entity=entity, id=row_id)


def set_values(
    session: Session,
    actor: Actor,
    entity: str,
    row_id: int,
    changes: Mapping[str, object],
) -> dict[str, FieldValue]:
    """Set custom fields of one lead (requires create_leads) or opportunity (requires
    work_opportunities) in the actor's scope: `changes` is {field code: form value}
    (read like a cell; a list for several choices; blank or None clears). Only active
    fields the actor sees may be set; every required one the actor sees must hold a value
    afterwards. Audited with what changed; flushes. Returns the values now held."""
    _reach(session, actor, entity, row_id)
    fields = {f.code: f for f in fields_visible_to(session, actor, entity)}
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise ValidationError(UNKNOWN_FIELD, field=unknown[0])
    current = values_for(session, actor, entity, [row_id]).get(row_id, {})
    # A value sent back as it is held (a choice disabled since, say) is not read again.
    parsed = {
        code: parse_form_value(fields[code], value)
        for code, value in changes.items()
        if not _same(current.get(code), value)
    }
    after = {**current, **parsed}
    for field in fields.values():
        if field.required and after.get(field.code) in (None, ()):
            raise ValidationError(FIELD_REQUIRED, field=field.code)
    changed = {code: v for code, v in parsed.items() if current.get(code) != v}
    if not changed:
        return after
    with savepoint(session):
        write_values(
            session,
            entity,
            {row_id: {fields[code].id: value for code, value in changed.items()}},
            fields=fields.values(),
        )
    audit.record(
        session,
        actor,
        f"{entity}.custom_fields",
        entity,
        row_id,
        {code: _plain(current.get(code)) for code in changed},
        {code: _plain(value) for code, value in changed.items()},
    )
    session.flush()
    return after


def _same(held: FieldValue, sent: object) -> bool:
    if isinstance(held, tuple) and isinstance(sent, list | tuple):
        return tuple(sent) == held
    return held is not None and held == sent


def _plain(value: FieldValue):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
