"""Which public pools (公海) an actor may send opportunities to: a manager returning them by
hand, an importer landing a file's new opportunities.

A pool is a unit's (the public opportunities whose unit it is) or the company's (no unit).
An actor may choose the pools of the active units their data scope reaches, and the
company's pool only with a company-wide scope: a manager of one region putting
opportunities where every region's reps claim them would hand them outside their reach.
A unit that serves one business line (its own or one above it) takes only that line's
opportunities, because only that line's reps see its pool (`pool.pool_scope`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm_core.models import BusinessLine, OrgUnit, path_ids
from crm_core.org.access import unit_clause
from crm_core.org.unit_labels import unit_labels
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope, Permission

COMPANY_POOL = 0  # the pool of no unit, as a choice (unit ids start at 1)

# Named by the id the caller gave: a unit outside the scope is not described to them.
OUTSIDE_SCOPE = N_("The pool of unit {unit} is outside your data scope.")
COMPANY_NEEDS_ALL = N_("Only a company-wide data scope may send opportunities to the company pool.")
OTHER_LINE = N_(
    "The pool of {unit} serves {line} only: opportunities {ids} are of another business line."
)


@dataclass(frozen=True)
class PoolChoice:
    """A pool the actor may choose: a unit's (`unit_id`) or the company's (COMPANY_POOL)."""

    unit_id: int
    label: str
    business_line_id: int | None = None  # the one line the pool serves, if any


def _may_choose(actor: Actor) -> None:
    if not (actor.can(Permission.ASSIGN_OPPORTUNITIES) or actor.can(Permission.IMPORT_LEADS)):
        raise PermissionDenied(permission=Permission.ASSIGN_OPPORTUNITIES.value)


def _lines(session: Session, units: list[OrgUnit]) -> dict[int, int | None]:
    """Unit id -> the business line it serves: its own, else the nearest above it."""
    everything = {u.id: u for u in session.exec(select(OrgUnit)).all()}
    served: dict[int, int | None] = {}
    for unit in units:
        line = None
        for unit_id in reversed(path_ids(unit.path)):
            above = everything.get(unit_id)
            if above is not None and above.business_line_id:
                line = above.business_line_id
                break
        served[unit.id] = line
    return served


def pool_choices(session: Session, actor: Actor) -> list[PoolChoice]:
    """The pools the actor may send opportunities to: the company's first (company-wide
    scope only), then the active units in their scope, by path."""
    _may_choose(actor)
    units = list(
        session.exec(
            select(OrgUnit)
            .where(OrgUnit.active, unit_clause(actor, OrgUnit.id))
            .order_by(col(OrgUnit.path))
        ).all()
    )
    labels = unit_labels(session, [u.id for u in units])
    lines = _lines(session, units)
    choices = [PoolChoice(u.id, labels.get(u.id, u.name), lines[u.id]) for u in units]
    if actor.scope is DataScope.ALL:
        choices.insert(0, PoolChoice(COMPANY_POOL, ""))
    return choices


def check_pool(session: Session, actor: Actor, unit_id: int) -> PoolChoice:
    """The pool `unit_id` (or COMPANY_POOL) if the actor may send opportunities there, with
    the line it serves; else a ValidationError with the reason."""
    _may_choose(actor)
    if unit_id == COMPANY_POOL:
        if actor.scope is not DataScope.ALL:
            raise ValidationError(COMPANY_NEEDS_ALL)
        return PoolChoice(COMPANY_POOL, "")
    unit = session.exec(
        select(OrgUnit).where(OrgUnit.id == unit_id, OrgUnit.active, unit_clause(actor, OrgUnit.id))
    ).first()
    if unit is None:
        raise ValidationError(OUTSIDE_SCOPE, unit=unit_id)
    label = unit_labels(session, [unit.id]).get(unit.id, unit.name)
    return PoolChoice(unit.id, label, _lines(session, [unit])[unit.id])


def line_name(session: Session, line_id: int) -> str:
    """A business line's name for a reason."""
    line = session.get(BusinessLine, line_id)
    return line.name if line is not None else str(line_id)
