"""Dispatch planning (调度): which rep each waiting opportunity goes to, by the first dispatch
rule that matches, within each rep's caps. Reads only: `plan_dispatch` reads the waiting
opportunities with the fields rules match on and chooses reps in Python over plain integers
(`dispatch_choice`); the entry points of `crm_core.circulation.dispatch` write its picks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import false, func, or_
from sqlmodel import Session, col, select

from crm_core.circulation.choosers import LeastLoaded, Preferring, RoundRobin, Weighted
from crm_core.circulation.rule_schemas import DispatchSpec
from crm_core.models import (
    DispatchRule,
    DispatchTally,
    FlowEvent,
    Lead,
    Opportunity,
    OrgUnit,
    User,
)
from crm_core.org.roles import dispatch_receivers
from crm_core.platform.bulk import one_of
from crm_core.platform.company_time import local_day_start, to_company

NO_RULE = "no_rule"
NO_ROOM = "no_room"  # stored as "no_room:<rule id>"


@dataclass
class RuleOutcome:
    rule_id: int | None
    name: str
    matched: int = 0
    assigned: int = 0
    no_room: int = 0


@dataclass
class DispatchResult:
    """What a run did (or, dry, would do): per rule, per rep, and what stayed waiting."""

    considered: int = 0
    assigned: int = 0
    no_rule: int = 0
    no_room: int = 0
    rules: list[RuleOutcome] = field(default_factory=list)
    per_rep: dict[int, int] = field(default_factory=dict)
    dry_run: bool = False


# A waiting opportunity as read: (id, business line, intention, channel, campaign, region).
_ID, _LINE, _INTENTION, _CHANNEL, _CAMPAIGN, _REGION = range(6)


def _matcher(rule: DispatchRule, spec: DispatchSpec):
    """The rule's conditions as plain values, checked once per waiting opportunity: a run
    tests every rule against up to 100,000 of them."""
    line = rule.business_line_id
    channels = frozenset(spec.channels) or None
    prefix = spec.campaign_prefix
    regions = frozenset(spec.regions) or None
    levels = frozenset(spec.intention_levels) or None

    def matches(o) -> bool:
        return (
            (line is None or line == o[_LINE])
            and (channels is None or o[_CHANNEL] in channels)
            and (prefix is None or (o[_CAMPAIGN] or "").startswith(prefix))
            and (regions is None or o[_REGION] in regions)
            and (levels is None or o[_INTENTION] in levels)
        )

    return matches


def _waiting(
    session: Session, limit: int, only: list[int] | None = None, after: int = 0
) -> list[tuple]:
    """The waiting opportunities, oldest first (`only`: of these ids; `after`: past this id,
    the next chunk of a run in chunks)."""
    query = (
        select(
            Opportunity.id,
            Opportunity.business_line_id,
            Opportunity.intention_level,
            Lead.channel,
            Lead.campaign,
            Lead.region,
        )
        .join(Lead, Lead.id == Opportunity.lead_id)
        .where(
            Opportunity.pool_state == "unassigned",
            Opportunity.locked == false(),
            Opportunity.id > after,
        )
        .order_by(Opportunity.id)
        .limit(limit)
    )
    if only is not None:
        query = query.where(one_of(session, Opportunity.id, only))
    # Core execution, not the ORM's: plain rows of 100,000 opportunities cost a third.
    return [tuple(row) for row in session.connection().execute(query).all()]


def _rule_reps(session: Session, spec: DispatchSpec) -> list[User]:
    """The rule's reps who may receive anything now: active, enabled, on shift."""
    reach = []
    if spec.target_unit_id:
        unit = session.get(OrgUnit, spec.target_unit_id)
        if unit is not None:
            subtree = select(OrgUnit.id).where(col(OrgUnit.path).like(f"{unit.path}%"))
            reach.append(col(User.org_unit_id).in_(subtree))
    if spec.target_user_ids:
        reach.append(col(User.id).in_(spec.target_user_ids))
    if not reach:
        return []
    reps = session.exec(
        select(User).where(
            or_(*reach),
            User.status == "active",
            User.enabled,
            User.on_shift,
            User.daily_cap > 0,
            User.holding_cap > 0,
            dispatch_receivers(session),
        )
    ).all()
    if spec.skill_required:
        reps = [u for u in reps if spec.skill_tag in (u.skill_tags or [])]
    return list(reps)


def _counts(session: Session, query) -> dict[int, int]:
    return {key: count for key, count in session.exec(query).all()}


def _room(session: Session, reps: dict[int, User], now: datetime) -> tuple[dict, dict]:
    """(room, holding) per rep: room is what the daily and holding caps still allow."""
    ids = list(reps)
    if not ids:
        return {}, {}
    holding = _counts(
        session,
        select(Opportunity.owner_id, func.count())
        .where(Opportunity.pool_state == "owned", one_of(session, Opportunity.owner_id, ids))
        .group_by(Opportunity.owner_id),
    )
    today = _counts(
        session,
        select(FlowEvent.to_owner_id, func.count())
        .where(
            FlowEvent.at >= local_day_start(session, now),
            FlowEvent.reason == "dispatch",
            one_of(session, FlowEvent.to_owner_id, ids),
        )
        .group_by(FlowEvent.to_owner_id),
    )
    room = {
        rep_id: max(
            0, min(u.daily_cap - today.get(rep_id, 0), u.holding_cap - holding.get(rep_id, 0))
        )
        for rep_id, u in reps.items()
    }
    return room, holding


