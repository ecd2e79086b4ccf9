"""Telling managers before a big recycle: when the recycle rules will take back more than
`recycle.warn_over` opportunities of one team at once, that team's managers hear it first.

The mechanism is the warnings job (hourly by default, `worker.warning_minutes`): besides
warning owners, it counts per team (the opportunity's unit) what the enabled recycle rules
will take back within the next day (`AHEAD`), and each manager of a team over the threshold
gets one in-app notice (`recycle.team_warning`: the count, the team, the threshold) - once
a day per team, so an hourly job does not repeat itself. The sweep itself is not held back:
a batch that becomes due through a rule edited minutes before the sweep is not announced
(the rule editor's dry run shows the same per-team counts against the threshold before the
rule is saved, `due_per_team`).

A team's managers: the unit's head, and the active users who may assign opportunities and
whose data scope reaches the unit by team, subtree or custom list - not the company-wide
roles (an administrator would hear of every team).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from crm_core.circulation.recycle import rule_conditions
from crm_core.circulation.rules import active_rules
from crm_core.models import Notice, Opportunity, OrgUnit, Role, User, UserRole
from crm_core.org.access import load_actor, reaches_unit
from crm_core.org.unit_labels import unit_labels
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import DataScope, Permission
from crm_core.platform.settings import get_setting

KIND = "recycle.team_warning"
AHEAD = timedelta(days=1)  # how far ahead the warnings job looks; also how often it repeats


def due_per_team(
    session: Session, rules: Sequence[tuple], now: datetime, ahead: timedelta = timedelta(0)
) -> dict[int | None, int]:
    """Unit id (None: no unit) -> how many owned opportunities the `rules` (rule, spec
    pairs) take back at `now + ahead`, each counted once. One grouped count."""
    if not rules:
        return {}
    due = or_(
        *[and_(*rule_conditions(session, rule, spec, now, ahead=ahead)) for rule, spec in rules]
    )
    rows = session.exec(
        select(Opportunity.org_unit_id, func.count()).where(due).group_by(Opportunity.org_unit_id)
    ).all()
    return {unit: int(n) for unit, n in rows}


def team_managers(session: Session, unit_ids: Sequence[int]) -> dict[int, set[int]]:
    """Unit id -> the user ids of its managers (see the module)."""
    units = session.exec(
        select(OrgUnit.id, OrgUnit.path, OrgUnit.head_user_id).where(
            col(OrgUnit.id).in_(list(unit_ids))
        )
    ).all()
    found: dict[int, set[int]] = {unit_id: set() for unit_id, _, _ in units}
    candidates = session.exec(
        select(User.id, Role.permissions)
        .join(UserRole, col(UserRole.user_id) == col(User.id))
        .join(Role, col(Role.id) == col(UserRole.role_id))
        .where(User.status == "active", User.enabled)
    ).all()
    # Managers are a handful of users: their actors are built one by one.
    managers = {
        user_id
        for user_id, permissions in candidates
        if Permission.ASSIGN_OPPORTUNITIES.value in (permissions or [])
    }
    actors = [load_actor(session, user_id) for user_id in sorted(managers)]
    active = set(session.exec(select(User.id).where(User.status == "active", User.enabled)).all())
    for unit_id, path, head in units:
        if head is not None and head in active:
            found[unit_id].add(head)
        for manager in actors:
            if manager.scope is not DataScope.ALL and reaches_unit(manager, unit_id, path):
                found[unit_id].add(manager.user_id)
    return found


def warn_team_managers(session: Session, actor: Actor) -> int:
    """The warnings job's part for managers: notices to the managers of each team whose
    opportunities due within `AHEAD` exceed `recycle.warn_over` (0: never), at most one per
    manager and team a day. Returns how many notices were sent. In the caller's transaction."""
    actor.require(Permission.RUN_JOBS)
    limit = get_setting(session, "recycle.warn_over")
    if not limit:
        return 0
    now = clock.now()
    counts = due_per_team(session, active_rules(session, "recycle"), now, AHEAD)
    over = {unit: n for unit, n in counts.items() if unit is not None and n > limit}
    if not over:
        return 0
    told = {
        (user_id, (params or {}).get("unit_id"))
        for user_id, params in session.exec(
            select(Notice.user_id, Notice.params).where(
                Notice.kind == KIND, Notice.created_at > now - AHEAD
            )
        ).all()
    }
    labels = unit_labels(session, over)
    notices = []
    for unit_id, managers in sorted(team_managers(session, list(over)).items()):
        for user_id in sorted(managers):
            if (user_id, unit_id) in told:
                continue
            params = {
                "count": over[unit_id],
                "unit": labels.get(unit_id, str(unit_id)),
                "unit_id": unit_id,
                "limit": limit,
            }
            notices.append({"user_id": user_id, "kind": KIND, "params": params, "created_at": now})
    if notices:
        session.exec(Notice.__table__.insert(), params=notices)
    return len(notices)
