"""The dispatch engine (调度): unassigned opportunities go to reps by the first dispatch
rule that matches, within each rep's caps.

One run plans (`crm_core.circulation.dispatch_plan`: reads only) and writes everything
set-based: one
UPDATE ... FROM of the picks, one INSERT ... SELECT of their flow events, one UPDATE per
waiting reason, and one notice per rep who received something. The run holds the
opportunity write lock from its first read, so caps and exclusions it counted stay true.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator

from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.circulation.assignment import (
    notify_reps,
    remember_positions,
    write_picks,
    write_reasons,
)
from crm_core.circulation.chunks import ChunkSpan
from crm_core.circulation.dispatch_plan import DispatchResult, RuleOutcome, plan_dispatch
from crm_core.circulation.locks import hold_opportunity_writes
from crm_core.circulation.override import override_scope
from crm_core.circulation.rules import active_rules
from crm_core.models import Notice, Opportunity
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting


def _require_dispatch(actor: Actor, dry_run: bool) -> None:
    if actor.can(Permission.RUN_JOBS) or (dry_run and actor.can(Permission.MANAGE_RULES)):
        return
    raise PermissionDenied(permission=Permission.RUN_JOBS.value)


def dispatch_unassigned(
    session: Session, actor: Actor, *, dry_run: bool = False, rules=None, limit: int | None = None
) -> DispatchResult:
    """Give waiting opportunities to reps by the enabled dispatch rules (or `rules`, for a
    dry run of a draft). Dry: nothing is written. Runs in the caller's transaction."""
    _require_dispatch(actor, dry_run)
    if rules is None:
        rules = active_rules(session, "dispatch")
    if not dry_run:
        hold_opportunity_writes(session)
    now = clock.now()
    limit = limit or get_setting(session, "dispatch.batch_size")
    picks, reasons, result, choosers = plan_dispatch(session, rules, now, limit)
    result.dry_run = dry_run
    if dry_run:
        return result
    write_picks(session, actor, picks, now)
    write_reasons(session, reasons)
    remember_positions(session, choosers)
    notify_reps(session, result.per_rep, now)
    return result


def dispatch_in_chunks(
    session: Session, actor: Actor, *, first_chunk: int = 5_000
) -> Generator[DispatchResult, None, DispatchResult]:
    """Dispatch by the enabled rules in whole chunks of waiting opportunities (up to the
    `dispatch.batch_size` setting in all): yields after each chunk is written (the caller
    commits there, see `chunks`), returns the whole run's result.

    Each chunk reads the rules' round-robin positions and tallies and the reps' room as the
    chunk before left them, so caps and fairness hold across chunks as across runs. A rep
    gets one notice per run: a later chunk raises the count of the notice an earlier chunk
    sent, while it is unread."""
    _require_dispatch(actor, False)
    budget = get_setting(session, "dispatch.batch_size")
    notices_before = session.exec(select(func.coalesce(func.max(Notice.id), 0))).one()
    total = DispatchResult()
    outcomes: dict[int | None, RuleOutcome] = {}
    per_rep: Counter = Counter()
    after = 0
    span = ChunkSpan(first_chunk, smallest=500, largest=100_000)
    while budget > 0:
        span.start()
        hold_opportunity_writes(session)
        now = clock.now()
        size = min(span.size, budget)
        rules = active_rules(session, "dispatch")
        picks, reasons, result, choosers = plan_dispatch(session, rules, now, size, after=after)
        write_picks(session, actor, picks, now)
        write_reasons(session, reasons)
        remember_positions(session, choosers)
        notify_reps(session, result.per_rep, now, notices_before)
        for field_name in ("considered", "assigned", "no_rule", "no_room"):
            setattr(total, field_name, getattr(total, field_name) + getattr(result, field_name))
        for outcome in result.rules:
            kept = outcomes.setdefault(outcome.rule_id, RuleOutcome(outcome.rule_id, outcome.name))
            kept.matched += outcome.matched
            kept.assigned += outcome.assigned
            kept.no_room += outcome.no_room
        per_rep.update(result.per_rep)
        total.rules, total.per_rep = list(outcomes.values()), dict(per_rep)
        span.done()
        budget -= result.considered
        if result.considered < size:
            break
        # Every opportunity read was picked or given a reason: the next chunk starts after.
        after = max([p[0] for p in picks] + [i for ids in reasons.values() for i in ids])
        yield total
        # The next chunk reads rules and reps afresh (another transaction may have changed
        # a cap or paused a rule meanwhile); nothing of this run is unflushed.
        session.flush()
        session.expire_all()
    return total


def dispatch_arrivals(session: Session, actor: Actor, opportunity_ids: list[int]) -> DispatchResult:
    """Dispatch the just-arrived opportunities `opportunity_ids` at once, by the enabled
    rules, with the planning of `dispatch_unassigned` restricted to them: the same caps,
    the same fairness (round-robin positions, weights, loads), the same flow events and
    notices. Those no rep takes wait, with their reason, for the worker's periodic run.
    Run in its own transaction right after the intake commits; the caller commits."""
    _require_dispatch(actor, False)
    ids = sorted(set(opportunity_ids))
    if not ids:
        return DispatchResult()
    rules = active_rules(session, "dispatch")
    hold_opportunity_writes(session)
    now = clock.now()
    picks, reasons, result, choosers = plan_dispatch(session, rules, now, len(ids), ids)
    if not result.considered:
        return result
    write_picks(session, actor, picks, now)
    write_reasons(session, reasons)
    remember_positions(session, choosers)
    notify_reps(session, result.per_rep, now)
    return result


def waiting_reasons(session: Session, actor: Actor) -> dict[str, int]:
    """How many opportunities within the actor's reach wait for dispatch, by reason
    ("no_rule", "no_room:<rule>", or None when no run has looked at them yet). The reach is
    the manual override's: waiting opportunities of no unit, and those of the units in
    scope (a recycle to re-dispatch keeps the unit)."""
    if not (actor.can(Permission.MANAGE_RULES) or actor.can(Permission.ASSIGN_OPPORTUNITIES)):
        raise PermissionDenied(permission=Permission.MANAGE_RULES.value)
    rows = session.exec(
        select(Opportunity.unassigned_reason, func.count())
        .where(Opportunity.pool_state == "unassigned", override_scope(actor))
        .group_by(Opportunity.unassigned_reason)
    ).all()
    return {reason: count for reason, count in rows}
