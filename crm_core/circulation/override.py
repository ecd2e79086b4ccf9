"""A manager's hand on circulation (manual override): assign or transfer to a rep, return
to the pool, lock and unlock, protect until a date, re-activate dormant opportunities.

Every action takes a selection of opportunity ids within the manager's reach (their scope,
plus waiting and pool opportunities that belong to no unit yet), refuses the whole
selection if any id is outside it or in a state the action does not apply to, and writes
one flow event per opportunity, set-based, beside one UPDATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, literal, null, or_, update
from sqlmodel import Session, col, select

from crm_core.circulation.flow_events import insert_flow_events
from crm_core.circulation.locks import hold_opportunity_writes
from crm_core.circulation.pools import COMPANY_POOL, OTHER_LINE, check_pool, line_name
from crm_core.models import Opportunity, User
from crm_core.org.access import opportunity_scope, user_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

OPEN_STATES = ("unassigned", "owned", "public", "dormant")


def override_scope(actor: Actor) -> ColumnElement[bool]:
    """Opportunities a manager may change by hand."""
    return or_(
        opportunity_scope(actor, shared=False),
        and_(col(Opportunity.org_unit_id).is_(None), col(Opportunity.owner_id).is_(None)),
    )


def _selection(session: Session, actor: Actor, ids: list[int], states: tuple[str, ...]):
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    ids = sorted(set(ids))
    if not ids:
        raise ValidationError(N_("Select at least one opportunity."))
    hold_opportunity_writes(session)
    rows = session.exec(
        select(Opportunity.id, Opportunity.pool_state).where(
            one_of(session, Opportunity.id, ids), override_scope(actor)
        )
    ).all()
    found = {row[0]: row[1] for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(entity="opportunity", id=missing[:10])
    wrong = [i for i in ids if found[i] not in states]
    if wrong:
        raise ValidationError(
            N_("This action does not apply to the state of opportunities {ids}."),
            ids=", ".join(map(str, wrong[:10])),
        )
    return ids, one_of(session, Opportunity.id, ids)


def _apply(
    session: Session,
    actor: Actor,
    chosen,
    *,
    reason,
    to_owner,
    to_state,
    values: dict,
    note: str | None = None,
) -> int:
    now = clock.now()
    o = Opportunity
    columns = [
        o.id,
        literal(now),
        o.owner_id,
        to_owner,
        o.pool_state,
        to_state,
        reason,
        null(),
        null(),
        literal(actor.user_id) if actor.user_id else null(),
    ]
    if note:
        columns.append(literal(note))
    events = insert_flow_events(session, select(*columns).where(chosen), with_note=bool(note))
    session.exec(
        update(o).where(chosen).values(**values).execution_options(synchronize_session=False)
    )
    return events


def assign_opportunities(
    session: Session, actor: Actor, opportunity_ids: list[int], rep_id: int
) -> int:
    """Give the selection to `rep_id` (an active rep in the manager's scope): unowned ones
    are assigned, owned ones transferred. A manager's hand may pass the rep's caps."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    rep = session.exec(select(User).where(User.id == rep_id, user_scope(actor))).first()
    if rep is None:
        raise NotFound(entity="user", id=rep_id)
    if rep.status != "active" or not rep.enabled:
        raise ValidationError(
            N_("{name} is not active and cannot receive opportunities."), name=rep.full_name
        )
    ids, chosen = _selection(session, actor, opportunity_ids, OPEN_STATES)
    chosen = and_(chosen, or_(col(Opportunity.owner_id).is_(None), Opportunity.owner_id != rep.id))
    reason = case((Opportunity.pool_state == "owned", literal("transfer")), else_=literal("assign"))
    now = clock.now()
    return _apply(
        session,
        actor,
        chosen,
        reason=reason,
        to_owner=literal(rep.id),
        to_state=literal("owned"),
        values={
            "owner_id": rep.id,
            "org_unit_id": rep.org_unit_id,
            "pool_state": "owned",
            "assigned_at": now,
            "unassigned_reason": None,
            "recycle_warned_at": None,
        },
    )


def return_to_pool(
    session: Session, actor: Actor, opportunity_ids: list[int], pool: int | None = None
) -> int:
    """Put owned (or waiting) opportunities into a public pool: their unit's (`pool` None),
    or the one chosen, a unit's in the manager's scope or the company's (`COMPANY_POOL`,
    company-wide scope only; see `pools`). A pool serving one business line refuses the
    whole selection if an opportunity is of another line."""
    values: dict = {
        "owner_id": None,
        "pool_state": "public",
        "assigned_at": None,
        "recycle_warned_at": None,
    }
    note = None
    if pool is not None:
        choice = check_pool(session, actor, pool)
        values["org_unit_id"] = None if choice.unit_id == COMPANY_POOL else choice.unit_id
        # The flow log names the unit's pool; the company's pool is the one without a unit.
        note = choice.label[:400] if choice.unit_id != COMPANY_POOL else None
    ids, chosen = _selection(session, actor, opportunity_ids, ("owned", "unassigned"))
    if pool is not None and choice.business_line_id is not None:
        other = session.exec(
            select(Opportunity.id).where(
                chosen, Opportunity.business_line_id != choice.business_line_id
            )
        ).all()
        if other:
            raise ValidationError(
                OTHER_LINE,
                unit=choice.label,
                line=line_name(session, choice.business_line_id),
                ids=", ".join(map(str, sorted(other)[:10])),
            )
    return _apply(
        session,
        actor,
        chosen,
        reason=literal("return"),
        to_owner=null(),
        to_state=literal("public"),
        values=values,
        note=note,
    )


def set_locked(session: Session, actor: Actor, opportunity_ids: list[int], locked: bool) -> int:
    """Lock (no automatic dispatch or recycling touches it) or unlock the selection."""
    _, chosen = _selection(session, actor, opportunity_ids, OPEN_STATES)
    chosen = and_(chosen, Opportunity.locked == (not locked))
    return _apply(
        session,
        actor,
        chosen,
        reason=literal("lock" if locked else "unlock"),
        to_owner=Opportunity.owner_id,
        to_state=Opportunity.pool_state,
        values={"locked": locked},
    )


def protect_until(
    session: Session, actor: Actor, opportunity_ids: list[int], until: datetime | None
) -> int:
    """Exempt the selection from recycling until `until` (None: end the protection)."""
    if until is not None and until <= clock.now():
        raise ValidationError(N_("The protection must end in the future."))
    _, chosen = _selection(session, actor, opportunity_ids, OPEN_STATES)
    return _apply(
        session,
        actor,
        chosen,
        reason=literal("protect"),
        to_owner=Opportunity.owner_id,
        to_state=Opportunity.pool_state,
        values={"protected_until": until},
        note=until.strftime("%Y-%m-%d %H:%M") if until else "-",
    )


def reactivate(session: Session, actor: Actor, opportunity_ids: list[int]) -> int:
    """Bring dormant opportunities back to dispatch, their recycle count reset."""
    _, chosen = _selection(session, actor, opportunity_ids, ("dormant",))
    return _apply(
        session,
        actor,
        chosen,
        reason=literal("reactivate"),
        to_owner=null(),
        to_state=literal("unassigned"),
        values={"pool_state": "unassigned", "recycle_count": 0, "unassigned_reason": "reactivated"},
    )


def count_selection(session: Session, actor: Actor, opportunity_ids: list[int]) -> int:
    """How many of `opportunity_ids` the actor may change by hand."""
    return session.exec(
        select(func.count()).where(
            one_of(session, Opportunity.id, opportunity_ids), override_scope(actor)
        )
    ).one()
