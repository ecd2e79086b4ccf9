"""Sales targets (业绩目标): set, split and read the monthly targets of org units and reps.

- A target is a value per month (company time), metric (`TARGET_METRICS`: revenue in the
  company currency, won opportunities, new paid students) and subject: an org unit (its
  whole subtree) or one person. A quarter's target is the sum of its three months.
- Who sets them: holders of `manage_targets`, for the units and people in their reach -
  not their own target, nor their own unit's: those come from the level above (an admin
  or system actor, reaching everything, sets any). Everyone else reads: a manager the
  units and people in reach, a rep their own targets and their unit's.
- Splitting: a unit's target is split among its child units and the people sitting
  directly in it; the remainder (target minus the sum of the parts) is shown. A split
  over the target is allowed (a stretch for the reps), shown as a negative remainder.
- History: every change writes a `SalesTargetChange` row (old value, new value, who,
  when, whether the month had begun) and an audit entry `target.set`.

Attainment (what was reached against the target) is in `crm_core.sales.target_attainment`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from crm_core.models import TARGET_METRICS, OrgUnit, SalesTarget, SalesTargetChange, User
from crm_core.org.access import org_unit_scope, user_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, day_start_in
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.platform.permissions import DataScope, Permission

ZERO = Decimal(0)
MAX_COUNT = 1_000_000
CHUNK = 900


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def quarter_months(day: date) -> list[date]:
    """The first days of the three months of `day`'s quarter."""
    first = (day.month - 1) // 3 * 3 + 1
    return [date(day.year, first + i, 1) for i in range(3)]


def check_metric(metric: str) -> str:
    """`metric` if it is one of `TARGET_METRICS`, else a ValidationError."""
    if metric not in TARGET_METRICS:
        raise ValidationError(N_("Unknown target metric {metric}."), metric=metric)
    return metric


def clean_value(metric: str, value: object) -> Decimal:
    """A target value: money (two decimals) for revenue, a whole number for the counts;
    zero is allowed (no target), a negative value is not."""
    check_metric(metric)
    text = str(value if value is not None else "").strip()
    if text in ("0", "0.0", "0.00"):
        return ZERO
    if metric == "revenue":
        return parse_money(value, field="value")
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation as exc:
        raise ValidationError(N_("“{value}” is not a whole number."), value=text) from exc
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise ValidationError(N_("“{value}” is not a whole number."), value=text)
    if number > MAX_COUNT:
        raise ValidationError(N_("“{value}” is too large a target."), value=text)
    return number.quantize(Decimal(1))


@dataclass(frozen=True)
class TargetEntry:
    """One target to set: month (any day of it), metric, subject (unit or user), value."""

    month: date
    metric: str
    value: Decimal
    unit_id: int | None = None
    user_id: int | None = None
    note: str | None = None

    @property
    def key(self) -> tuple:
        return (month_of(self.month), self.metric, self.unit_id, self.user_id)


@dataclass(frozen=True)
class SetOutcome:
    """What a set did: how many targets were created, changed and left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def own_only(actor: Actor) -> bool:
    """Whether the actor reaches only their own rows (a rep)."""
    return actor.scope is DataScope.SELF and not actor.exact_unit_ids and not actor.subtree_paths


def require_reader(actor: Actor) -> None:
    """Targets are read by those who work, manage or watch the sales floor."""
    if not any(
        actor.can(p)
        for p in (
            Permission.MANAGE_TARGETS,
            Permission.VIEW_DASHBOARDS,
            Permission.WORK_OPPORTUNITIES,
        )
    ):
        actor.require(Permission.VIEW_DASHBOARDS)


def unit_read_clause(actor: Actor):
    """Condition on `org_unit`: the units whose targets the actor reads."""
    condition = org_unit_scope(actor)
    if own_only(actor) and actor.org_unit_id is not None:
        condition = or_(condition, OrgUnit.id == actor.org_unit_id)
    return condition


def readable_units(session: Session, actor: Actor) -> dict[int, OrgUnit]:
    """The units whose targets the actor reads: those in reach, and a rep's own unit."""
    require_reader(actor)
    units = session.exec(
        select(OrgUnit).where(unit_read_clause(actor)).order_by(OrgUnit.path)
    ).all()
    return {u.id: u for u in units}


