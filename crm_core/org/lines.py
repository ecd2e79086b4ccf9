"""Which business lines (业务线) a person works in: the line of their own unit (or the
nearest unit above it that has one) and the lines of the units their scope reaches. A lead
typed in by hand is offered for those lines, their own first, so a Postgraduate rep does not
end up owning a Workplace English opportunity by a slip of the mouse."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm_core.models import BusinessLine, OrgUnit, path_ids
from crm_core.org.access import unit_clause
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import DataScope, Permission


@dataclass(frozen=True)
class WorkedLines:
    """The active lines offered to `actor` for a new lead, and their own line (the default)."""

    lines: list[BusinessLine]
    own_code: str | None
    # True when the actor is not limited: they may assign across lines, or no unit names a line.
    every_line: bool


def worked_lines(session: Session, actor: Actor) -> WorkedLines:
    """The business lines `actor` works in, read from the org tree (see the module doc).
    Someone who may assign opportunities company-wide works in every line."""
    active = list(
        session.exec(
            select(BusinessLine).where(BusinessLine.active).order_by(BusinessLine.code)
        ).all()
    )
    own_id = _own_line(session, actor)
    by_id = {line.id: line for line in active}
    own_code = by_id[own_id].code if own_id in by_id else None
    if actor.scope is DataScope.ALL and actor.can(Permission.ASSIGN_OPPORTUNITIES):
        return WorkedLines(active, own_code, True)
    reached = set(
        session.exec(
            select(OrgUnit.business_line_id)
            .where(col(OrgUnit.business_line_id).is_not(None), unit_clause(actor, OrgUnit.id))
            .distinct()
        ).all()
    )
    if own_id is not None:
        reached.add(own_id)
    mine = [line for line in active if line.id in reached]
    if not mine:
        # No unit of theirs names a line (a company that does not split its teams by line).
        return WorkedLines(active, own_code, True)
    return WorkedLines(mine, own_code, False)


def _own_line(session: Session, actor: Actor) -> int | None:
    """The line of the actor's unit, or of the nearest unit above it that has one."""
    if not actor.org_path:
        return None
    chain = path_ids(actor.org_path)
    rows = dict(
        session.exec(
            select(OrgUnit.id, OrgUnit.business_line_id).where(col(OrgUnit.id).in_(chain))
        ).all()
    )
    for unit_id in reversed(chain):
        if rows.get(unit_id) is not None:
            return rows[unit_id]
    return None
