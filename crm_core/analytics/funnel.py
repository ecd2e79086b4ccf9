"""The funnel (acquire -> retain -> convert): how many opportunities of a cohort ever
reached each stage.

Semantics: the cohort is the opportunities created in the period (in the viewer's scope,
with the view's filters). An opportunity "reached" a stage if its stage history holds that
stage or any later one in FUNNEL_STAGES order (its current stage counts too), so a skipped
stage counts as passed and the funnel never grows downwards; one that went back counts
once per stage; a lost one counts for the stages it reached before, and the lost are
reported beside the funnel. The furthest stage of each opportunity is kept on it as its
history is written (`opportunity.furthest_stage`), so the funnel is one GROUP BY over the
cohort read from an index, not a join of millions of history rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from crm_core.analytics.cache import cached
from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.outcomes import lost_in_period, won_in_period
from crm_core.analytics.scope import (
    check_view,
    opportunity_conditions,
    period_bounds,
    unit_groups,
    with_lead,
)
from crm_core.analytics.sql import FUNNEL_STAGES
from crm_core.models import BusinessLine, Lead, Opportunity, User
from crm_core.org.unit_labels import unit_labels
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.sales.stages import funnel_rank

LIST_LIMIT = 200

# What the funnel and its lists read (see crm_core.analytics.cache).
FUNNEL_READS = (
    "opportunity",
    "stage_history",
    "flow_event",
    "lead",
    "org",
    "history_import",
    "sales_order",  # won in the period
)


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide."""
    return part / whole if whole else None


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    reached: int
    from_previous: float | None  # conversion from the stage before
    from_first: float | None  # share of the cohort


@dataclass(frozen=True)
class FunnelRow:
    """One group of the split: its key (id or code, None for "none"), the count per
    stage in FUNNEL_STAGES order, and its lost."""

    key: int | str | None
    label: str | None
    reached: tuple[int, ...]
    lost: int

    @property
    def total(self) -> int:
        return self.reached[0] if self.reached else 0

    @property
    def won(self) -> int:
        return self.reached[-1] if self.reached else 0

    @property
    def overall(self) -> float | None:
        return rate(self.won, self.total)


@dataclass(frozen=True)
class Funnel:
    """The cohort's steps and lost; beside them what was won and lost in the period
    whatever its creation date (`outcomes`: the same figures as team performance)."""

    steps: list[FunnelStep]
    lost: int
    rows: list[FunnelRow] = field(default_factory=list)
    won_in_period: int = 0
    lost_in_period: int = 0

    @property
    def total(self) -> int:
        return self.steps[0].reached if self.steps else 0

    @property
    def won(self) -> int:
        return self.steps[-1].reached if self.steps else 0

    @property
    def overall(self) -> float | None:
        """Won / cohort."""
        return rate(self.won, self.total)

    def reached(self, stage: str) -> int:
        return self.steps[FUNNEL_STAGES.index(stage)].reached


@dataclass(frozen=True)
class FunnelOpportunity:
    id: int
    lead_name: str
    business_line: str
    owner: str | None
    unit: str | None
    stage: str
    created_at: datetime


def _split_column(view: DashboardFilter):
    return {
        "business_line": Opportunity.business_line_id,
        "channel": Lead.channel,
        "campaign": Lead.campaign,
        "unit": Opportunity.org_unit_id,
        "rep": Opportunity.owner_id,
    }.get(view.split)


_WON_RANK = len(FUNNEL_STAGES) - 1
# An opportunity's outcome in the funnel's counts: 0 open, 1 lost, 2 won.
_OPEN, _LOST, _WON = 0, 1, 2


def _counts(session: Session, view: DashboardFilter, conditions) -> dict:
    """(split key, furthest rank, outcome) -> opportunities: one GROUP BY over the
    cohort's furthest stages and stages, which the index on the cohort holds."""
    split = _split_column(view)
    keys = [*([split] if split is not None else []), Opportunity.furthest_stage]
    outcome = case(
        (Opportunity.stage == "lost", _LOST), (Opportunity.stage == "won", _WON), else_=_OPEN
    )
    query = with_lead(select(*keys, outcome, func.count()).select_from(Opportunity), view)
    rows = session.exec(query.where(*conditions).group_by(*keys, outcome)).all()
    counts: dict = {}
    for row in rows:
        key = row[0] if split is not None else None
        rank = max(funnel_rank(row[-3]), 0)
        counts[(key, rank, int(row[-2]))] = counts.get((key, rank, int(row[-2])), 0) + row[-1]
    return counts


def _reached(counts: dict[tuple[int, int], int]) -> tuple[tuple[int, ...], int]:
    """Count per stage (furthest rank at or past it; won also from the stage) and lost,
    from (rank, outcome) -> n."""
    reached = [0] * len(FUNNEL_STAGES)
    lost = 0
    for (rank, outcome), n in counts.items():
        for i in range(max(rank, 0) + 1):
            reached[i] += n
        if outcome == _WON and rank < _WON_RANK:
            reached[_WON_RANK] += n
        lost += n if outcome == _LOST else 0
    return tuple(reached), lost