def readable_users(session: Session, actor: Actor) -> dict[int, User]:
    """The people whose targets the actor reads: those in reach (a rep: themselves)."""
    require_reader(actor)
    users = session.exec(select(User).where(user_scope(actor)).order_by(User.full_name)).all()
    return {u.id: u for u in users}


def settable_units(session: Session, actor: Actor) -> dict[int, OrgUnit]:
    """The units whose targets the actor may set (in reach, not their own)."""
    actor.require(Permission.MANAGE_TARGETS)
    units = session.exec(select(OrgUnit).where(org_unit_scope(actor)).order_by(OrgUnit.path))
    everything = actor.scope is DataScope.ALL
    return {u.id: u for u in units if everything or u.id != actor.org_unit_id}


def settable_users(session: Session, actor: Actor) -> dict[int, User]:
    """The people whose targets the actor may set (in reach, active, not themselves)."""
    actor.require(Permission.MANAGE_TARGETS)
    users = session.exec(
        select(User).where(user_scope(actor), User.status != "resigned").order_by(User.full_name)
    )
    everything = actor.scope is DataScope.ALL
    return {u.id: u for u in users if everything or u.id != actor.user_id}


def _check_subject(session: Session, actor: Actor, entry: TargetEntry) -> None:
    """Refuse a subject outside the actor's reach (it does not exist), and their own."""
    if (entry.unit_id is None) == (entry.user_id is None):
        raise ValidationError(N_("A target belongs to one org unit or one person."))
    everything = actor.scope is DataScope.ALL
    if entry.unit_id is not None:
        found = session.exec(
            select(OrgUnit.id).where(OrgUnit.id == entry.unit_id, org_unit_scope(actor))
        ).first()
        if found is None:
            raise NotFound(entity="org_unit", id=entry.unit_id)
        if not everything and entry.unit_id == actor.org_unit_id:
            raise ValidationError(N_("Your own unit's target is set by the level above."))
    else:
        found = session.exec(
            select(User.id).where(User.id == entry.user_id, user_scope(actor))
        ).first()
        if found is None:
            raise NotFound(entity="user", id=entry.user_id)
        if not everything and entry.user_id == actor.user_id:
            raise ValidationError(N_("Your own target is set by the level above."))


def _subject_clause(keys: Iterable[tuple]):
    """Targets matching any of the (month, metric, unit, user) keys."""
    return or_(
        *(
            and_(
                SalesTarget.month == month,
                SalesTarget.metric == metric,
                (SalesTarget.org_unit_id == unit)
                if unit is not None
                else SalesTarget.user_id == user,
            )
            for month, metric, unit, user in keys
        )
    )


