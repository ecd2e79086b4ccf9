"""Dry runs for the rule editor: what the rules would do now with a draft in place of (or
beside) the stored rule, without writing anything."""

from __future__ import annotations

from sqlmodel import Session, col, select

from crm_core.circulation.dispatch import DispatchResult, dispatch_unassigned
from crm_core.circulation.recycle import RecycleResult, recycle_idle_opportunities
from crm_core.circulation.recycle_teams import due_per_team
from crm_core.circulation.renewals import RenewalResult, open_due_renewals
from crm_core.circulation.rules import RULE_MODELS, RuleDraft, active_rules, check_rule, list_rules
from crm_core.models import OrgUnit, User
from crm_core.org.access import unit_clause, user_scope
from crm_core.org.unit_labels import unit_labels
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import DataScope, Permission
from crm_core.platform.settings import get_setting


def rules_with_draft(
    session: Session, actor: Actor, kind: str, draft: RuleDraft, rule_id: int | None = None
) -> list[tuple]:
    """The enabled rules of `kind` in order, with the checked draft standing for `rule_id`
    (or added, for a new rule). The draft is never stored."""
    actor.require(Permission.MANAGE_RULES)
    spec = check_rule(session, actor, kind, draft, rule_id)
    model = RULE_MODELS[kind]
    stored = session.get(model, rule_id) if rule_id else None
    candidate = model(
        id=rule_id,
        name=draft.name,
        priority=draft.priority,
        business_line_id=draft.business_line_id,
        org_unit_id=draft.org_unit_id,
        enabled=True,
        conditions=draft.conditions or {},
        action=draft.action or {},
    )
    if stored is not None and hasattr(stored, "rr_position"):
        candidate.rr_position = stored.rr_position
    pairs = [(r, s) for r, s in active_rules(session, kind) if r.id != rule_id]
    pairs.append((candidate, spec))
    pairs.sort(key=lambda pair: (pair[0].priority, pair[0].id or 1 << 62))
    return pairs


def preview_rule(
    session: Session, actor: Actor, kind: str, draft: RuleDraft, rule_id: int | None = None
) -> DispatchResult | RecycleResult | RenewalResult:
    """What dispatch, recycling or renewals would do right now with the draft: how many
    opportunities, to whom, how many recycled and to dormancy, how many renewals opened.
    Nothing is written."""
    rules = rules_with_draft(session, actor, kind, draft, rule_id)
    if kind == "dispatch":
        result = dispatch_unassigned(session, actor, dry_run=True, rules=rules)
    elif kind == "renewal":
        result = open_due_renewals(session, actor, dry_run=True, rules=rules)
    else:
        result = recycle_idle_opportunities(session, actor, dry_run=True, rules=rules)
        result.per_team = due_per_team(session, rules, clock.now())
        result.warn_over = get_setting(session, "recycle.warn_over")
        result.team_names = unit_labels(session, result.per_team)
    return _within_reach(session, actor, kind, result, rule_id)


def _within_reach(session: Session, actor: Actor, kind: str, result, rule_id: int | None):
    """The dry run of every unit's rules (their order decides what the draft gets), shown
    as far as the actor reaches: the outcomes of the rules they may read (the draft's
    among them) and, for dispatch, the reps in their scope. Recycle and renewal totals are
    the sums of those outcomes: another unit's rule only takes that unit's opportunities."""
    if actor.scope is DataScope.ALL:
        return result
    if isinstance(result, RecycleResult) and result.per_team:
        reached = set(
            session.exec(
                select(OrgUnit.id).where(
                    col(OrgUnit.id).in_([u for u in result.per_team if u is not None]),
                    unit_clause(actor, OrgUnit.id),
                )
            ).all()
        )
        result.per_team = {u: n for u, n in result.per_team.items() if u in reached}
        result.team_names = {u: name for u, name in result.team_names.items() if u in reached}
    readable = {rule.id for rule in list_rules(session, actor, kind, above=False)}
    result.rules = [o for o in result.rules if o.rule_id in readable or o.rule_id == rule_id]
    if isinstance(result, RecycleResult):
        result.recycled = sum(o.recycled for o in result.rules)
        result.dormant = sum(o.dormant for o in result.rules)
    elif isinstance(result, RenewalResult):
        result.opened = sum(o.opened for o in result.rules)
        result.to_owner = sum(o.to_owner for o in result.rules)
        result.to_dispatch = sum(o.to_dispatch for o in result.rules)
    elif result.per_rep:
        reps = set(
            session.exec(
                select(User.id).where(col(User.id).in_(list(result.per_rep)), user_scope(actor))
            ).all()
        )
        result.per_rep = {rep: n for rep, n in result.per_rep.items() if rep in reps}
    return result


# A draft that would move more than this many opportunities at once is saved only after the
# manager confirms it, having seen the number.
CONFIRM_ABOVE = 100


def draft_moves(result: DispatchResult | RecycleResult | RenewalResult, rule_id: int | None) -> int:
    """How many opportunities the draft itself (a new rule, or rule `rule_id` being edited)
    would move right now in a dry run's `result`: assign, recycle or open."""
    total = 0
    for outcome in result.rules:
        if outcome.rule_id is None or outcome.rule_id == rule_id:
            if isinstance(result, DispatchResult):
                total += outcome.assigned
            elif isinstance(result, RecycleResult):
                total += outcome.recycled + outcome.dormant
            else:
                total += outcome.opened
    return total
