"""Collaborators on an opportunity (协作人): colleagues its owner or a manager adds - the class
teacher on a renewal, a senior adviser on a hard case - with `read` or `follow_up` access.

A collaborator reaches the opportunity and its lead through every scoped read
(`org.access.opportunity_scope` has a part for them) without a wider data scope; with
`follow_up` access they may also log follow-ups on it (`lock_for_change(shared_access=...)`),
and nothing else: reassigning, orders, pool moves and edits of the lead stay with the owner's
side. Contacts show to them as their own role's permissions allow.

Who may add, change and remove: the owner (holding work_opportunities), or a holder of
assign_opportunities whose own scope (not a collaboration) reaches the opportunity. Whom:
any active, enabled user of the company who may view opportunities (and work them, for
`follow_up`), except the owner: a class teacher sits outside the sales units. Removing is
immediate: the next read is checked against the table. Every change is audited and the
added colleague is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from crm_core.circulation.opportunities import get_opportunity, lock_for_change
from crm_core.models import (
    COLLABORATOR_ACCESS,
    Lead,
    Notice,
    Opportunity,
    OpportunityCollaborator,
    Role,
    User,
    UserRole,
)
from crm_core.org.access import opportunity_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MAX_SHARED = 200


@dataclass(frozen=True)
class CollaboratorRow:
    """One collaborator as the opportunity page lists them."""

    user_id: int
    name: str
    access: str
    added_by: str | None
    added_at: datetime


@dataclass(frozen=True)
class SharedRow:
    """One opportunity shared with the actor, as their board lists it."""

    opportunity_id: int
    lead_name: str
    stage: str
    pool_state: str
    owner: str | None
    access: str
    next_follow_up_at: datetime | None


def _check_access(access: str) -> None:
    if access not in COLLABORATOR_ACCESS:
        raise ValidationError(N_("Choose read or read-and-follow-up access."))


def _managed(
    session: Session, actor: Actor, opportunity_id: int, *, open_only: bool
) -> Opportunity:
    """The opportunity, locked, when the actor may manage its collaborators."""
    opportunity = lock_for_change(session, actor, opportunity_id, open_only=open_only)
    if opportunity.owner_id != actor.user_id and not actor.can(Permission.ASSIGN_OPPORTUNITIES):
        raise PermissionDenied(
            N_("Only the opportunity's owner or a manager may change its collaborators.")
        )
    return opportunity


def _reached(session: Session, actor: Actor, opportunity_id: int) -> tuple[int, int | None]:
    """(id, owner id) of the opportunity when the actor's own scope (not a collaboration)
    reaches it; NotFound otherwise. No lock: for what the page shows."""
    actor.require(Permission.WORK_OPPORTUNITIES)
    found = session.exec(
        select(Opportunity.id, Opportunity.owner_id).where(
            Opportunity.id == opportunity_id, opportunity_scope(actor, shared=False)
        )
    ).first()
    if found is None:
        raise NotFound(entity="opportunity", id=opportunity_id)
    return found[0], found[1]


def may_manage(session: Session, actor: Actor, opportunity_id: int) -> bool:
    """Whether the actor may add, change and remove the collaborators of the opportunity
    (read only, no lock): the page shows the controls only then."""
    if not actor.can(Permission.WORK_OPPORTUNITIES):
        return False
    try:
        _, owner = _reached(session, actor, opportunity_id)
    except NotFound:
        return False
    return owner == actor.user_id or actor.can(Permission.ASSIGN_OPPORTUNITIES)


def _holders(session: Session, permission: str):
    """The ids of the users holding `permission` through a role (a subquery)."""
    roles = [
        rid
        for rid, perms in session.exec(select(Role.id, Role.permissions)).all()
        if permission in (perms or [])
    ]
    return select(UserRole.user_id).where(col(UserRole.role_id).in_(roles))


def candidates(session: Session, actor: Actor, opportunity_id: int) -> list[tuple[int, str]]:
    """(id, name) of the colleagues the actor may add to the opportunity: active, enabled
    users who may view opportunities, not the owner nor one already added. Refused as
    `add_collaborator` would refuse the actor, without locking the opportunity."""
    if not may_manage(session, actor, opportunity_id):
        _managed(session, actor, opportunity_id, open_only=False)  # raises the reason
    _, owner_id = _reached(session, actor, opportunity_id)
    added = select(OpportunityCollaborator.user_id).where(
        OpportunityCollaborator.opportunity_id == opportunity_id
    )
    where = [
        User.status == "active",
        col(User.enabled).is_(True),
        col(User.id).in_(_holders(session, Permission.VIEW_OPPORTUNITIES)),
        col(User.id).not_in(added),
    ]
    if owner_id is not None:
        where.append(User.id != owner_id)
    rows = session.exec(select(User.id, User.full_name).where(*where).order_by(User.full_name))
    return [(user_id, name) for user_id, name in rows.all()]


def _colleague(session: Session, user_id: int, access: str, owner_id: int | None) -> User:
    user = session.get(User, user_id)
    if user is None or user.status != "active" or not user.enabled:
        raise ValidationError(N_("Choose an active colleague."))
    if user_id == owner_id:
        raise ValidationError(N_("The owner already works this opportunity."))
    needed = (
        Permission.WORK_OPPORTUNITIES if access == "follow_up" else Permission.VIEW_OPPORTUNITIES
    )
    holds = session.exec(
        select(UserRole.user_id).where(
            UserRole.user_id == user_id, col(UserRole.user_id).in_(_holders(session, needed))
        )
    ).first()
    if holds is None:
        raise ValidationError(
            N_("{name} may not view or work opportunities: choose another colleague or access."),
            name=user.full_name,
        )
    return user


def add_collaborator(
    session: Session, actor: Actor, opportunity_id: int, user_id: int, access: str = "read"
) -> OpportunityCollaborator:
    """Add a colleague to an open opportunity with `access`; audited
    (`opportunity.collaborator_add`) and the colleague told. Flushes; the caller commits."""
    _check_access(access)
    opportunity = _managed(session, actor, opportunity_id, open_only=True)
    user = _colleague(session, user_id, access, opportunity.owner_id)
    exists = session.exec(
        select(OpportunityCollaborator.id).where(
            OpportunityCollaborator.opportunity_id == opportunity_id,
            OpportunityCollaborator.user_id == user_id,
        )
    ).first()
    if exists is not None:
        raise ValidationError(
            N_("{name} already collaborates on this opportunity."), name=user.full_name
        )
    now = clock.now()
    row = OpportunityCollaborator(
        opportunity_id=opportunity_id,
        user_id=user_id,
        access=access,
        added_by_id=actor.user_id,
        added_at=now,
    )
    session.add(row)
    audit.record(
        session,
        actor,
        "opportunity.collaborator_add",
        "opportunity",
        opportunity_id,
        None,
        {"user_id": user_id, "name": user.full_name, "access": access},
    )
    session.add(
        Notice(
            user_id=user_id,
            kind="collaborator.added",
            params={"opportunity": opportunity_id, "name": actor.full_name},
            created_at=now,
        )
    )
    session.flush()
    return row


def _existing(session: Session, opportunity_id: int, user_id: int) -> OpportunityCollaborator:
    row = session.exec(
        select(OpportunityCollaborator).where(
            OpportunityCollaborator.opportunity_id == opportunity_id,
            OpportunityCollaborator.user_id == user_id,
        )
    ).first()
    if row is None:
        raise NotFound(entity="collaborator", id=user_id)
    return row


def change_access(
    session: Session, actor: Actor, opportunity_id: int, user_id: int, access: str
) -> None:
    """Change a collaborator's access; audited (`opportunity.collaborator_access`)."""
    _check_access(access)
    opportunity = _managed(session, actor, opportunity_id, open_only=False)
    row = _existing(session, opportunity_id, user_id)
    if row.access == access:
        return
    _colleague(session, user_id, access, opportunity.owner_id)
    before = row.access
    row.access = access
    session.add(row)
    audit.record(
        session,
        actor,
        "opportunity.collaborator_access",
        "opportunity",
        opportunity_id,
        {"user_id": user_id, "access": before},
        {"user_id": user_id, "access": access},
    )
    session.flush()