def existing_targets(session: Session, keys: Iterable[tuple]) -> dict[tuple, SalesTarget]:
    """The stored targets of the (month, metric, unit, user) keys, read in chunks."""
    keys = sorted(set(keys), key=str)
    found: dict[tuple, SalesTarget] = {}
    for start in range(0, len(keys), CHUNK // 4):
        chunk = keys[start : start + CHUNK // 4]
        for target in session.exec(select(SalesTarget).where(_subject_clause(chunk))).all():
            found[(target.month, target.metric, target.org_unit_id, target.user_id)] = target
    return found


def month_started(session: Session, month: date, now: datetime | None = None) -> bool:
    """Whether the company's month `month` has begun."""
    return (now or clock.now()) >= day_start_in(company_zone(session), month_of(month))


def write_targets(
    session: Session, actor: Actor, entries: list[TargetEntry], *, source: str = "form"
) -> SetOutcome:
    """Store `entries` (already checked against the actor's reach): new targets, changed
    values with a history row and an audit entry each; equal values change nothing.
    Set-based: the stored targets are read at once and the rows added in bulk."""
    now = clock.now()
    stored = existing_targets(session, (e.key for e in entries))
    started = {m: month_started(session, m, now) for m in {month_of(e.month) for e in entries}}
    created = updated = unchanged = 0
    changes: list[tuple[SalesTarget, Decimal | None, TargetEntry]] = []
    for entry in entries:
        month = month_of(entry.month)
        target = stored.get(entry.key)
        if target is not None and target.value == entry.value:
            unchanged += 1
            continue
        old = None if target is None else target.value
        if target is None:
            target = SalesTarget(
                month=month,
                metric=entry.metric,
                org_unit_id=entry.unit_id,
                user_id=entry.user_id,
                value=entry.value,
                set_by_id=actor.user_id,
                created_at=now,
            )
            stored[entry.key] = target
            created += 1
        else:
            target.value, target.set_by_id, target.updated_at = entry.value, actor.user_id, now
            updated += 1
        session.add(target)
        changes.append((target, old, entry))
    session.flush()
    for target, old, entry in changes:
        late = started[target.month]
        session.add(
            SalesTargetChange(
                target_id=target.id,
                old_value=old,
                new_value=target.value,
                changed_by_id=actor.user_id,
                changed_at=now,
                late=late,
                source=source,
                note=(entry.note or None),
            )
        )
        audit.record(
            session,
            actor,
            "target.set",
            "sales_target",
            target.id,
            None if old is None else {"value": str(old)},
            {
                "month": target.month.isoformat(),
                "metric": target.metric,
                "org_unit_id": target.org_unit_id,
                "user_id": target.user_id,
                "value": str(target.value),
                "late": late,
                "source": source,
            },
        )
    session.flush()
    return SetOutcome(created, updated, unchanged)


def set_targets(
    session: Session, actor: Actor, entries: list[TargetEntry], *, source: str = "form"
) -> SetOutcome:
    """Set several targets at once (a split: a unit's parts), each checked against the
    actor's reach first; nothing is stored when one is refused."""
    actor.require(Permission.MANAGE_TARGETS)
    cleaned = []
    for entry in entries:
        _check_subject(session, actor, entry)
        value = clean_value(entry.metric, entry.value)
        cleaned.append(
            TargetEntry(
                month_of(entry.month), entry.metric, value, entry.unit_id, entry.user_id, entry.note
            )
        )
    keys = [e.key for e in cleaned]
    if len(set(keys)) != len(keys):
        raise ValidationError(N_("The same target is given twice."))
    return write_targets(session, actor, cleaned, source=source)


def set_target(
    session: Session,
    actor: Actor,
    *,
    month: date,
    metric: str,
    value: object,
    unit_id: int | None = None,
    user_id: int | None = None,
    note: str | None = None,
) -> SetOutcome:
    """Set one target (of a unit, or of a person) for `month` and `metric`."""
    entry = TargetEntry(month, check_metric(metric), value, unit_id, user_id, note)  # type: ignore[arg-type]
    return set_targets(session, actor, [entry])


@dataclass
class SplitPart:
    """A child unit or a person of the split unit, with their targets by metric."""

    kind: str  # unit | user
    key: int
    name: str
    values: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Split:
    """A unit's targets for a month, its parts, and what is left to split per metric
    (None where the unit has no target)."""

    unit_id: int
    month: date
    targets: dict[str, Decimal | None]
    parts: list[SplitPart]
    remainder: dict[str, Decimal | None]


def split_of(session: Session, actor: Actor, unit_id: int, month: date) -> Split:
    """How unit `unit_id`'s targets of `month` are split among its child units and the
    people sitting directly in it (active ones, and anyone holding a target)."""
    units = readable_units(session, actor)
    if unit_id not in units:
        raise NotFound(entity="org_unit", id=unit_id)
    month = month_of(month)
    children = [u for u in units.values() if u.parent_id == unit_id and u.active]
    people = session.exec(
        select(User)
        .where(User.org_unit_id == unit_id, user_scope(actor), User.status != "resigned")
        .order_by(User.full_name)
    ).all()
    rows = session.exec(
        select(SalesTarget).where(
            SalesTarget.month == month,
            or_(
                col(SalesTarget.org_unit_id).in_([unit_id, *(u.id for u in children)]),
                col(SalesTarget.user_id).in_([p.id for p in people]),
            ),
        )
    ).all()
    by_unit: dict[int, dict[str, Decimal]] = {}
    by_user: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        into = by_unit if row.org_unit_id is not None else by_user
        into.setdefault(row.org_unit_id or row.user_id, {})[row.metric] = row.value
    parts = [
        SplitPart("unit", u.id, u.name, {m: by_unit.get(u.id, {}).get(m) for m in TARGET_METRICS})
        for u in children
    ] + [
        SplitPart(
            "user", p.id, p.full_name, {m: by_user.get(p.id, {}).get(m) for m in TARGET_METRICS}
        )
        for p in people
    ]
    own = {m: by_unit.get(unit_id, {}).get(m) for m in TARGET_METRICS}
    remainder = {
        m: None if own[m] is None else own[m] - sum((p.values[m] or ZERO for p in parts), ZERO)
        for m in TARGET_METRICS
    }
    return Split(unit_id, month, own, parts, remainder)
