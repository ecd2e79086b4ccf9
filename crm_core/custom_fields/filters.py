"""Filtering lists by custom fields: the lead library and the opportunity board.

A condition on one field is `row.id IN (SELECT owner FROM <values> WHERE field_id = ? AND
<value test>)`: the database answers the inner query from the field's partial index
(field, value, row) as one range scan, whatever the size of the table, and checks the
other conditions and the scope on the rows it returns.

A value that many rows share (a choice held by a fifth of the leads) is asked the other
way round for a sorted page: `EXISTS (... WHERE owner = row.id ...)`, so the page walks
the list's own order index and stops after its 50 rows, probing the value index per row,
instead of collecting and sorting every match (`broad_conditions` tells them apart).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, exists, func
from sqlmodel import Session, col, select

from crm_core.custom_fields.definitions import value_table
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.models import CustomField, Lead, Opportunity
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

# Which tests each kind offers.
OPERATORS = {
    "text": ("equals", "contains"),
    "number": ("between",),
    "date": ("between",),
    "yes_no": ("is",),
    "choice": ("any_of",),
    "multi_choice": ("any_of",),
}
BAD_OPERATOR = N_("{field} cannot be filtered by {operator}.")
BAD_FILTER_VALUE = N_("{field}: the filter value does not fit the field.")
FILTER_FIELD_UNKNOWN = N_("There is no field {field} to filter by.")


@dataclass(frozen=True)
class FieldCondition:
    """One custom-field test of a list filter. `value`: text (equals, contains), a pair
    (low, high) with either end None (between; inclusive), a bool (is), a tuple of choice
    codes (any_of)."""

    entity: str
    field_id: int
    field_code: str
    kind: str
    operator: str
    value: object


def condition(field: CustomField, operator: str, value: object) -> FieldCondition | None:
    """A condition on `field`, checked: the operator fits the kind and the value the
    operator. None when the value says nothing (blank text, an open range, no choice)."""
    if operator not in OPERATORS.get(field.kind, ()):
        raise ValidationError(BAD_OPERATOR, field=field.code, operator=operator)
    if operator in ("equals", "contains"):
        value = (str(value) if value is not None else "").strip()
        if not value:
            return None
    elif operator == "between":
        low, high = value if isinstance(value, tuple | list) else (None, None)
        kind = date if field.kind == "date" else (int, float)
        for end in (low, high):
            if end is not None and (not isinstance(end, kind) or isinstance(end, bool)):
                raise ValidationError(BAD_FILTER_VALUE, field=field.code)
        if low is None and high is None:
            return None
        if low is not None and high is not None and low > high:
            low, high = high, low
        value = (low, high)
    elif operator == "is":
        if value is None:
            return None
        if not isinstance(value, bool):
            raise ValidationError(BAD_FILTER_VALUE, field=field.code)
    else:
        value = tuple(str(v) for v in (value or ()))
        if not value:
            return None
    return FieldCondition(field.entity, field.id, field.code, field.kind, operator, value)


def filter_clause(condition: FieldCondition, *, per_row: bool = False) -> ColumnElement[bool]:
    """The WHERE condition on the lead or opportunity that `condition` asks for; `per_row`:
    as a correlated EXISTS, for a sorted page over a value that many rows hold."""
    owner, tests = _value_tests(condition)
    row_id = Lead.id if condition.entity == "lead" else Opportunity.id
    if per_row:
        return exists().where(owner == row_id, *tests)
    return col(row_id).in_(select(owner).where(*tests))


def _value_tests(condition: FieldCondition):
    """The owner column of the value table and the tests on its rows."""
    table = value_table(condition.entity)
    owner = table.lead_id if condition.entity == "lead" else table.opportunity_id
    tests = [table.field_id == condition.field_id]
    value = condition.value
    if condition.operator == "equals":
        tests.append(table.text_value == value)
    elif condition.operator == "contains":
        escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        tests.append(col(table.text_value).ilike(f"%{escaped}%", escape="\\"))
    elif condition.operator == "between":
        column = table.date_value if condition.kind == "date" else table.number_value
        low, high = value
        if low is not None:
            tests.append(column >= low)
        if high is not None:
            tests.append(column <= high)
        if low is None or high is None:
            tests.append(col(column).is_not(None))  # lets the partial index serve
    elif condition.operator == "is":
        tests.append(table.number_value == (1.0 if value else 0.0))
    else:
        tests.append(col(table.text_value).in_(list(value)))
    return owner, tests


def broad_conditions(
    session: Session, conditions: Iterable[FieldCondition], limit: int
) -> frozenset[FieldCondition]:
    """The conditions whose value more than `limit` rows hold (ignoring scope): an
    index-only count of each that stops at `limit` + 1."""
    broad = set()
    for c in conditions:
        owner, tests = _value_tests(c)
        capped = select(owner).where(*tests).limit(limit + 1).subquery()
        if session.exec(select(func.count()).select_from(capped)).one() > limit:
            broad.add(c)
    return frozenset(broad)


def check_conditions(session: Session, actor: Actor, conditions: Iterable[FieldCondition]) -> None:
    """Refuse a condition on a field the actor does not see or that is disabled: a filter
    must not probe values the reader cannot read."""
    conditions = list(conditions)
    for entity in {c.entity for c in conditions}:
        visible = {f.id for f in fields_visible_to(session, actor, entity)}
        for c in conditions:
            if c.entity == entity and c.field_id not in visible:
                raise ValidationError(FILTER_FIELD_UNKNOWN, field=c.field_code)
