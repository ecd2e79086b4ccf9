"""Reading and changing opportunities, always within the actor's scope."""

from __future__ import annotations

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from crm_core.models import Opportunity, OpportunityCollaborator
from crm_core.org.access import opportunity_scope, opportunity_scope_parts, shared_opportunity_ids
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.option_values import require_intention_level
from crm_core.platform.permissions import Permission


def lock_for_change(
    session: Session,
    actor: Actor,
    opportunity_id: int,
    *,
    permission: str = Permission.WORK_OPPORTUNITIES,
    open_only: bool = True,
    shared_access: str | None = None,
) -> Opportunity:
    """One opportunity in the actor's scope, locked for the rest of the transaction, for a
    one-row change a person makes (a follow-up, a stage, a payment).

    The lock is an UPDATE of the row itself, issued first: it waits for an engine run that
    holds the opportunity write lock and then re-checks the scope on the row as that run
    left it, so a rep never writes onto an opportunity that was recycled away from them a
    moment earlier, and no lock is taken in an order that could deadlock with the engine.
    Outside the scope the opportunity does not exist (NotFound); `open_only` refuses a
    closed one (won or lost) with `opportunity.error.closed`.

    A collaborator reaches the opportunity for reading only: the change is theirs to make
    only when `shared_access` names their access (`follow_up` for a follow-up); otherwise
    they are refused with the reason, and anyone else finds nothing."""
    actor.require(permission)
    reach = opportunity_scope(actor, shared=False)
    if shared_access is not None:
        reach = or_(reach, Opportunity.id.in_(shared_opportunity_ids(actor, access=shared_access)))
    locked = session.exec(
        update(Opportunity)
        .where(Opportunity.id == opportunity_id, reach)
        .values(id=Opportunity.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not locked:
        access = session.exec(
            select(OpportunityCollaborator.access).where(
                OpportunityCollaborator.opportunity_id == opportunity_id,
                OpportunityCollaborator.user_id == actor.user_id,
            )
        ).first()
        if access == "read":
            raise PermissionDenied(
                N_(
                    "You have read access to opportunity #{id} as a collaborator: you cannot change it."
                ),
                id=opportunity_id,
            )
        if access is not None:
            raise PermissionDenied(
                N_(
                    "As a collaborator on opportunity #{id} you may log follow-ups; only its "
                    "owner or a manager may do this."
                ),
                id=opportunity_id,
            )
        raise NotFound(entity="opportunity", id=opportunity_id)
    row = session.exec(
        select(Opportunity)
        .where(Opportunity.id == opportunity_id)
        .execution_options(populate_existing=True)
    ).one()
    if open_only and row.pool_state == "closed":
        raise ValidationError(
            N_("Opportunity #{id} is closed (won or lost): it cannot be changed."),
            id=opportunity_id,
        )
    return row


def get_opportunity(session: Session, actor: Actor, opportunity_id: int) -> Opportunity:
    """One opportunity in the actor's scope; outside it, it does not exist."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    row = session.exec(
        select(Opportunity).where(Opportunity.id == opportunity_id, opportunity_scope(actor))
    ).first()
    if row is None:
        raise NotFound(entity="opportunity", id=opportunity_id)
    return row


def list_opportunities(
    session: Session, actor: Actor, *, limit: int = 50, offset: int = 0
) -> list[Opportunity]:
    """A page of the actor's opportunities, newest first."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    return list(
        session.exec(
            select(Opportunity)
            .where(opportunity_scope(actor))
            .order_by(col(Opportunity.id).desc())
            .limit(limit)
            .offset(offset)
        ).all()
    )


def count_by(session: Session, actor: Actor, *columns) -> dict:
    """Opportunity counts in the actor's scope grouped by `columns` (stage, pool state...);
    keys are single values for one column and tuples for several."""
    counts: dict = {}
    for part in opportunity_scope_parts(actor):
        for row in session.exec(
            select(*columns, func.count()).where(part).group_by(*columns)
        ).all():
            key = row[0] if len(columns) == 1 else tuple(row[:-1])
            counts[key] = counts.get(key, 0) + row[-1]
    return counts


def set_intention_level(
    session: Session, actor: Actor, opportunity_ids: list[int], level: str
) -> int:
    """Set the intention level of opportunities in the actor's scope; flushes, the caller
    commits.

    The scope is part of the UPDATE itself; an id outside it is reported as not found and
    nothing is changed (the UPDATE runs in a savepoint that the refusal undoes, leaving the
    caller's earlier work in place).
    """
    actor.require(Permission.WORK_OPPORTUNITIES)
    require_intention_level(session, level)
    ids = sorted(set(opportunity_ids))
    with savepoint(session):
        result = session.exec(
            update(Opportunity)
            .where(col(Opportunity.id).in_(ids), opportunity_scope(actor, shared=False))
            .values(intention_level=level)
        )
        if result.rowcount != len(ids):
            raise NotFound(entity="opportunity", id=ids)
    return result.rowcount
