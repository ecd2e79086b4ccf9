"""The typed shape of each rule kind's `conditions` and `action` documents.

`parse_rule(kind, conditions, action)` turns the stored JSON into frozen dataclasses or
raises ValidationError naming the field and the reason; the rule service runs it before
every save, and the engines read rules only through it. Checks that need the database
(units with active reps, overlapping priorities) live in `rule_checks`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import time
from typing import Any

from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, label_of

DISPATCH_STRATEGIES = ("round_robin", "weighted", "least_loaded")
RECYCLE_TRIGGERS = ("no_first_follow_up", "no_follow_up", "no_stage_progress", "not_won")
RECYCLE_TARGETS = ("public_pool", "redispatch", "team")
DEPARTURE_TARGETS = ("team_lead", "public_pool", "redispatch")
RENEWAL_TARGETS = ("owner", "dispatch")
# Further ahead than a year is no renewal campaign but a guess.
RENEWAL_MAX_DAYS = 365
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _refuse(field_name: str, reason: str, **params: Any) -> ValidationError:
    return ValidationError(label_of("rule.error", reason), field=field_name, **params)


def _strings(doc: dict, name: str) -> tuple[str, ...]:
    value = doc.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _refuse(name, "not_a_list")
    return tuple(sorted({v.strip() for v in value if v.strip()}))


def _ints(doc: dict, name: str) -> tuple[int, ...]:
    value = doc.get(name) or []
    try:
        return tuple(sorted({int(v) for v in value}))
    except (TypeError, ValueError) as exc:
        raise _refuse(name, "not_a_list") from exc


def _count(doc: dict, name: str, default: int | None, *, minimum: int = 1) -> int | None:
    value = doc.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _refuse(name, "not_a_number")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _refuse(name, "not_a_number") from exc
    if number != value and not (isinstance(value, str) and value.strip() == str(number)):
        raise _refuse(name, "not_a_number")
    if number < minimum:
        raise _refuse(name, "too_small", minimum=minimum)
    return number


def _choice(doc: dict, name: str, choices: tuple[str, ...], default: str | None) -> str:
    value = doc.get(name, default)
    if value not in choices:
        raise _refuse(name, "unknown_choice", value=value)
    return value


def _clock_time(doc: dict, name: str) -> time | None:
    value = (doc.get(name) or "").strip()
    if not value:
        return None
    match = _HOURS.match(value)
    if not match:
        raise _refuse(name, "bad_time", value=value)
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class DispatchSpec:
    """Which unassigned opportunities a dispatch rule takes, and to whom they go."""

    channels: tuple[str, ...] = ()
    campaign_prefix: str | None = None
    regions: tuple[str, ...] = ()
    intention_levels: tuple[str, ...] = ()
    # Local (company) time of day; from > to spans midnight.
    hours_from: time | None = None
    hours_to: time | None = None
    strategy: str = "round_robin"
    target_unit_id: int | None = None
    target_user_ids: tuple[int, ...] = ()
    skill_tag: str | None = None
    skill_required: bool = False  # False: reps with the tag first, then the others
    no_return_days: int = 30

    def active_at(self, local: time) -> bool:
        """Whether the rule is open at local time `local`."""
        if self.hours_from is None or self.hours_to is None:
            return True
        if self.hours_from < self.hours_to:
            return self.hours_from <= local < self.hours_to
        return local >= self.hours_from or local < self.hours_to


@dataclass(frozen=True)
class RecycleSpec:
    """When an owned opportunity is taken back, what protects it, and where it goes."""

    trigger: str = "no_follow_up"
    after: int = 7  # hours for no_first_follow_up, days for the others
    exempt_from_stage: str | None = None
    exempt_intentions: tuple[str, ...] = ()
    target: str = "public_pool"
    team_unit_id: int | None = None
    dormant_after: int = 3
    warn_days: int = 1

    @property
    def in_hours(self) -> bool:
        return self.trigger == "no_first_follow_up"


@dataclass(frozen=True)
class ClaimSpec:
    """Limits on claiming from the public pool."""

    daily_claims: int = 20
    holding_cap: int | None = None  # None: each rep's own holding cap
    cooldown_days: int = 7


@dataclass(frozen=True)
class DepartureSpec:
    target: str = "public_pool"


@dataclass(frozen=True)
class RenewalSpec:
    """When a won opportunity gets its renewal: `days_before` its course ends (and until
    as many days after), to the owner of the win while active, or to dispatch."""

    days_before: int = 30
    assign_to: str = "owner"


RuleSpec = DispatchSpec | RecycleSpec | ClaimSpec | DepartureSpec | RenewalSpec


def _dispatch(conditions: dict, action: dict) -> DispatchSpec:
    levels = _strings(conditions, "intention_levels")
    for level in levels:
        if len(level) != 1:  # the list's codes are one letter; check_rule reads the list
            raise _refuse("intention_levels", "unknown_choice", value=level)
    hours_from = _clock_time(conditions, "hours_from")
    hours_to = _clock_time(conditions, "hours_to")
    if (hours_from is None) != (hours_to is None):
        raise _refuse("hours_to", "hours_half")
    if hours_from is not None and hours_from == hours_to:
        raise _refuse("hours_to", "hours_empty")
    target_unit_id = action.get("target_unit_id")
    target_user_ids = _ints(action, "target_user_ids")
    if not target_unit_id and not target_user_ids:
        raise _refuse("target_unit_id", "no_target")
    skill_tag = (action.get("skill_tag") or "").strip() or None
    return DispatchSpec(
        channels=_strings(conditions, "channels"),
        campaign_prefix=(conditions.get("campaign_prefix") or "").strip() or None,
        regions=_strings(conditions, "regions"),
        intention_levels=levels,
        hours_from=hours_from,
        hours_to=hours_to,
        strategy=_choice(action, "strategy", DISPATCH_STRATEGIES, "round_robin"),
        target_unit_id=int(target_unit_id) if target_unit_id else None,
        target_user_ids=target_user_ids,
        skill_tag=skill_tag,
        skill_required=bool(action.get("skill_required")) and skill_tag is not None,
        no_return_days=_count(action, "no_return_days", 30),
    )


def _recycle(conditions: dict, action: dict) -> RecycleSpec:
    trigger = _choice(conditions, "trigger", RECYCLE_TRIGGERS, None)
    after = _count(conditions, "after", None)
    if after is None:
        raise _refuse("after", "too_small", minimum=1)
    stage = conditions.get("exempt_from_stage") or None
    if stage is not None and stage not in OPEN_STAGES:
        raise _refuse("exempt_from_stage", "unknown_choice", value=stage)
    intentions = _strings(conditions, "exempt_intentions")
    for level in intentions:
        if len(level) != 1:  # the list's codes are one letter; check_rule reads the list
            raise _refuse("exempt_intentions", "unknown_choice", value=level)
    target = _choice(action, "target", RECYCLE_TARGETS, "public_pool")
    team_unit_id = action.get("team_unit_id")
    if target == "team" and not team_unit_id:
        raise _refuse("team_unit_id", "no_team")
    # Unless told otherwise, warn a day ahead when the trigger leaves room for it.
    warn_default = 1 if trigger != "no_first_follow_up" and after > 1 else 0
    warn_days = _count(action, "warn_days", warn_default, minimum=0)
    # The warning must come before the recycle; an hours trigger counts the warning in days too.
    if warn_days and warn_days * (24 if trigger == "no_first_follow_up" else 1) >= after:
        raise _refuse("warn_days", "warn_too_long", after=after)
    return RecycleSpec(
        trigger=trigger,
        after=after,
        exempt_from_stage=stage,
        exempt_intentions=intentions,
        target=target,
        team_unit_id=int(team_unit_id) if target == "team" else None,
        dormant_after=_count(action, "dormant_after", 3),
        warn_days=warn_days,
    )


def _claim(conditions: dict, action: dict) -> ClaimSpec:
    return ClaimSpec(
        daily_claims=_count(action, "daily_claims", 20),
        holding_cap=_count(action, "holding_cap", None),
        cooldown_days=_count(action, "cooldown_days", 7, minimum=0),
    )


def _departure(conditions: dict, action: dict) -> DepartureSpec:
    return DepartureSpec(target=_choice(action, "target", DEPARTURE_TARGETS, "public_pool"))


def _renewal(conditions: dict, action: dict) -> RenewalSpec:
    days_before = _count(conditions, "days_before", 30)
    if days_before > RENEWAL_MAX_DAYS:
        raise _refuse("days_before", "too_large", maximum=RENEWAL_MAX_DAYS)
    return RenewalSpec(
        days_before=days_before,
        assign_to=_choice(action, "assign_to", RENEWAL_TARGETS, "owner"),
    )


_PARSERS = {
    "dispatch": _dispatch,
    "recycle": _recycle,
    "claim": _claim,
    "departure": _departure,
    "renewal": _renewal,
}


def parse_rule(kind: str, conditions: dict | None, action: dict | None) -> RuleSpec:
    """The typed spec of a rule of `kind`, or ValidationError with the field and reason."""
    if kind not in _PARSERS:
        raise ValidationError(N_("Unknown rule kind: {kind}."), kind=kind)
    return _PARSERS[kind](dict(conditions or {}), dict(action or {}))


def spec_documents(spec: RuleSpec) -> tuple[dict, dict]:
    """The (conditions, action) JSON documents that store `spec`."""
    data = asdict(spec)
    for key, value in data.items():
        if isinstance(value, time):
            data[key] = value.strftime("%H:%M")
        elif isinstance(value, tuple):
            data[key] = list(value)
    condition_keys = {f for f in _CONDITION_FIELDS.get(type(spec), ())}
    conditions = {k: v for k, v in data.items() if k in condition_keys}
    action = {k: v for k, v in data.items() if k not in condition_keys}
    return conditions, action


_CONDITION_FIELDS: dict[type, tuple[str, ...]] = {
    DispatchSpec: (
        "channels",
        "campaign_prefix",
        "regions",
        "intention_levels",
        "hours_from",
        "hours_to",
    ),
    RecycleSpec: ("trigger", "after", "exempt_from_stage", "exempt_intentions"),
    ClaimSpec: (),
    DepartureSpec: (),
    RenewalSpec: ("days_before",),
}
