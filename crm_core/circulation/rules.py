"""The rule service behind the rule editor: list, save, pause, reorder and delete dispatch,
recycle, claim, departure and renewal rules, each save validated and kept as a version.

A rule belongs to an org unit (None: company-wide). Managers with `manage_rules` edit the
rules of the units in their scope; company-wide rules only with the `all` scope. Lower
priority numbers run first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, true
from sqlmodel import Session, col, select

from crm_core.circulation.rule_schemas import (
    DispatchSpec,
    RecycleSpec,
    RuleSpec,
    parse_rule,
    spec_documents,
)
from crm_core.models import (
    BusinessLine,
    ClaimRule,
    DepartureRule,
    DispatchRule,
    DispatchTally,
    OrgUnit,
    RecycleRule,
    RenewalRule,
    RuleVersion,
    User,
    path_ids,
)
from crm_core.org.access import unit_clause, user_scope
from crm_core.org.roles import dispatch_receivers
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.option_values import option_codes
from crm_core.platform.permissions import DataScope, Permission

RULE_MODELS: dict[str, type] = {
    "dispatch": DispatchRule,
    "recycle": RecycleRule,
    "claim": ClaimRule,
    "departure": DepartureRule,
    "renewal": RenewalRule,
}


@dataclass(frozen=True)
class RuleDraft:
    """What the editor's form holds for one rule."""

    name: str
    priority: int = 100
    business_line_id: int | None = None
    org_unit_id: int | None = None
    enabled: bool = True
    conditions: dict | None = None
    action: dict | None = None


def _model(kind: str) -> type:
    if kind not in RULE_MODELS:
        raise ValidationError(N_("Unknown rule kind: {kind}."), kind=kind)
    return RULE_MODELS[kind]


def _ordered(model):
    return (col(model.priority), col(model.id))


def active_rules(session: Session, kind: str) -> list[tuple[Any, RuleSpec]]:
    """Enabled rules of `kind` in the order they apply, each with its typed spec. For the
    engines, which run as the system; a stored rule that no longer parses is skipped."""
    model = _model(kind)
    rules = session.exec(select(model).where(model.enabled).order_by(*_ordered(model))).all()
    out = []
    for rule in rules:
        try:
            out.append((rule, parse_rule(kind, rule.conditions, rule.action)))
        except ValidationError:
            continue
    return out


def _reads_unit(session: Session, actor: Actor, unit_id: int | None) -> bool:
    if unit_id is None or actor.scope is DataScope.ALL:
        return True
    found = session.exec(
        select(OrgUnit.id).where(OrgUnit.id == unit_id, unit_clause(actor, OrgUnit.id))
    ).first()
    return found is not None


def _ancestor_units(session: Session, actor: Actor) -> list[int]:
    """The units above the actor's own reach: a rule kept there routes the actor's units too
    (a department's dispatch rule hands out to its teams)."""
    paths = set(actor.subtree_paths)
    if actor.exact_unit_ids:
        paths.update(
            session.exec(
                select(OrgUnit.path).where(col(OrgUnit.id).in_(sorted(actor.exact_unit_ids)))
            ).all()
        )
    return sorted({unit for path in paths for unit in path_ids(path)})


def _readable(session: Session, actor: Actor, model, *, above: bool = True):
    """The rules of `model` the actor may read (see `list_rules`)."""
    readable = or_(col(model.org_unit_id).is_(None), unit_clause(actor, model.org_unit_id))
    if above and actor.scope is not DataScope.ALL:
        units_above = _ancestor_units(session, actor)
        if units_above:
            readable = or_(readable, col(model.org_unit_id).in_(units_above))
    return readable


def list_rules(session: Session, actor: Actor, kind: str, *, above: bool = True) -> list[Any]:
    """Every rule of `kind` the actor may read, in the order they apply: their units' rules,
    the company-wide ones and those of the units above theirs, which route their units as
    well (only `can_edit` says which of them the actor may change). `above=False` leaves those
    out: their counts span units beyond the actor's reach."""
    actor.require(Permission.MANAGE_RULES)
    model = _model(kind)
    readable = _readable(session, actor, model, above=above)
    return list(session.exec(select(model).where(readable).order_by(*_ordered(model))).all())


