"""Who may do what, and which rows they reach.

`load_actor` turns a user into an `Actor` (permissions + data scope); the `*_scope` functions
turn an actor into SQL filters that every service applies to its reads and its writes, so a
page that forgets to check still cannot leak or change rows outside the user's scope.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from crm_core.models import (
    Lead,
    Opportunity,
    OpportunityCollaborator,
    OrgUnit,
    Role,
    User,
    UserRole,
)
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound
from crm_core.platform.permissions import SCOPE_WIDTH, DataScope


def load_actor(session: Session, user_id: int) -> Actor:
    """Build the actor for `user_id` from their roles: union of permissions, widest scope."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(entity="user", id=user_id)
    roles = session.exec(
        select(Role).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    ).all()
    unit_path = None
    if user.org_unit_id is not None:
        unit = session.get(OrgUnit, user.org_unit_id)
        unit_path = unit.path if unit else None
    collaborates = (
        session.exec(
            select(OpportunityCollaborator.id)
            .where(OpportunityCollaborator.user_id == user_id)
            .limit(1)
        ).first()
        is not None
    )
    return actor_from_roles(user, unit_path, roles, collaborates=collaborates)


def actor_from_roles(
    user: User, unit_path: str | None, roles: Iterable[Role], *, collaborates: bool = False
) -> Actor:
    """Combine `roles` into one actor for `user` (whose unit has path `unit_path`);
    `collaborates`: whether the scope includes the opportunities shared with them."""
    permissions: set[str] = set()
    exact_units: set[int] = set()
    subtree_paths: set[str] = set()
    widest = DataScope.SELF
    codes = []
    for role in roles:
        codes.append(role.code)
        permissions.update(role.permissions or [])
        scope = DataScope(role.data_scope)
        if SCOPE_WIDTH[scope] > SCOPE_WIDTH[widest]:
            widest = scope
        if scope is DataScope.TEAM and user.org_unit_id is not None:
            exact_units.add(user.org_unit_id)
        elif scope is DataScope.SUBTREE and unit_path:
            subtree_paths.add(unit_path)
        elif scope is DataScope.CUSTOM:
            exact_units.update(int(u) for u in role.scope_unit_ids or [])
    return Actor(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        org_unit_id=user.org_unit_id,
        org_path=unit_path,
        permissions=frozenset(permissions),
        scope=widest,
        exact_unit_ids=frozenset(exact_units),
        subtree_paths=frozenset(subtree_paths),
        role_codes=tuple(sorted(codes)),
        language=user.language,
        collaborates=collaborates,
    )


def unit_clause(actor: Actor, unit_column) -> ColumnElement[bool]:
    """Filter on an org-unit id column: the units the actor's scope reaches."""
    if actor.scope is DataScope.ALL:
        return true()
    parts: list[ColumnElement[bool]] = []
    if actor.exact_unit_ids:
        parts.append(unit_column.in_(sorted(actor.exact_unit_ids)))
    for path in sorted(actor.subtree_paths):
        parts.append(unit_column.in_(select(OrgUnit.id).where(OrgUnit.path.like(f"{path}%"))))
    return or_(*parts) if parts else false()


def reaches_unit(actor: Actor, unit_id: int, unit_path: str) -> bool:
    """Whether the actor's scope reaches the unit `unit_id` (whose path is `unit_path`):
    listed exactly (team, custom) or inside one of their subtrees."""
    if actor.scope is DataScope.ALL:
        return True
    return unit_id in actor.exact_unit_ids or any(
        unit_path.startswith(path) for path in actor.subtree_paths
    )


def reaches_subtree(actor: Actor, unit_path: str) -> bool:
    """Whether the actor reaches the unit at `unit_path` with everything below it, also the
    units that will be added below it later: only a subtree of their own (or everything)
    does that, a list of units never does."""
    if actor.scope is DataScope.ALL:
        return True
    return any(unit_path.startswith(path) for path in actor.subtree_paths)


