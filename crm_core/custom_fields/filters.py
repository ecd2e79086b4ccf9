"""Filtering lists by custom fields: the lead library and the opportunity board.

A condition on one field selects the owners of matching value rows, `SELECT owner FROM
<values> WHERE field_id = ? AND <value test>`, which the field's partial index (field, value,
row) answers as one index-only range scan. How the list then meets that set depends on how
many rows match (`shape`, from a count that stops at a cap):

- few (at most FEW): `row.id = ANY(ARRAY(<set>))` on PostgreSQL (`IN` on SQLite) - the
  database fetches those rows by primary key and sorts them; PostgreSQL's planner, left to
  an `IN`, would rather read the whole table than probe a few thousand keys;
- more, up to the cap: `(row.id IN (<set>)) IS TRUE` - the set is hashed once and a sorted
  page walks the list's own order index, checking each row against the hash, until its 50;
- more than the cap (a common value): `EXISTS (... WHERE owner = row.id ...)` per row - a
  page walks the order index and probes the value index per row; the matches are dense, so
  it stops soon, where hashing them all would cost more than the page.

Counts use the plain semi-join `row.id IN (<set>)`, or `ANY` when few match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ARRAY, ColumnElement, Integer, Select, any_, cast, exists, func, true
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

# A set of at most FEW rows is fetched by key (`ids`); more are hashed (`set`); above the
# count cap they are asked per row (`per_row`). See the module docstring.
FEW = 2_000
SHAPES = ("in", "ids", "set", "per_row")


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


def filter_clause(
    condition: FieldCondition,
    *,
    per_row: bool = False,
    shape: str | None = None,
    dialect: str = "sqlite",
    row_id=None,
) -> ColumnElement[bool]:
    """The WHERE condition on the lead or opportunity that `condition` asks for, in `shape`
    (see the module docstring; default `in`, or `per_row` when asked so). `row_id`: the
    column holding the owner's id (default the lead's or opportunity's own id; the board
    passes `Opportunity.lead_id` for a lead's field, so it needs no join)."""
    owner, tests = _value_tests(condition)
    if row_id is None:
        row_id = Lead.id if condition.entity == "lead" else Opportunity.id
    shape = shape or ("per_row" if per_row else "in")
    if shape == "per_row":
        return exists().where(owner == row_id, *tests)
    return id_clause(row_id, select(owner).where(*tests), shape, dialect)


def id_clause(row_id, ids: Select, shape: str, dialect: str) -> ColumnElement[bool]:
    """`row_id` is one of the ids `ids` selects, as `shape` says (not `per_row`)."""
    if shape == "ids" and dialect == "postgresql":
        listed = ids.subquery()
        # ANY over an array (not over a subquery, which would be the semi-join again).
        array = select(func.array_agg(listed.c[0])).scalar_subquery()
        return row_id == any_(cast(array, ARRAY(Integer)))
    if shape == "set":
        # Kept apart from the other conditions, so the planner hashes it as a filter.
        return col(row_id).in_(ids).is_(true())
    return col(row_id).in_(ids)


def matching_ids(condition: FieldCondition) -> tuple[Select, object]:
    """`SELECT owner FROM <values> WHERE <condition>`, and the owner column (to add
    conditions on it)."""
    owner, tests = _value_tests(condition)
    return select(owner).where(*tests), owner


def single_valued(condition: FieldCondition) -> bool:
    """Whether no row can match `condition` with two values: then counting value rows
    counts rows (every kind holds one value per row but several choices, one per code)."""
    return not (condition.kind == "multi_choice" and len(condition.value) > 1)


def page_shape(matches: int, capped: bool) -> str:
    """The shape for a sorted page over `matches` rows (more than the cap: `capped`)."""
    if capped:
        return "per_row"
    return "ids" if matches <= FEW else "set"


def count_shape(matches: int, capped: bool) -> str:
    """The shape for a count: by key when few match, else the semi-join (a count reads
    every match anyway, and a hash filter would walk every row of the list)."""
    return "ids" if not capped and matches <= FEW else "in"


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
    """The conditions whose value more than `limit` rows hold (ignoring scope)."""
    counts = condition_counts(session, conditions, limit)
    return frozenset(c for c, (_n, more) in counts.items() if more)


def condition_counts(
    session: Session, conditions: Iterable[FieldCondition], cap: int
) -> dict[FieldCondition, tuple[int, bool]]:
    """Per condition, how many value rows match it up to `cap` (ignoring scope), and whether
    there are more: an index-only count that stops at `cap` + 1."""
    counts = {}
    for c in conditions:
        owner, tests = _value_tests(c)
        capped = select(owner).where(*tests).limit(cap + 1).subquery()
        found = session.exec(select(func.count()).select_from(capped)).one()
        counts[c] = (min(found, cap), found > cap)
    return counts


def check_conditions(session: Session, actor: Actor, conditions: Iterable[FieldCondition]) -> None:
    """Refuse a condition on a field the actor does not see or that is disabled: a filter
    must not probe values the reader cannot read."""
    conditions = list(conditions)
    for entity in {c.entity for c in conditions}:
        visible = {f.id for f in fields_visible_to(session, actor, entity)}
        for c in conditions:
            if c.entity == entity and c.field_id not in visible:
                raise ValidationError(FILTER_FIELD_UNKNOWN, field=c.field_code)
