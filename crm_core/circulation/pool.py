"""The public pool (公海) and claims (领取).

A rep sees the public opportunities of their own unit, of the units above it and of the
company (no unit), limited to their unit's business line when it has one; managers see
the pools of the units in their scope too. A claim is one conditional UPDATE
(`pool_state = 'public'`): when many reps click at once, exactly one row changes and the
others are told somebody was faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, literal, null, or_, true, update
from sqlmodel import Session, col, select

from crm_core.circulation.flow_events import insert_flow_events
from crm_core.circulation.locks import lock_users
from crm_core.circulation.rule_schemas import ClaimSpec, parse_rule
from crm_core.leads.masking import display_phone
from crm_core.models import (
    BusinessLine,
    ClaimRule,
    FlowEvent,
    Lead,
    Opportunity,
    OrgUnit,
    User,
    path_ids,
)
from crm_core.org.access import unit_clause
from crm_core.org.unit_labels import unit_labels
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of, rows_source
from crm_core.platform.company_time import local_day_start
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope, Permission
from crm_core.platform.settings import get_setting


def _unit_chain(session: Session, unit_id: int | None) -> list[OrgUnit]:
    if unit_id is None:
        return []
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        return []
    ids = path_ids(unit.path)
    units = {u.id: u for u in session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))}
    return [units[i] for i in ids if i in units]


def pool_scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Public opportunities the actor may see and claim."""
    public = Opportunity.pool_state == "public"
    if actor.scope is DataScope.ALL:
        return public
    chain = _unit_chain(session, actor.org_unit_id)
    reach = or_(
        col(Opportunity.org_unit_id).is_(None),
        col(Opportunity.org_unit_id).in_([u.id for u in chain]),
        unit_clause(actor, Opportunity.org_unit_id),
    )
    line = next((u.business_line_id for u in reversed(chain) if u.business_line_id), None)
    return and_(public, reach, Opportunity.business_line_id == line if line else true())


@dataclass(frozen=True)
class PoolRow:
    opportunity_id: int
    lead_id: int
    lead_name: str
    phone: str | None
    region: str | None
    channel: str
    business_line: str
    stage: str
    intention_level: str | None
    recycle_count: int
    unit: str | None
    pooled_at: datetime | None


@dataclass(frozen=True)
class PoolFilter:
    business_line_id: int | None = None
    stage: str | None = None
    intention_level: str | None = None
    region: str | None = None


def _filters(session: Session, actor: Actor, f: PoolFilter) -> list[ColumnElement[bool]]:
    conditions = [pool_scope(session, actor)]
    if f.business_line_id:
        conditions.append(Opportunity.business_line_id == f.business_line_id)
    if f.stage:
        conditions.append(Opportunity.stage == f.stage)
    if f.intention_level:
        conditions.append(Opportunity.intention_level == f.intention_level)
    if f.region:
        conditions.append(Lead.region == f.region)
    return conditions


def list_pool(
    session: Session,
    actor: Actor,
    f: PoolFilter = PoolFilter(),
    *,
    limit: int = 50,
    offset: int = 0,
) -> list[PoolRow]:
    """A page of the pool the actor sees, the longest-waiting first; phones masked."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    pooled_at = (
        select(func.max(FlowEvent.at))
        .where(FlowEvent.opportunity_id == Opportunity.id)
        .scalar_subquery()
    )
    rows = session.exec(
        select(
            Opportunity.id,
            Lead.id,
            Lead.name,
            Lead.phone,
            Lead.region,
            Lead.channel,
            BusinessLine.name,
            Opportunity.stage,
            Opportunity.intention_level,
            Opportunity.recycle_count,
            Opportunity.org_unit_id,
            pooled_at,
        )
        .join(Lead, Lead.id == Opportunity.lead_id)
        .join(BusinessLine, BusinessLine.id == Opportunity.business_line_id)
        .where(*_filters(session, actor, f))
        .order_by(Opportunity.id)
        .limit(limit)
        .offset(offset)
    ).all()
    units = unit_labels(session, {r[10] for r in rows})
    return [
        PoolRow(
            r[0],
            r[1],
            r[2],
            display_phone(actor, r[3]) if r[3] else None,
            *r[4:10],
            units.get(r[10]),
            r[11],
        )
        for r in rows
    ]


def count_pool(session: Session, actor: Actor, f: PoolFilter = PoolFilter()) -> int:
    """How many pool opportunities the actor sees under `f`."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    query = select(func.count()).select_from(Opportunity)
    if f.region:
        query = query.join(Lead, Lead.id == Opportunity.lead_id)
    return session.exec(query.where(*_filters(session, actor, f))).one()


