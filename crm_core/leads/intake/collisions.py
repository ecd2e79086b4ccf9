"""What an intake may say about a collision, and who is told of it.

Whoever enters a person that a colleague outside their reach already follows up learns only
that: not the colleague's name, not the opportunity's number (both would tell a rep in one
region whose leads another region holds, and let them be courted). The owner's manager is
told instead, with an in-app notice, so the owning team knows someone else met their lead.
Someone whose scope holds the opportunity sees the details, as before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from sqlmodel import Session, col, select

from crm_core.leads.intake.inputs import IntakeOutcome
from crm_core.leads.intake.matching import chunks
from crm_core.models import Notice, Opportunity, OrgUnit, Role, User, UserRole, path_ids
from crm_core.org.access import opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.permissions import DataScope, Permission

# Notice kinds (translated as "notice.<kind>"): one collision, with its opportunity's
# number for the manager who reaches it; or how many, for an import.
ONE_COLLISION = "collision.colleague"
MANY_COLLISIONS = "collision.colleagues"


def screen_collisions(
    session: Session, actor: Actor, outcomes: list[IntakeOutcome | None]
) -> list[tuple[int, int | None]]:
    """Blank the owner and the number of every collision whose opportunity lies outside the
    actor's scope (`hidden`), in place; return those opportunities as (id, owner id)."""
    found = [c.opportunity_id for o in outcomes if o is not None for c in o.collisions]
    if not found or actor.scope is DataScope.ALL:
        return []
    visible: set[int] = set()
    for chunk in chunks(found):
        visible.update(
            session.exec(
                select(Opportunity.id).where(
                    one_of(session, Opportunity.id, chunk), opportunity_scope(actor)
                )
            ).all()
        )
    hidden: dict[int, int | None] = {}
    for outcome in outcomes:
        if outcome is None or not outcome.collisions:
            continue
        screened = []
        for collision in outcome.collisions:
            if collision.opportunity_id in visible:
                screened.append(collision)
                continue
            hidden[collision.opportunity_id] = collision.owner_id
            screened.append(
                replace(
                    collision,
                    opportunity_id=None,
                    owner_id=None,
                    owner_name=None,
                    pool_state=None,
                    hidden=True,
                )
            )
        outcome.collisions = screened
    return list(hidden.items())


def tell_owners_managers(
    session: Session, actor: Actor, hidden: list[tuple[int, int | None]], at: datetime
) -> None:
    """One notice per manager of the owners of `hidden` opportunities: which opportunity
    (one) or how many (several) the actor's intake ran into. Unowned ones tell nobody."""
    owned = [(opp_id, owner_id) for opp_id, owner_id in hidden if owner_id is not None]
    if not owned:
        return
    managers_of = _managers(session, {owner_id for _, owner_id in owned})
    per_manager: Counter[int] = Counter()
    first: dict[int, int] = {}
    for opp_id, owner_id in owned:
        for manager in managers_of.get(owner_id, ()):
            if manager == actor.user_id:
                continue
            per_manager[manager] += 1
            first.setdefault(manager, opp_id)
    for manager, count in per_manager.items():
        if count == 1:
            kind, params = ONE_COLLISION, {"by": actor.full_name, "opportunity": first[manager]}
        else:
            kind, params = MANY_COLLISIONS, {"by": actor.full_name, "count": count}
        session.add(Notice(user_id=manager, kind=kind, params=params, created_at=at))
    session.flush()


def _managers(session: Session, owner_ids: set[int]) -> dict[int, set[int]]:
    """owner id -> their managers: the head of their unit, or of the nearest unit above with
    an active head; where no unit on the way has one, the holders of assign_opportunities
    in the nearest unit that has any (as a transfer request would tell). A few queries for
    any number of owners."""
    owners = dict(
        session.exec(
            select(User.id, User.org_unit_id).where(col(User.id).in_(sorted(owner_ids)))
        ).all()
    )
    unit_ids = {u for u in owners.values() if u is not None}
    if not unit_ids:
        return {}
    paths = dict(
        session.exec(select(OrgUnit.id, OrgUnit.path).where(col(OrgUnit.id).in_(unit_ids))).all()
    )
    upwards = {unit: list(reversed(path_ids(path))) for unit, path in paths.items()}
    every_unit = {u for chain in upwards.values() for u in chain}
    heads = dict(
        session.exec(
            select(OrgUnit.id, OrgUnit.head_user_id).where(
                col(OrgUnit.id).in_(every_unit), col(OrgUnit.head_user_id).is_not(None)
            )
        ).all()
    )
    active = set(
        session.exec(
            select(User.id).where(
                col(User.id).in_(set(heads.values())), User.status == "active", User.enabled
            )
        ).all()
    )
    found: dict[int, set[int]] = {}
    headless: list[tuple[int, list[int]]] = []
    for owner_id, unit_id in owners.items():
        chain = upwards.get(unit_id, [])
        head = next((heads[u] for u in chain if heads.get(u) in active - {owner_id}), None)
        if head is not None:
            found[owner_id] = {head}
        else:
            headless.append((owner_id, chain))
    if headless:
        assigners = _assigners_by_unit(session, every_unit)
        for owner_id, chain in headless:
            nearest = next(
                (others for u in chain if (others := assigners.get(u, set()) - {owner_id})),
                None,
            )
            if nearest:
                found[owner_id] = nearest
    return found


def _assigners_by_unit(session: Session, unit_ids: set[int]) -> dict[int, set[int]]:
    """unit id -> the active users there who may assign opportunities (managers)."""
    roles = [
        role_id
        for role_id, permissions in session.exec(select(Role.id, Role.permissions)).all()
        if Permission.ASSIGN_OPPORTUNITIES in (permissions or [])
    ]
    if not roles:
        return {}
    rows = session.exec(
        select(User.org_unit_id, User.id)
        .where(
            col(User.org_unit_id).in_(unit_ids),
            User.status == "active",
            User.enabled,
            col(User.id).in_(select(UserRole.user_id).where(col(UserRole.role_id).in_(roles))),
        )
        .distinct()
    ).all()
    found: dict[int, set[int]] = {}
    for unit_id, user_id in rows:
        found.setdefault(unit_id, set()).add(user_id)
    return found