def shared_opportunity_ids(actor: Actor, *, access: str | None = None) -> Select:
    """The ids of the opportunities the actor collaborates on (with `access` only, if
    given), read from the (user, opportunity) index of the small collaborator table."""
    ids = select(OpportunityCollaborator.opportunity_id).where(
        OpportunityCollaborator.user_id == actor.user_id
    )
    if access is not None:
        ids = ids.where(OpportunityCollaborator.access == access)
    return ids


def _shared_lead_ids(actor: Actor) -> Select:
    """The leads of the opportunities the actor collaborates on."""
    return (
        select(Opportunity.lead_id)
        .join(OpportunityCollaborator, OpportunityCollaborator.opportunity_id == Opportunity.id)
        .where(OpportunityCollaborator.user_id == actor.user_id)
    )


def opportunity_scope(actor: Actor, *, shared: bool = True) -> ColumnElement[bool]:
    """Opportunities the actor reaches: their own, those of the units in scope, and (unless
    `shared` is False) those they were added to as a collaborator.

    Reads use the default; a write that only the owner or a manager may make (reassign,
    orders, pool moves, edits of the lead) passes `shared=False`, so a collaborator reads an
    opportunity without gaining any power over it (`circulation.collaborators`)."""
    if actor.scope is DataScope.ALL:
        return true()
    owning = [Opportunity.owner_id == actor.user_id, unit_clause(actor, Opportunity.org_unit_id)]
    if shared and actor.collaborates:
        owning.append(Opportunity.id.in_(shared_opportunity_ids(actor)))
    return or_(*owning)


def opportunity_scope_parts(actor: Actor, *, shared: bool = True) -> list[ColumnElement[bool]]:
    """`opportunity_scope` as disjoint conditions whose union it is: the units in scope, the
    actor's own opportunities outside them, and those shared with them outside both. Each
    part alone lets the database answer from one index (unit, owner, or the collaborator
    table's user index), where the OR of them makes planners read the table; counts add up
    over the parts, lists merge them."""
    if actor.scope is DataScope.ALL:
        return [true()]
    if actor.scope is DataScope.SELF and not actor.exact_unit_ids and not actor.subtree_paths:
        parts = [Opportunity.owner_id == actor.user_id]
        units = false()
    else:
        units = unit_clause(actor, Opportunity.org_unit_id)
        own_elsewhere = and_(
            Opportunity.owner_id == actor.user_id,
            or_(Opportunity.org_unit_id.is_(None), not_(units)),
        )
        parts = [units, own_elsewhere]
    if shared and actor.collaborates:
        parts.append(
            and_(
                Opportunity.id.in_(shared_opportunity_ids(actor)),
                Opportunity.owner_id.is_distinct_from(actor.user_id),
                or_(Opportunity.org_unit_id.is_(None), not_(units)),
            )
        )
    return parts


def lead_scope(actor: Actor, *, per_lead: bool = False, shared: bool = True) -> ColumnElement[bool]:
    """Leads the actor reaches: those holding an opportunity in the actor's scope (with
    `shared`, also one they collaborate on), and those the actor entered while nobody has
    taken them (see `waiting_own_leads`).

    `per_lead`: the other conditions leave few candidates (one lead by id, a search by
    phone), so check each one. A change to the lead itself passes `shared=False`: a
    collaborator reads the lead but does not edit, tag or merge it."""
    if actor.scope is DataScope.ALL:
        return true()
    return or_(*lead_scope_parts(actor, per_lead=per_lead, shared=shared))


