"""Departure (HR): a resigned rep's open opportunities move on by their unit's rule.

The rule that applies is the enabled departure rule of the nearest unit at or above the
rep's unit; without one, the opportunities go to the public pool. Each move is one
set-based statement plus one INSERT ... SELECT of flow events with reason `departure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, literal, null, update
from sqlmodel import Session, col, select

from crm_core.models import DepartureRule, FlowEvent, Opportunity, OrgUnit, User, path_ids
from crm_core.org.access import user_scope
from crm_core.org.units import get_unit
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

DepartureTarget = Literal["team_lead", "public_pool", "redispatch"]
TARGETS: tuple[str, ...] = ("team_lead", "public_pool", "redispatch")


@dataclass(frozen=True)
class DepartureOutcome:
    user_id: int
    target: str
    moved: int
    to_owner_id: int | None = None
    rule_id: int | None = None
    fell_back: bool = False  # the rule said team lead, but the unit had no active lead


def departure_target(action: dict) -> str:
    """The target of a departure rule's action document, validated."""
    target = (action or {}).get("target", "public_pool")
    if target not in TARGETS:
        raise ValidationError(N_("Unknown departure target {target}."), target=target)
    return target


def rule_for_unit(session: Session, unit: OrgUnit | None) -> DepartureRule | None:
    """The enabled departure rule of the nearest unit at or above `unit`."""
    if unit is None:
        return None
    ancestor_ids = path_ids(unit.path)
    rules = session.exec(
        select(DepartureRule).where(
            col(DepartureRule.org_unit_id).in_(ancestor_ids), DepartureRule.enabled
        )
    ).all()
    by_unit = {rule.org_unit_id: rule for rule in sorted(rules, key=lambda r: -r.priority)}
    for unit_id in reversed(ancestor_ids):
        if unit_id in by_unit:
            return by_unit[unit_id]
    return None


def _team_lead(session: Session, unit: OrgUnit | None, leaving_id: int) -> User | None:
    """The head of the rep's unit, or of the nearest unit above with an active head."""
    if unit is None:
        return None
    ancestor_ids = path_ids(unit.path)
    units = {
        u.id: u for u in session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ancestor_ids)))
    }
    for unit_id in reversed(ancestor_ids):
        head_id = units[unit_id].head_user_id if unit_id in units else None
        if head_id is None or head_id == leaving_id:
            continue
        head = session.get(User, head_id)
        if head is not None and head.enabled and head.status == "active":
            return head
    return None


def move_open_opportunities(session: Session, actor: Actor, user: User) -> DepartureOutcome:
    """Move every open opportunity `user` owns according to their unit's departure rule.

    Runs in the caller's transaction; the caller decided that `user` is leaving. Requires
    manage_users, and `user` within the actor's scope (NotFound otherwise): the caller's
    own checks are not enough for a function any page could call with any user row.
    """
    actor.require(Permission.MANAGE_USERS)
    in_scope = session.exec(select(User.id).where(User.id == user.id, user_scope(actor))).first()
    if in_scope is None:
        raise NotFound(entity="user", id=user.id)
    unit = session.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
    rule = rule_for_unit(session, unit)
    target = departure_target(rule.action) if rule else "public_pool"
    lead = _team_lead(session, unit, user.id) if target == "team_lead" else None
    fell_back = target == "team_lead" and lead is None
    if fell_back:
        target = "public_pool"
    now = clock.now()
    owned = (Opportunity.owner_id == user.id, Opportunity.pool_state == "owned")
    to_state = {"team_lead": "owned", "public_pool": "public", "redispatch": "unassigned"}[target]
    events = select(
        Opportunity.id,
        literal(now),
        literal(user.id),
        literal(lead.id) if lead else null(),
        literal("owned"),
        literal(to_state),
        literal("departure"),
        literal("departure"),
        literal(rule.id) if rule else null(),
        literal(actor.user_id) if actor.user_id else null(),
    ).where(*owned)
    session.exec(
        insert(FlowEvent).from_select(
            [
                "opportunity_id",
                "at",
                "from_owner_id",
                "to_owner_id",
                "from_state",
                "to_state",
                "reason",
                "rule_kind",
                "rule_id",
                "actor_id",
            ],
            events,
        )
    )
    if target == "team_lead":
        values = {"owner_id": lead.id, "org_unit_id": lead.org_unit_id, "assigned_at": now}
    elif target == "public_pool":
        values = {"owner_id": None, "pool_state": "public"}
    else:
        values = {
            "owner_id": None,
            "org_unit_id": None,
            "pool_state": "unassigned",
            "unassigned_reason": "departure",
            "assigned_at": None,
        }
    result = session.exec(update(Opportunity).where(*owned).values(**values))
    return DepartureOutcome(
        user_id=user.id,
        target=target,
        moved=result.rowcount,
        to_owner_id=lead.id if lead else None,
        rule_id=rule.id if rule else None,
        fell_back=fell_back,
    )


def unit_departure_target(session: Session, actor: Actor, unit_id: int) -> tuple[str | None, str]:
    """(the unit's own rule target or None, the target that applies, inherited or default)."""
    unit = get_unit(session, actor, unit_id)
    own = session.exec(
        select(DepartureRule).where(DepartureRule.org_unit_id == unit.id, DepartureRule.enabled)
    ).first()
    applying = rule_for_unit(session, unit)
    return (
        departure_target(own.action) if own else None,
        departure_target(applying.action) if applying else "public_pool",
    )


def set_unit_departure_target(
    session: Session, actor: Actor, unit_id: int, target: str | None
) -> DepartureRule | None:
    """Give a unit its own departure rule (`target`), or remove it (None: inherit from above).
    Audited."""
    actor.require(Permission.MANAGE_ORG)
    unit = get_unit(session, actor, unit_id)
    if target is not None:
        departure_target({"target": target})
    rule = session.exec(select(DepartureRule).where(DepartureRule.org_unit_id == unit.id)).first()
    before = departure_target(rule.action) if rule and rule.enabled else None
    if target is None:
        if rule is not None:
            session.delete(rule)
    else:
        rule = rule or DepartureRule(name=f"departure:{unit.id}", org_unit_id=unit.id)
        rule.action = {"target": target}
        rule.enabled = True
        rule.version = (rule.version or 0) + (1 if rule.id else 0)
        rule.updated_at = clock.now()
        rule.updated_by_id = actor.user_id
        session.add(rule)
    audit.record(
        session,
        actor,
        "org_unit.set_departure",
        "org_unit",
        unit.id,
        {"departure": before},
        {"departure": target},
    )
    session.flush()
    return None if target is None else rule
