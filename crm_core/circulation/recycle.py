"""The circulation engine (回收): owned opportunities their owners do not work are taken
back by recycle rules, set-based.

Per rule, in order, one INSERT ... SELECT writes the flow events and one UPDATE with the
same conditions moves the opportunities; the run holds the opportunity write lock, so both
statements see the same rows. An opportunity recycled `dormant_after` times goes dormant.
The worker sweeps in whole chunks of opportunity ids (`sweep_idle_opportunities`), committed
one by one, so that nobody's follow-up or claim waits behind a sweep of a million rows.
Warnings (`warn_in_chunks`) tell owners a few days ahead; `recycle_due` lists an owner's
opportunities in that window with the time they are due.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, func, literal, null, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.circulation.chunks import ChunkSpan, drain
from crm_core.circulation.flow_events import insert_flow_events
from crm_core.circulation.locks import hold_owned_chunk
from crm_core.circulation.rule_schemas import RecycleSpec
from crm_core.circulation.rules import active_rules
from crm_core.models import (
    OPEN_STAGES,
    BusinessLine,
    FlowEvent,
    Lead,
    Opportunity,
    OrgUnit,
    RecycleRule,
)
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.notices import send_counts
from crm_core.platform.permissions import Permission

_TARGET_STATE = {"public_pool": "public", "redispatch": "unassigned", "team": "public"}


@dataclass
class RecycleOutcome:
    rule_id: int | None
    name: str
    recycled: int = 0
    dormant: int = 0


@dataclass
class RecycleResult:
    recycled: int = 0
    dormant: int = 0
    rules: list[RecycleOutcome] = field(default_factory=list)
    dry_run: bool = False
    # The rule editor's dry run: unit id -> opportunities taken back now, and the
    # threshold above which that team's managers are told a day ahead (`recycle_teams`).
    per_team: dict[int | None, int] = field(default_factory=dict)
    team_names: dict[int, str] = field(default_factory=dict)
    warn_over: int = 0


def _span(spec: RecycleSpec, amount: int) -> timedelta:
    return timedelta(hours=amount) if spec.in_hours else timedelta(days=amount)


def _since(spec: RecycleSpec, o=Opportunity):
    """The moment the trigger's clock started, as SQL pieces: every one must be older than
    the cutoff (the later of assignment and the last work)."""
    assigned = func.coalesce(o.assigned_at, o.created_at)
    if spec.trigger == "no_first_follow_up":
        return [assigned], [col(o.first_follow_up_at).is_(None)]
    if spec.trigger == "no_follow_up":
        return [assigned, o.last_follow_up_at], []
    if spec.trigger == "no_stage_progress":
        return [assigned, o.stage_changed_at], []
    return [assigned], []


def rule_conditions(
    session: Session,
    rule: RecycleRule,
    spec: RecycleSpec,
    now: datetime,
    *,
    ahead: timedelta = timedelta(0),
) -> list[ColumnElement[bool]]:
    """What makes an opportunity due under `rule` at `now + ahead`: scope, exemptions and
    trigger, as WHERE conditions."""
    o = Opportunity
    conditions = [
        o.pool_state == "owned",
        o.locked == false(),
        or_(col(o.protected_until).is_(None), o.protected_until <= now + ahead),
    ]
    if rule.business_line_id is not None:
        conditions.append(o.business_line_id == rule.business_line_id)
    if rule.org_unit_id is not None:
        unit = session.get(OrgUnit, rule.org_unit_id)
        path = unit.path if unit else "/none/"
        conditions.append(
            col(o.org_unit_id).in_(select(OrgUnit.id).where(col(OrgUnit.path).like(f"{path}%")))
        )
    if spec.exempt_from_stage:
        exempt = OPEN_STAGES[OPEN_STAGES.index(spec.exempt_from_stage) :]
        conditions.append(col(o.stage).not_in(exempt))
    if spec.exempt_intentions:
        conditions.append(
            or_(
                col(o.intention_level).is_(None),
                col(o.intention_level).not_in(spec.exempt_intentions),
            )
        )
    cutoff = now + ahead - _span(spec, spec.after)
    clocks, extra = _since(spec)
    conditions.extend(extra)
    for started in clocks:
        older = started < cutoff
        conditions.append(older if started is clocks[0] else or_(started.is_(None), older))
    return conditions


def _to_state(rule: RecycleRule, spec: RecycleSpec):
    return case(
        (Opportunity.recycle_count + 1 >= spec.dormant_after, literal("dormant")),
        else_=literal(_TARGET_STATE[spec.target]),
    )


def _require_jobs(actor: Actor, dry_run: bool) -> None:
    if actor.can(Permission.RUN_JOBS) or (dry_run and actor.can(Permission.MANAGE_RULES)):
        return
    raise PermissionDenied(permission=Permission.RUN_JOBS.value)


def recycle_idle_opportunities(
    session: Session, actor: Actor, *, dry_run: bool = False, rules=None
) -> RecycleResult:
    """Take back every owned opportunity a recycle rule finds idle (or, dry, count them),
    all in the caller's one transaction. `rules`: (rule, spec) pairs to use instead of the
    enabled ones (a draft's dry run). The worker sweeps in chunks instead
    (`sweep_idle_opportunities`); both take back the same opportunities."""
    _require_jobs(actor, dry_run)
    if not dry_run:
        return drain(sweep_idle_opportunities(session, actor, rules=rules))
    if rules is None:
        rules = active_rules(session, "recycle")
    now = clock.now()
    result = RecycleResult(dry_run=True)
    taken: list[ColumnElement[bool]] = []  # a dry run must not count one opportunity twice
    for rule, spec in rules:
        conditions = rule_conditions(session, rule, spec, now)
        outcome = RecycleOutcome(rule.id, rule.name)
        dormant = Opportunity.recycle_count + 1 >= spec.dormant_after
        total, to_dormant = session.exec(
            select(func.count(), func.coalesce(func.sum(case((dormant, 1), else_=0)), 0))
            .select_from(Opportunity)
            .where(*conditions, *[~t for t in taken])
        ).one()
        outcome.recycled, outcome.dormant = int(total), int(to_dormant)
        taken.append(and_(*conditions))
        result.rules.append(outcome)
        result.recycled += outcome.recycled
        result.dormant += outcome.dormant
    return result


def sweep_idle_opportunities(
    session: Session, actor: Actor, *, rules=None, first_span: int = 5_000
) -> Generator[RecycleResult, None, RecycleResult]:
    """The recycle sweep in whole chunks: yields after each chunk is written (the caller
    commits there, see `chunks`), returns the whole sweep's result.

    A chunk is a range of opportunity ids with every rule applied to it in order, so an
    opportunity's move, its flow event and its dormancy land in one chunk, and the sweep
    takes back exactly what one statement per rule over the whole table would: whether an
    opportunity is due depends only on its own row, and every chunk judges at the sweep's
    one `now`. Opportunities owned after the sweep began (ids past its last) were just
    assigned and are not idle."""
    _require_jobs(actor, False)
    if rules is None:
        rules = active_rules(session, "recycle")
    now = clock.now()
    result = RecycleResult()
    judged = [
        (rule, spec, rule_conditions(session, rule, spec, now), RecycleOutcome(rule.id, rule.name))
        for rule, spec in rules
    ]
    result.rules = [outcome for *_, outcome in judged]
    low, high = session.exec(
        select(func.min(Opportunity.id), func.max(Opportunity.id)).where(
            Opportunity.pool_state == "owned"
        )
    ).one()
    if not judged or low is None:
        return result
    span = ChunkSpan(first_span, smallest=1_000, largest=1_000_000)
    while low <= high:
        span.start()
        last = low + span.size - 1
        # The chunk's ids as a subquery on the key alone: given `id BETWEEN` beside the
        # rules' conditions, SQLite's planner walks an index of every owned opportunity
        # instead (half a second a chunk at a million); `id IN (...)` it looks up by key.
        chunk = aliased(Opportunity)
        chunk_ids = select(chunk.id).where(col(chunk.id).between(low, last))
        hold_owned_chunk(session, chunk_ids)
        of_chunk = col(Opportunity.id).in_(chunk_ids)
        for rule, spec, conditions, outcome in judged:
            in_chunk = [*conditions, of_chunk]
            moved, dormant = _recycle_by(session, actor, rule, spec, in_chunk, now)
            outcome.recycled += moved
            outcome.dormant += dormant
            result.recycled += moved
            result.dormant += dormant
        span.done()
        low = last + 1
        yield result
    return result


def _recycle_by(
    session: Session, actor: Actor, rule: RecycleRule, spec: RecycleSpec, conditions, now: datetime
) -> tuple[int, int]:
    to_state = _to_state(rule, spec)
    # This statement's events are those after the newest id now (the write lock is held).
    before = session.exec(select(func.coalesce(func.max(FlowEvent.id), 0))).one()
    events = insert_flow_events(
        session,
        select(
            Opportunity.id,
            literal(now),
            Opportunity.owner_id,
            null(),
            literal("owned"),
            to_state,
            literal("recycle"),
            literal("recycle"),
            literal(rule.id),
            literal(actor.user_id) if actor.user_id else null(),
        ).where(*conditions),
    )
    if not events:
        return 0, 0
    values = {
        "owner_id": None,
        "pool_state": to_state,
        "recycle_count": Opportunity.recycle_count + 1,
        "assigned_at": None,
        "recycle_warned_at": None,
    }
    if spec.target == "team":
        values["org_unit_id"] = spec.team_unit_id
    if spec.target == "redispatch":
        values["unassigned_reason"] = "recycled"
    moved = session.exec(
        update(Opportunity)
        .where(*conditions)
        .values(**values)
        .execution_options(preserve_rowcount=True, synchronize_session=False)
    ).rowcount
    if moved != events:  # the write lock makes this impossible; never leave half a sweep
        raise RuntimeError(f"recycle rule {rule.id}: {events} events for {moved} moves")
    dormant = session.exec(
        select(func.count()).where(
            FlowEvent.id > before,
            FlowEvent.to_state == "dormant",
        )
    ).one()
    return moved, dormant


def warn_recycles(session: Session, actor: Actor) -> int:
    """Tell each owner how many of their opportunities will be recycled within a rule's
    warning period; each opportunity is warned once until it is worked or changes owner.
    Returns how many opportunities were warned. All in the caller's one transaction."""
    return drain(warn_in_chunks(session, actor))


def warn_in_chunks(
    session: Session, actor: Actor, *, owners_per_chunk: int = 200
) -> Generator[int, None, int]:
    """The warnings in whole chunks of owners: yields after each chunk (the caller commits
    there, see `chunks`), returns how many opportunities were warned. A chunk is a run of
    owners with all their warned opportunities and their one notice, so an owner gets one
    notice per run, as from one statement over the whole table."""
    _require_jobs(actor, False)
    now = clock.now()
    warning = [(rule, spec) for rule, spec in active_rules(session, "recycle") if spec.warn_days]
    since_work = func.coalesce(
        Opportunity.last_follow_up_at, Opportunity.assigned_at, Opportunity.created_at
    )
    judged = [
        [
            *rule_conditions(session, rule, spec, now, ahead=timedelta(days=spec.warn_days)),
            or_(
                col(Opportunity.recycle_warned_at).is_(None),
                Opportunity.recycle_warned_at < since_work,
            ),
        ]
        for rule, spec in warning
    ]
    owners = (
        session.exec(
            select(Opportunity.owner_id)
            .where(Opportunity.pool_state == "owned")
            .distinct()
            .order_by(Opportunity.owner_id)
        ).all()
        if judged
        else []
    )
    warned = 0
    for start in range(0, len(owners), owners_per_chunk):
        batch = owners[start : start + owners_per_chunk]
        # The owners as a list (one parameter), not a range: the planner then reads each
        # owner's opportunities by the owner index instead of every owned opportunity.
        of_batch = one_of(session, Opportunity.owner_id, batch)
        per_owner: dict[int, int] = {}
        for conditions in judged:
            for owner_id, count in session.exec(
                select(Opportunity.owner_id, func.count())
                .where(*conditions, of_batch)
                .group_by(Opportunity.owner_id)
            ).all():
                per_owner[owner_id] = per_owner.get(owner_id, 0) + count
            warned += session.exec(
                update(Opportunity)
                .where(*conditions, of_batch)
                .values(recycle_warned_at=now)
                .execution_options(preserve_rowcount=True, synchronize_session=False)
            ).rowcount
        send_counts(session, "recycle.warning", per_owner, now)
        yield warned
    return warned


@dataclass(frozen=True)
class DueOpportunity:
    """An owned opportunity inside a recycle rule's warning period."""

    opportunity_id: int
    lead_id: int
    lead_name: str
    business_line: str
    stage: str
    due_at: datetime
    rule_name: str

    def days_left(self, now: datetime) -> int:
        return max(0, (self.due_at - now).days)


def recycle_due(session: Session, actor: Actor, limit: int = 200) -> list[DueOpportunity]:
    """The actor's own opportunities that a recycle rule will take back within its warning
    period, soonest first, with the moment each is due."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    if actor.user_id is None:
        return []
    now = clock.now()
    found: dict[int, DueOpportunity] = {}
    o = Opportunity
    for rule, spec in active_rules(session, "recycle"):
        ahead = timedelta(days=max(spec.warn_days, 1))
        rows = session.exec(
            select(
                o.id,
                o.lead_id,
                Lead.name,
                BusinessLine.name,
                o.stage,
                o.assigned_at,
                o.created_at,
                o.last_follow_up_at,
                o.stage_changed_at,
            )
            .join(Lead, Lead.id == o.lead_id)
            .join(BusinessLine, BusinessLine.id == o.business_line_id)
            .where(
                o.owner_id == actor.user_id, *rule_conditions(session, rule, spec, now, ahead=ahead)
            )
            .limit(limit)
        ).all()
        for opp_id, lead_id, name, line, stage, assigned, created, last_fu, staged in rows:
            started = assigned or created
            if spec.trigger == "no_follow_up" and last_fu and last_fu > started:
                started = last_fu
            if spec.trigger == "no_stage_progress" and staged and staged > started:
                started = staged
            due = started + _span(spec, spec.after)
            if opp_id not in found or due < found[opp_id].due_at:
                found[opp_id] = DueOpportunity(opp_id, lead_id, name, line, stage, due, rule.name)
    return sorted(found.values(), key=lambda d: d.due_at)[:limit]