def _labels(session: Session, actor: Actor, view: DashboardFilter, unit, keys) -> tuple:
    """The split's groups in display order with their labels, and how raw keys map to
    groups (units roll up into the drill-down's children)."""
    keys = {k for k in keys if k is not None}
    if view.split == "business_line":
        names = dict(session.exec(select(BusinessLine.id, BusinessLine.name)).all())
        return {k: k for k in keys}, {k: names.get(k, str(k)) for k in keys}
    if view.split == "rep":
        names = dict(
            session.exec(select(User.id, User.full_name).where(col(User.id).in_(keys))).all()
        )
        return {k: k for k in keys}, {k: names.get(k, str(k)) for k in keys}
    if view.split == "unit":
        groups = unit_groups(session, actor, unit)
        mapping = {k: groups.group_of.get(k) for k in keys}
        return mapping, {g: groups.names.get(g, str(g)) for g in groups.order}
    return {k: k for k in keys}, {k: str(k) for k in keys}


def funnel(session: Session, actor: Actor, view: DashboardFilter) -> Funnel:
    """The funnel of the view's cohort, with the table of its split (cached)."""
    unit = check_view(session, actor, view)
    return cached(
        session, actor, "funnel", view, lambda: _funnel(session, actor, view, unit), FUNNEL_READS
    )


def _funnel(session: Session, actor: Actor, view: DashboardFilter, unit) -> Funnel:
    counts = _counts(
        session, view, opportunity_conditions(actor, view, unit, period_bounds(session, view))
    )
    overall: dict[tuple[int, int], int] = {}
    by_key: dict = {}
    for (key, rank, outcome), n in counts.items():
        overall[(rank, outcome)] = overall.get((rank, outcome), 0) + n
        by_key.setdefault(key, {})
    reached, lost = _reached(overall)
    steps = [
        FunnelStep(
            stage,
            reached[i],
            rate(reached[i], reached[i - 1]) if i else None,
            rate(reached[i], reached[0]),
        )
        for i, stage in enumerate(FUNNEL_STAGES)
    ]
    rows: list[FunnelRow] = []
    if view.split != "none":
        mapping, labels = _labels(session, actor, view, unit, by_key)
        grouped: dict = {}
        for (key, rank, outcome), n in counts.items():
            group = mapping.get(key) if key is not None else None
            bucket = grouped.setdefault(group, {})
            bucket[(rank, outcome)] = bucket.get((rank, outcome), 0) + n
        order = [g for g in labels if g in grouped] + [g for g in grouped if g not in labels]
        for group in sorted(order, key=lambda g: (g is None, -_reached(grouped[g])[0][0])):
            group_reached, group_lost = _reached(grouped[group])
            rows.append(FunnelRow(group, labels.get(group), group_reached, group_lost))
    return Funnel(
        steps,
        lost,
        rows,
        won_in_period=won_in_period(session, actor, view, unit),
        lost_in_period=lost_in_period(session, actor, view, unit),
    )


def funnel_opportunities(
    session: Session, actor: Actor, view: DashboardFilter, stage: str, *, limit: int = LIST_LIMIT
) -> list[FunnelOpportunity]:
    """The cohort's opportunities that reached `stage` (or, for `lost`, are lost), newest
    first, at most `limit`; within the viewer's scope like the funnel itself."""
    unit = check_view(session, actor, view)
    if stage not in (*FUNNEL_STAGES, "lost"):
        raise ValidationError(N_("Unknown stage: {stage}."), stage=stage)
    return cached(
        session,
        actor,
        "funnel_opportunities",
        (view, stage, limit),
        lambda: _funnel_opportunities(session, actor, view, unit, stage, limit),
        FUNNEL_READS,
    )


def _funnel_opportunities(session, actor, view, unit, stage, limit) -> list[FunnelOpportunity]:
    conditions = opportunity_conditions(actor, view, unit, period_bounds(session, view))
    if stage == "lost":
        wanted = Opportunity.stage == "lost"
    elif stage == "won":
        wanted = Opportunity.stage == "won"
    else:
        wanted = col(Opportunity.furthest_stage).in_(FUNNEL_STAGES[FUNNEL_STAGES.index(stage) :])
    ids = (
        with_lead(select(Opportunity.id), view)
        .where(*conditions, wanted)
        .order_by(col(Opportunity.id).desc())
        .limit(limit)
        .subquery()
    )
    rows = session.exec(
        select(
            Opportunity.id,
            Lead.name,
            BusinessLine.name,
            User.full_name,
            Opportunity.org_unit_id,
            Opportunity.stage,
            Opportunity.created_at,
        )
        .join(ids, ids.c.id == Opportunity.id)
        .join(Lead, Lead.id == Opportunity.lead_id)
        .join(BusinessLine, BusinessLine.id == Opportunity.business_line_id)
        .outerjoin(User, User.id == Opportunity.owner_id)
        .order_by(col(Opportunity.id).desc())
    ).all()
    units = unit_labels(session, {row[4] for row in rows})
    return [FunnelOpportunity(*row[:4], units.get(row[4]), *row[5:]) for row in rows]