def can_edit(session: Session, actor: Actor, rule) -> bool:
    """Whether `actor` may change `rule` (its unit is in their scope)."""
    if not actor.can(Permission.MANAGE_RULES):
        return False
    if actor.scope is DataScope.ALL:
        return True
    return rule.org_unit_id is not None and _reads_unit(session, actor, rule.org_unit_id)


def get_rule(session: Session, actor: Actor, kind: str, rule_id: int):
    """One rule the actor may read."""
    actor.require(Permission.MANAGE_RULES)
    model = _model(kind)
    rule = session.exec(
        select(model).where(model.id == rule_id, _readable(session, actor, model))
    ).first()
    if rule is None:
        raise NotFound(entity=f"{kind}_rule", id=rule_id)
    return rule


def _require_edit(session: Session, actor: Actor, rule) -> None:
    if not can_edit(session, actor, rule):
        raise PermissionDenied(permission=Permission.MANAGE_RULES.value)


def _active_reps(session: Session, *where) -> int:
    return session.exec(
        select(func.count())
        .select_from(User)
        .where(User.status == "active", User.enabled, dispatch_receivers(session), *where)
    ).one()


def _unit(session: Session, actor: Actor, unit_id: int, field: str) -> OrgUnit:
    unit = session.exec(
        select(OrgUnit).where(OrgUnit.id == unit_id, unit_clause(actor, OrgUnit.id))
    ).first()
    if unit is None or not unit.active:
        raise ValidationError(
            N_("{field}: unit {id} does not exist, is closed or is outside your scope."),
            field=field,
            id=unit_id,
        )
    return unit


def _unit_has_reps(session: Session, unit: OrgUnit, field: str) -> None:
    subtree = select(OrgUnit.id).where(col(OrgUnit.path).like(f"{unit.path}%"))
    if _active_reps(session, col(User.org_unit_id).in_(subtree)) == 0:
        raise ValidationError(
            N_("{field}: {unit} has no active reps: the rule could give nothing."),
            field=field,
            unit=unit.name,
        )


def _check_intention_levels(session: Session, spec: RuleSpec) -> None:
    """A rule's intention levels are levels of the list (a disabled one still matches the
    opportunities that hold it)."""
    if isinstance(spec, DispatchSpec):
        field, levels = "intention_levels", spec.intention_levels
    elif isinstance(spec, RecycleSpec):
        field, levels = "exempt_intentions", spec.exempt_intentions
    else:
        return
    known = option_codes(session, "intention_level", active_only=False)
    for level in levels:
        if level not in known:
            raise ValidationError(
                label_of("rule.error", "unknown_choice"), field=field, value=level
            )


def check_rule(
    session: Session, actor: Actor, kind: str, draft: RuleDraft, rule_id: int | None = None
) -> RuleSpec:
    """Everything that would make the rule unable to work, as ValidationError with the
    reason; the typed spec when it can work. Nothing is written. Requires manage_rules:
    the checks read the units, people and rules in the actor's reach."""
    actor.require(Permission.MANAGE_RULES)
    spec = parse_rule(kind, draft.conditions, draft.action)
    if not (draft.name or "").strip():
        raise ValidationError(N_("Give the rule a name."), field="name")
    if draft.priority < 0:
        raise ValidationError(
            N_("{field}: must be at least {minimum}."), field="priority", minimum=0
        )
    if draft.business_line_id is not None:
        line = session.get(BusinessLine, draft.business_line_id)
        if line is None or not line.active:
            raise ValidationError(
                N_("The business line does not exist or is closed."), field="business_line_id"
            )
    if draft.org_unit_id is not None:
        _unit(session, actor, draft.org_unit_id, "org_unit_id")
    elif actor.scope is not DataScope.ALL or kind == "departure":
        raise ValidationError(N_("Choose the unit the rule belongs to."), field="org_unit_id")
    _check_intention_levels(session, spec)
    if isinstance(spec, DispatchSpec):
        _check_dispatch_target(session, actor, spec)
    if isinstance(spec, RecycleSpec) and spec.target == "team":
        _unit_has_reps(
            session, _unit(session, actor, spec.team_unit_id, "team_unit_id"), "team_unit_id"
        )
    _check_priority(session, kind, draft, rule_id)
    return spec