def remove_collaborator(session: Session, actor: Actor, opportunity_id: int, user_id: int) -> None:
    """Take a colleague off the opportunity; from the next read on they no longer reach it
    (unless their own scope does). Audited (`opportunity.collaborator_remove`)."""
    _managed(session, actor, opportunity_id, open_only=False)
    row = _existing(session, opportunity_id, user_id)
    session.exec(delete(OpportunityCollaborator).where(OpportunityCollaborator.id == row.id))
    audit.record(
        session,
        actor,
        "opportunity.collaborator_remove",
        "opportunity",
        opportunity_id,
        {"user_id": user_id, "access": row.access},
        None,
    )
    session.flush()


def list_collaborators(
    session: Session, actor: Actor, opportunity_id: int
) -> list[CollaboratorRow]:
    """The collaborators of an opportunity the actor reaches (NotFound otherwise); one query."""
    get_opportunity(session, actor, opportunity_id)
    adder = User.__table__.alias("adder")
    rows = session.exec(
        select(
            OpportunityCollaborator.user_id,
            User.full_name,
            OpportunityCollaborator.access,
            adder.c.full_name,
            OpportunityCollaborator.added_at,
        )
        .join(User, User.id == OpportunityCollaborator.user_id)
        .outerjoin(adder, adder.c.id == OpportunityCollaborator.added_by_id)
        .where(OpportunityCollaborator.opportunity_id == opportunity_id)
        .order_by(User.full_name)
    ).all()
    return [CollaboratorRow(*row) for row in rows]


def my_access(session: Session, actor: Actor, opportunity_id: int) -> str | None:
    """The actor's own collaborator access on the opportunity, or None."""
    return session.exec(
        select(OpportunityCollaborator.access).where(
            OpportunityCollaborator.opportunity_id == opportunity_id,
            OpportunityCollaborator.user_id == actor.user_id,
        )
    ).first()


def shared_with_me(session: Session, actor: Actor) -> list[SharedRow]:
    """The opportunities shared with the actor (open first, by next follow-up); one query
    from the collaborator table's user index."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    if not actor.collaborates:
        # Loaded with the actor for this request: most people collaborate on nothing, and
        # the board and workbench ask on every rerun.
        return []
    owner = User.__table__.alias("owner")
    rows = session.exec(
        select(
            Opportunity.id,
            Lead.name,
            Opportunity.stage,
            Opportunity.pool_state,
            owner.c.full_name,
            OpportunityCollaborator.access,
            Opportunity.next_follow_up_at,
        )
        .join(Opportunity, Opportunity.id == OpportunityCollaborator.opportunity_id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .outerjoin(owner, owner.c.id == Opportunity.owner_id)
        .where(OpportunityCollaborator.user_id == actor.user_id)
        .order_by(
            (Opportunity.pool_state == "closed"),
            col(Opportunity.next_follow_up_at).is_(None),
            Opportunity.next_follow_up_at,
            col(Opportunity.id).desc(),
        )
        .limit(MAX_SHARED)
    ).all()
    return [SharedRow(*row) for row in rows]