def _recent_losers(
    session: Session, now: datetime, days: int, only: list[int] | None = None
) -> list[tuple[int, int, datetime]]:
    """(opportunity, rep who lost it, when) for waiting opportunities (`only`: of these
    ids), within `days`."""
    query = (
        select(FlowEvent.opportunity_id, FlowEvent.from_owner_id, FlowEvent.at)
        .join(Opportunity, Opportunity.id == FlowEvent.opportunity_id)
        .where(
            Opportunity.pool_state == "unassigned",
            col(FlowEvent.from_owner_id).is_not(None),
            FlowEvent.at >= now - timedelta(days=days),
        )
    )
    if only is not None:
        query = query.where(one_of(session, FlowEvent.opportunity_id, only))
    return list(session.exec(query).all())


def _chooser(
    session: Session,
    rule: DispatchRule,
    spec: DispatchSpec,
    reps: list[User],
    room: dict,
    holding: dict,
):
    ids = [u.id for u in reps]

    def build(subset: list[int]):
        if spec.strategy == "weighted":
            given = (
                _counts(
                    session,
                    select(DispatchTally.user_id, DispatchTally.assigned).where(
                        DispatchTally.rule_id == rule.id
                    ),
                )
                if rule.id
                else {}
            )
            weights = {u.id: u.dispatch_weight for u in reps}
            return Weighted(subset, room, weights, given)
        if spec.strategy == "least_loaded":
            return LeastLoaded(subset, room, holding)
        return RoundRobin(subset, room, rule.rr_position or 0)

    if spec.skill_tag and not spec.skill_required:
        skilled = [u.id for u in reps if spec.skill_tag in (u.skill_tags or [])]
        others = [i for i in ids if i not in set(skilled)]
        return Preferring(build(skilled), build(others), rule.rr_position or 0)
    return build(ids)


def plan_dispatch(
    session: Session,
    rules,
    now: datetime,
    limit: int,
    only: list[int] | None = None,
    after: int = 0,
):
    """Choose a rep for each waiting opportunity (`only`: of these ids; `after`: the first
    `limit` past this id): (picks, reasons, result, choosers). Reads only; `rules` are
    (rule, spec) pairs in the order they apply. Every opportunity read is either picked or
    given a reason."""
    local = to_company(session, now).time()
    rules = [(r, s) for r, s in rules if s.active_at(local)]
    waiting = _waiting(session, limit, only, after)
    if only is not None and not waiting:
        return [], {}, DispatchResult(), []
    result = DispatchResult(considered=len(waiting))
    reps_by_rule = {id(r): _rule_reps(session, s) for r, s in rules}
    everyone = {u.id: u for reps in reps_by_rule.values() for u in reps}
    room, holding = _room(session, everyone, now)
    longest = max((s.no_return_days for _, s in rules), default=0)
    losers: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for opp_id, rep_id, at in _recent_losers(session, now, longest, only) if rules else ():
        losers[opp_id].append((rep_id, at))
    choosers = {}
    picks: list[tuple[int, int, int | None, int | None]] = []
    reasons: dict[str, list[int]] = defaultdict(list)
    outcomes = {id(r): RuleOutcome(r.id, r.name) for r, _ in rules}
    matchers = [(_matcher(r, s), r, s) for r, s in rules]
    unit_of = {rep_id: u.org_unit_id for rep_id, u in everyone.items()}
    per_rep: Counter = Counter()
    for o in waiting:
        for matches, rule, spec in matchers:  # noqa: B007 - the match is used after the break
            if matches(o):
                break
        else:
            reasons[NO_RULE].append(o[_ID])
            continue
        outcome = outcomes[id(rule)]
        outcome.matched += 1
        chooser = choosers.get(id(rule))
        if chooser is None:
            chooser = choosers[id(rule)] = _chooser(
                session, rule, spec, reps_by_rule[id(rule)], room, holding
            )
        lost_by = losers.get(o[_ID])
        if lost_by:
            cutoff = now - timedelta(days=spec.no_return_days)
            rep = chooser.pick({rep for rep, at in lost_by if at >= cutoff})
        else:
            rep = chooser.pick()
        if rep is None:
            outcome.no_room += 1
            reasons[f"{NO_ROOM}:{rule.id}"].append(o[_ID])
            continue
        outcome.assigned += 1
        per_rep[rep] += 1
        picks.append((o[_ID], rep, unit_of[rep], rule.id))
    result.assigned = len(picks)
    result.no_rule = len(reasons.get(NO_RULE, ()))
    result.no_room = result.considered - result.assigned - result.no_rule
    result.rules = list(outcomes.values())
    result.per_rep = dict(per_rep)
    return picks, reasons, result, [(r, choosers.get(id(r))) for r, _ in rules]