def claim_spec(session: Session, user: User) -> ClaimSpec:
    """The claim rule of the nearest unit at or above the user's, or the company's rule
    (no unit), or the defaults from the settings."""
    chain = [u.id for u in _unit_chain(session, user.org_unit_id)]
    rules = session.exec(
        select(ClaimRule)
        .where(
            ClaimRule.enabled,
            or_(col(ClaimRule.org_unit_id).in_(chain), col(ClaimRule.org_unit_id).is_(None)),
        )
        .order_by(col(ClaimRule.priority), col(ClaimRule.id))
    ).all()
    by_unit: dict[int | None, ClaimRule] = {}
    for rule in rules:
        by_unit.setdefault(rule.org_unit_id, rule)
    for unit_id in [*reversed(chain), None]:
        if unit_id in by_unit:
            try:
                return parse_rule("claim", by_unit[unit_id].conditions, by_unit[unit_id].action)
            except ValidationError:
                continue
    return ClaimSpec(
        daily_claims=get_setting(session, "claim.default_daily_claims"),
        holding_cap=None,
        cooldown_days=get_setting(session, "claim.default_cooldown_days"),
    )


@dataclass
class ClaimResult:
    claimed: list[int] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)  # somebody was faster, or not in the pool
    cooling: list[int] = field(default_factory=list)  # recycled from this rep too recently


@dataclass(frozen=True)
class ClaimAllowance:
    """What the rep may still claim today, and why not more."""

    claimed_today: int
    daily_claims: int
    holding: int
    holding_cap: int
    cooldown_days: int

    @property
    def left(self) -> int:
        return max(0, min(self.daily_claims - self.claimed_today, self.holding_cap - self.holding))


def claim_allowance(session: Session, actor: Actor) -> ClaimAllowance:
    """The actor's claim limits and how much of them is used."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise PermissionDenied(permission=Permission.CLAIM_FROM_POOL.value)
    spec = claim_spec(session, user)
    now = clock.now()
    claimed_today = session.exec(
        select(func.count()).where(
            FlowEvent.to_owner_id == user.id,
            FlowEvent.reason == "claim",
            FlowEvent.at >= local_day_start(session, now),
        )
    ).one()
    holding = session.exec(
        select(func.count()).where(
            Opportunity.owner_id == user.id, Opportunity.pool_state == "owned"
        )
    ).one()
    return ClaimAllowance(
        claimed_today,
        spec.daily_claims,
        holding,
        spec.holding_cap or user.holding_cap,
        spec.cooldown_days,
    )


def claim_from_pool(session: Session, actor: Actor, opportunity_ids: list[int]) -> ClaimResult:
    """Claim pool opportunities for the actor within their claim rule: claims per day,
    holding cap, and the cool-down on what was recycled from them. Opportunities somebody
    else claimed first come back in `taken`. Runs in the caller's transaction."""
    actor.require(Permission.CLAIM_FROM_POOL)
    ids = sorted(set(opportunity_ids))
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or user.status != "active" or not user.enabled:
        raise PermissionDenied(permission=Permission.CLAIM_FROM_POOL.value)
    if not ids:
        return ClaimResult()
    lock_users(session, [user.id])  # one rep's concurrent claims are counted one at a time
    allowance = claim_allowance(session, actor)
    now = clock.now()
    cooling = set()
    if allowance.cooldown_days:
        cooling = set(
            session.exec(
                select(FlowEvent.opportunity_id).where(
                    one_of(session, FlowEvent.opportunity_id, ids),
                    FlowEvent.from_owner_id == user.id,
                    FlowEvent.reason == "recycle",
                    FlowEvent.at >= now - timedelta(days=allowance.cooldown_days),
                )
            ).all()
        )
    wanted = [i for i in ids if i not in cooling]
    if wanted and len(wanted) > allowance.left:
        if allowance.claimed_today >= allowance.daily_claims:
            raise ValidationError(
                N_("You reached today's claim limit ({cap})."), cap=allowance.daily_claims
            )
        if allowance.holding >= allowance.holding_cap:
            raise ValidationError(
                N_("You hold {cap} opportunities, your holding cap."), cap=allowance.holding_cap
            )
        raise ValidationError(
            N_("You may claim {left} more now: select fewer."), left=allowance.left
        )
    claimed: list[int] = []
    if wanted:
        claimed = sorted(
            session.exec(
                update(Opportunity)
                .where(one_of(session, Opportunity.id, wanted), pool_scope(session, actor))
                .values(
                    owner_id=user.id,
                    org_unit_id=user.org_unit_id,
                    pool_state="owned",
                    assigned_at=now,
                    recycle_warned_at=None,
                    unassigned_reason=None,
                )
                .returning(Opportunity.id)
            )
            .scalars()
            .all()
        )
    if claimed:
        rows = rows_source(session, "claimed", ("opp_id",), [(i,) for i in claimed])
        insert_flow_events(
            session,
            select(
                rows.c.opp_id,
                literal(now),
                null(),
                literal(user.id),
                literal("public"),
                literal("owned"),
                literal("claim"),
                null(),
                null(),
                literal(user.id),
            ),
        )
    return ClaimResult(
        claimed=claimed,
        taken=[i for i in wanted if i not in set(claimed)],
        cooling=sorted(cooling),
    )
