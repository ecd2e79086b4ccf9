"""The lead library filtered by custom fields over a million leads: how it is counted and how
its page meets the matching set (`custom_fields.filters` describes the shapes).

When a custom field is the whole filter, the count never reads the lead table: it counts the
field's value rows from its partial index, within the reader's reach expressed on the value
rows' lead id (`org.access.lead_id_scope_parts`), leaving out merged leads (a short list,
from their partial index). The same scoped set then feeds the page: when few leads match,
their ids are read instead of counted and the page fetches them by key; when more do, the
set is hashed for a walk of the list's order; when the value is common, it is asked lead
by lead (the walk then stops within a few thousand leads). PostgreSQL's planner
otherwise reads the whole lead table for a semi-join of ten thousand ids, because it
prices each key lookup as a random read.

Counting value rows counts leads because a lead holds one value per field (several
choices: one row per code, so a test on two codes or more takes the general path, as does a
custom field combined with other criteria: `row.id IN (<set>)`, by key when few match).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, union_all
from sqlmodel import Session, col, select

from crm_core.custom_fields import filters
from crm_core.custom_fields.filters import (
    FieldCondition,
    condition_counts,
    count_shape,
    filter_clause,
    id_clause,
    matching_ids,
    page_shape,
    single_valued,
)
from crm_core.models import Lead
from crm_core.org.access import lead_id_scope_parts
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import DataScope


@dataclass(frozen=True)
class CustomPlan:
    """How a lead list meets its custom conditions. `total` / `capped`: the count, when it
    came from the value rows alone (None: count the usual way, with `count_clauses`).
    `page_clauses`: the page's condition per custom condition; `scoped`: they already hold
    the reader's reach, so the page adds no scope of its own; `per_lead`: the page walks
    few leads (a common value), so it checks the reach lead by lead rather than collecting
    a team's every lead first."""

    total: int | None = None
    capped: bool = False
    page_clauses: dict[FieldCondition, ColumnElement[bool]] = field(default_factory=dict)
    count_clauses: dict[FieldCondition, ColumnElement[bool]] = field(default_factory=dict)
    scoped: bool = False
    per_lead: bool = False


def plan_custom(
    session: Session,
    actor: Actor,
    conditions: tuple[FieldCondition, ...],
    *,
    alone: bool,
    cap: int,
) -> CustomPlan:
    """The plan for `conditions` on the lead library; `alone`: they are the whole filter."""
    if not conditions:
        return CustomPlan()
    dialect = session.get_bind().dialect.name
    if alone and len(conditions) == 1 and single_valued(conditions[0]):
        only = conditions[0]
        few = _reached_few(session, actor, only, filters.FEW)
        if few is not None:
            # The ids themselves, read once: the page fetches them by key.
            return CustomPlan(len(few), False, {only: col(Lead.id).in_(few)}, {}, scoped=True)
        total, capped = _reach_count(session, actor, only, cap)
        shape = page_shape(total, capped)
        if shape == "per_row":
            clause = filter_clause(only, shape="per_row")
            return CustomPlan(total, capped, {only: clause}, {}, scoped=False, per_lead=True)
        clause = id_clause(Lead.id, _reached_ids(actor, only), shape, dialect)
        return CustomPlan(total, capped, {only: clause}, {}, scoped=True)
    counts = condition_counts(session, conditions, cap)
    return CustomPlan(
        page_clauses={
            c: filter_clause(c, shape=page_shape(*counts[c]), dialect=dialect) for c in conditions
        },
        count_clauses={
            c: filter_clause(c, shape=count_shape(*counts[c]), dialect=dialect) for c in conditions
        },
    )


def _unmerged(owner) -> ColumnElement[bool]:
    """The value row's lead was not merged away (merged leads are few: one hashed list)."""
    return col(owner).not_in(select(Lead.id).where(col(Lead.merged_into_id).is_not(None)))


def _reached_few(
    session: Session, actor: Actor, condition: FieldCondition, few: int
) -> list[int] | None:
    """The ids of the leads in the actor's reach matching `condition` when there are at
    most `few` of them (None when there are more): read from the value rows, per part of
    the reach, each read stopping at `few` + 1."""
    ids, owner = matching_ids(condition)
    found: list[int] = []
    for part in lead_id_scope_parts(actor, owner):
        found += session.exec(ids.where(part, _unmerged(owner)).limit(few + 1 - len(found))).all()
        if len(found) > few:
            return None
    return found


def _reach_count(
    session: Session, actor: Actor, condition: FieldCondition, cap: int
) -> tuple[int, bool]:
    """(leads in the actor's reach matching `condition`, up to `cap`; whether there are
    more), counted from the value rows, one disjoint part of the reach at a time."""
    ids, owner = matching_ids(condition)
    total = 0
    for part in lead_id_scope_parts(actor, owner):
        capped = ids.where(part, _unmerged(owner)).limit(cap + 1 - total).subquery()
        total += session.exec(select(func.count()).select_from(capped)).one()
        if total > cap:
            break
    return min(total, cap), total > cap


def _reached_ids(actor: Actor, condition: FieldCondition) -> Select:
    """The ids of the leads in the actor's reach whose value meets `condition` (merged
    leads included: the page leaves them out itself)."""
    ids, owner = matching_ids(condition)
    if actor.scope is DataScope.ALL:
        return ids
    parts = [ids.where(part) for part in lead_id_scope_parts(actor, owner)]
    return select(union_all(*parts).subquery().c[0])
