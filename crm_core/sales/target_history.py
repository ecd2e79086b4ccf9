"""The history of the sales targets: every change, with the value before and after, who
made it, when, and whether the month had already begun (`late`).

A target changed while its month runs keeps its earlier values here (and in the audit
log), so a rep's attainment can be read against what they were first asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.models import OrgUnit, SalesTarget, SalesTargetChange, User
from crm_core.org.access import user_scope
from crm_core.platform.actor import Actor
from crm_core.sales.targets import month_of, require_reader, unit_read_clause

LIMIT = 200


@dataclass(frozen=True)
class TargetChangeRow:
    """One change as the targets page lists it."""

    at: datetime
    month: date
    metric: str
    subject_kind: str  # unit | user
    subject_id: int
    subject_name: str
    old_value: Decimal | None
    new_value: Decimal
    changed_by: str | None
    late: bool
    source: str
    note: str | None


def target_history(
    session: Session,
    actor: Actor,
    *,
    month: date | None = None,
    unit_id: int | None = None,
    user_id: int | None = None,
    late_only: bool = False,
    limit: int = LIMIT,
) -> list[TargetChangeRow]:
    """The changes of the targets the actor reads, newest first: of one month, one unit
    or one person when given; only those made after their month began with `late_only`."""
    require_reader(actor)
    change, target = SalesTargetChange, SalesTarget
    author = aliased(User)
    subject_user = aliased(User)
    query = (
        select(
            change.changed_at,
            target.month,
            target.metric,
            target.org_unit_id,
            target.user_id,
            OrgUnit.name,
            subject_user.full_name,
            change.old_value,
            change.new_value,
            author.full_name,
            change.late,
            change.source,
            change.note,
        )
        .join(target, col(target.id) == col(change.target_id))
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(target.org_unit_id))
        .outerjoin(subject_user, col(subject_user.id) == col(target.user_id))
        .outerjoin(author, col(author.id) == col(change.changed_by_id))
        .where(
            or_(
                col(target.org_unit_id).in_(select(OrgUnit.id).where(unit_read_clause(actor))),
                col(target.user_id).in_(select(User.id).where(user_scope(actor))),
            )
        )
    )
    if month is not None:
        query = query.where(target.month == month_of(month))
    if unit_id is not None:
        query = query.where(target.org_unit_id == unit_id)
    if user_id is not None:
        query = query.where(target.user_id == user_id)
    if late_only:
        query = query.where(change.late)
    rows = session.exec(
        query.order_by(col(change.changed_at).desc(), col(change.id).desc()).limit(limit)
    ).all()
    return [
        TargetChangeRow(
            at,
            month_,
            metric,
            "unit" if unit is not None else "user",
            unit if unit is not None else user,
            unit_name if unit is not None else user_name,
            old,
            new,
            by,
            late,
            source,
            note,
        )
        for (
            at,
            month_,
            metric,
            unit,
            user,
            unit_name,
            user_name,
            old,
            new,
            by,
            late,
            source,
            note,
        ) in rows
    ]