def _check_dispatch_target(session: Session, actor: Actor, spec: DispatchSpec) -> None:
    reps = []
    if spec.target_unit_id:
        unit = _unit(session, actor, spec.target_unit_id, "target_unit_id")
        _unit_has_reps(session, unit, "target_unit_id")
        subtree = select(OrgUnit.id).where(col(OrgUnit.path).like(f"{unit.path}%"))
        reps.append(col(User.org_unit_id).in_(subtree))
    if spec.target_user_ids:
        named = session.exec(
            select(User).where(col(User.id).in_(spec.target_user_ids), user_scope(actor))
        ).all()
        missing = set(spec.target_user_ids) - {u.id for u in named}
        if missing:
            raise ValidationError(
                N_("Reps not found or outside your scope: {ids}."),
                field="target_user_ids",
                ids=", ".join(map(str, sorted(missing))),
            )
        gone = [u.full_name for u in named if u.status != "active" or not u.enabled]
        if gone:
            raise ValidationError(
                N_("These reps are not active: {names}."),
                field="target_user_ids",
                names=", ".join(gone),
            )
        reps.append(col(User.id).in_(spec.target_user_ids))
    if spec.skill_required:
        users = session.exec(
            select(User.skill_tags).where(or_(*reps), User.status == "active", User.enabled)
        ).all()
        if not any(spec.skill_tag in (tags or []) for tags in users):
            raise ValidationError(
                N_("No active target rep has the skill tag “{tag}”."),
                field="skill_tag",
                tag=spec.skill_tag,
            )


def _check_priority(session: Session, kind: str, draft: RuleDraft, rule_id: int | None) -> None:
    """Two enabled rules of one kind with the same priority over the same business line
    would leave their order to chance."""
    if not draft.enabled:
        return
    model = _model(kind)
    same_line = (
        true()
        if draft.business_line_id is None
        else or_(
            col(model.business_line_id).is_(None), model.business_line_id == draft.business_line_id
        )
    )
    clash = session.exec(
        select(model).where(
            model.enabled,
            model.priority == draft.priority,
            same_line,
            model.id != (rule_id or -1),
            model.org_unit_id == draft.org_unit_id if kind == "departure" else true(),
        )
    ).first()
    if clash is not None:
        raise ValidationError(
            N_(
                "Priority {priority} is already used by rule “{rule}” on the same business line: choose another so the order is clear."
            ),
            field="priority",
            priority=draft.priority,
            rule=clash.name,
        )


def _snapshot(rule) -> dict:
    return {
        "name": rule.name,
        "priority": rule.priority,
        "business_line_id": rule.business_line_id,
        "org_unit_id": rule.org_unit_id,
        "enabled": rule.enabled,
        "conditions": rule.conditions,
        "action": rule.action,
    }


def _record(session: Session, actor: Actor, kind: str, rule, change: str, before: dict | None):
    now = clock.now()
    rule.updated_at = now
    rule.updated_by_id = actor.user_id
    session.add(rule)
    session.flush()
    session.add(
        RuleVersion(
            rule_kind=kind,
            rule_id=rule.id,
            version=rule.version,
            change=change,
            snapshot=_snapshot(rule),
            changed_by_id=actor.user_id,
            changed_at=now,
        )
    )
    audit.record(session, actor, f"rule.{change}", f"{kind}_rule", rule.id, before, _snapshot(rule))
    session.flush()