def lead_scope_parts(
    actor: Actor, *, per_lead: bool = False, shared: bool = True
) -> list[ColumnElement[bool]]:
    """`lead_scope` as disjoint conditions whose union it is: the leads reached through an
    opportunity in scope, the actor's own entries that nobody has taken, and (with `shared`)
    the leads of opportunities shared with the actor outside those two. Each part alone is
    answered from one index (the opportunity's lead-scope index, the lead's creator index,
    the collaborator table's user index), where their OR can make a planner read the whole
    lead table; counts add up over the parts. The first two are disjoint because an
    opportunity in scope always has an owner (the actor) or a unit (one in scope), and a
    waiting lead has neither."""
    if actor.scope is DataScope.ALL:
        return [true()]
    owning = opportunity_scope(actor, shared=False)
    if actor.scope is DataScope.SELF and not per_lead:
        # A rep's share is small: the database reads its ids once and looks them up.
        reach = Lead.id.in_(select(Opportunity.lead_id).where(owning))
    else:
        # A unit's share can be a third of the table, and a narrow search (`per_lead`)
        # has few candidates: asking per lead, through the (lead, owner, unit) index,
        # beats collecting every id of the share first.
        reach = exists().where(Opportunity.lead_id == Lead.id, owning)
    parts = [reach, waiting_own_leads(actor, per_lead=per_lead)]
    if shared and actor.collaborates:
        parts.append(
            and_(
                Lead.id.in_(_shared_lead_ids(actor)),
                not_(exists().where(Opportunity.lead_id == Lead.id, owning)),
                not_(waiting_own_leads(actor)),
            )
        )
    return parts


def lead_id_scope_parts(actor: Actor, lead_id) -> list[ColumnElement[bool]]:
    """`lead_scope_parts` as conditions on another table's column holding a lead's id (a
    custom field's value rows), so that a set of leads found there is scoped without
    reading the lead table: the reach through opportunities (a rep's: their ids, collected
    once; a unit's: asked per id through the (lead, owner, unit) index), the actor's
    waiting entries (collected once, from the creator index), and the leads shared with the
    actor outside both (from the collaborator table)."""
    if actor.scope is DataScope.ALL:
        return [true()]
    owning = opportunity_scope(actor, shared=False)
    if actor.scope is DataScope.SELF:
        reach = lead_id.in_(select(Opportunity.lead_id).where(owning))
    else:
        reach = exists().where(Opportunity.lead_id == lead_id, owning)
    own = aliased(Lead)
    taken = exists().where(
        Opportunity.lead_id == own.id,
        or_(Opportunity.owner_id.is_not(None), Opportunity.org_unit_id.is_not(None)),
    )
    waiting = lead_id.in_(select(own.id).where(own.created_by_id == actor.user_id, not_(taken)))
    if not actor.collaborates:
        return [reach, waiting]
    shared = and_(lead_id.in_(_shared_lead_ids(actor)), not_(reach), not_(waiting))
    return [reach, waiting, shared]


def waiting_own_leads(actor: Actor, *, per_lead: bool = False) -> ColumnElement[bool]:
    """Leads the actor entered that nobody has taken yet: none of their opportunities has
    an owner or a unit (still waiting for the first dispatch), or they have none at all.

    Whoever types in or imports a lead keeps sight of it until it is handed on, so they can
    correct what they entered; once any opportunity of it has gone to a rep or a team, the
    creator reaches it only as their scope does, like any colleague (finding 6: a rep kept
    reading, unmasking and editing a lead after it had gone to another region). Recycled to
    the pool, an opportunity keeps its unit, so the lead stays with that team; one sent
    back to dispatch without a unit (a departure) is waiting again, and so visible to its
    creator again until the next hand-off.

    `per_lead` checks each candidate lead through the (lead, owner, unit) index. Otherwise
    the actor's waiting entries are collected once, from the creator index: a NOT EXISTS
    over many leads would make PostgreSQL hash every taken opportunity of the company."""

    def untaken(lead) -> ColumnElement[bool]:
        taken = exists().where(
            Opportunity.lead_id == lead.id,
            or_(Opportunity.owner_id.is_not(None), Opportunity.org_unit_id.is_not(None)),
        )
        return not_(taken)

    if per_lead:
        return and_(Lead.created_by_id == actor.user_id, untaken(Lead))
    own = aliased(Lead)
    return Lead.id.in_(select(own.id).where(own.created_by_id == actor.user_id, untaken(own)))


def user_scope(actor: Actor) -> ColumnElement[bool]:
    """Users the actor reaches: themselves, plus the users of the units in scope."""
    if actor.scope is DataScope.ALL:
        return true()
    return or_(User.id == actor.user_id, unit_clause(actor, User.org_unit_id))


def org_unit_scope(actor: Actor) -> ColumnElement[bool]:
    """Org units the actor reaches."""
    return unit_clause(actor, OrgUnit.id)