def save_rule(
    session: Session, actor: Actor, kind: str, draft: RuleDraft, rule_id: int | None = None
):
    """Create (`rule_id` None) or change a rule after `check_rule`; a new version is kept
    and the change audited. Returns the stored rule."""
    actor.require(Permission.MANAGE_RULES)
    model = _model(kind)
    rule = get_rule(session, actor, kind, rule_id) if rule_id else None
    if rule is not None:
        _require_edit(session, actor, rule)
    spec = check_rule(session, actor, kind, draft, rule_id)
    conditions, action = spec_documents(spec)
    before = _snapshot(rule) if rule else None
    if rule is None:
        rule = model(version=1)
    else:
        rule.version += 1
    rule.name = draft.name.strip()
    rule.priority = draft.priority
    rule.business_line_id = draft.business_line_id
    rule.org_unit_id = draft.org_unit_id
    rule.enabled = draft.enabled
    rule.conditions = conditions
    rule.action = action
    _record(session, actor, kind, rule, "update" if before else "create", before)
    return rule


def set_rule_enabled(session: Session, actor: Actor, kind: str, rule_id: int, enabled: bool):
    """Pause or resume a rule. Resuming checks it again, since the world may have changed."""
    rule = get_rule(session, actor, kind, rule_id)
    _require_edit(session, actor, rule)
    if rule.enabled == enabled:
        return rule
    if enabled:
        check_rule(session, actor, kind, _draft_of(rule, enabled=True), rule.id)
    before = _snapshot(rule)
    rule.enabled = enabled
    rule.version += 1
    _record(session, actor, kind, rule, "enable" if enabled else "disable", before)
    return rule


def _draft_of(rule, **changes) -> RuleDraft:
    values = _snapshot(rule) | changes
    return RuleDraft(**values)


def move_rule(session: Session, actor: Actor, kind: str, rule_id: int, step: int):
    """Swap a rule's place with its neighbour (`step` -1: earlier, +1: later) among the
    rules the actor may edit."""
    rule = get_rule(session, actor, kind, rule_id)
    _require_edit(session, actor, rule)
    rules = [r for r in list_rules(session, actor, kind) if can_edit(session, actor, r)]
    index = next(i for i, r in enumerate(rules) if r.id == rule.id)
    other_index = index + (1 if step > 0 else -1)
    if not 0 <= other_index < len(rules):
        return rule
    other = rules[other_index]
    if other.priority == rule.priority:
        other.priority += -1 if step > 0 else 1  # equal numbers: make the order explicit
    for moved in (rule, other):
        before = _snapshot(moved)
        if moved is rule:
            rule.priority, other.priority = other.priority, rule.priority
        moved.version += 1
        _record(session, actor, kind, moved, "move", before)
    return rule


def delete_rule(session: Session, actor: Actor, kind: str, rule_id: int) -> None:
    """Remove a rule; its versions and flow events stay as history."""
    rule = get_rule(session, actor, kind, rule_id)
    _require_edit(session, actor, rule)
    before = _snapshot(rule)
    rule.version += 1
    _record(session, actor, kind, rule, "delete", before)
    if kind == "dispatch":
        session.exec(delete(DispatchTally).where(DispatchTally.rule_id == rule.id))
    session.delete(rule)
    session.flush()


def rule_versions(session: Session, actor: Actor, kind: str, rule_id: int) -> list[RuleVersion]:
    """The rule's saved states, newest first."""
    actor.require(Permission.MANAGE_RULES)
    versions = session.exec(
        select(RuleVersion)
        .where(RuleVersion.rule_kind == kind, RuleVersion.rule_id == rule_id)
        .order_by(col(RuleVersion.version).desc(), col(RuleVersion.id).desc())
    ).all()
    unit_id = versions[0].snapshot.get("org_unit_id") if versions else None
    if (
        versions
        and not _reads_unit(session, actor, unit_id)
        and unit_id not in _ancestor_units(session, actor)
    ):
        raise NotFound(entity=f"{kind}_rule", id=rule_id)
    return list(versions)


def rule_names(session: Session, kind: str) -> dict[int, str]:
    """Every rule of `kind` by id, names only: why an opportunity waits names the rule,
    also one outside the reader's units."""
    model = _model(kind)
    return {rule_id: name for rule_id, name in session.exec(select(model.id, model.name))}
