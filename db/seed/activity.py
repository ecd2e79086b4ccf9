"""Opportunities and their timelines, generated for all rows at once with numpy.

The plan decides, per opportunity: lead and business line, current stage and pool state,
team and owner, and every time that the history tables must agree with (assignment,
follow-ups, stage changes, recycling, closing). `history.py` turns the plan into the rows
of the child tables; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from crm_core.models import INTENTION_LEVELS, POOL_STATES
from crm_core.platform.bootstrap import DEFAULT_LOST_REASONS
from db.seed.bulk import NO_TIME, chunk_bounds, epoch, sql_codes, sql_ids, sql_ints, sql_times
from db.seed.company import Company
from db.seed.leads import DAY, LeadPlan
from db.seed.paths import (
    CONTACTED,
    LAST_OPEN,
    LOST,
    NEW,
    QUALIFIED,
    STAGES,
    TEMPLATE_LENGTH,
    TRIAL_BOOKED,
    TRIAL_DONE,
    WON,
    choose_templates,
    group_starts,
    sorted_fractions,
    strictly_increasing,
)

UNASSIGNED, OWNED, PUBLIC, DORMANT, CLOSED = (POOL_STATES.index(s) for s in POOL_STATES)
HOUR = 3600

# Final stages from least to most "mature", with their shares. Older opportunities tend to
# sit further along (see `_stages`), so nothing minutes old is already won.
MATURITY = (
    (NEW, 0.25),
    (CONTACTED, 0.20),
    (QUALIFIED, 0.15),
    (TRIAL_BOOKED, 0.08),
    (TRIAL_DONE, 0.07),
    (LOST, 0.15),
    (WON, 0.10),
)
# Share of opportunities that decide within days, and how old one must be to be closed.
FAST_SHARE = 0.15
FAST_AFTER = 2 * DAY
LOST_FROM_SHARES = (0.20, 0.35, 0.25, 0.10, 0.10)  # last open stage before `lost`
LOST_REASON_CODES = tuple(DEFAULT_LOST_REASONS)
LOST_REASON_SHARES = (0.30, 0.20, 0.10, 0.25, 0.15)  # price, no_need, competitor, ...
INTENTION_SHARES = {
    CONTACTED: (0.10, 0.30, 0.40, 0.20),
    QUALIFIED: (0.20, 0.45, 0.30, 0.05),
    TRIAL_BOOKED: (0.35, 0.45, 0.18, 0.02),
    TRIAL_DONE: (0.45, 0.40, 0.13, 0.02),
    WON: (0.80, 0.20, 0.0, 0.0),
    LOST: (0.02, 0.10, 0.40, 0.48),
}
UNASSIGNED_REASONS = (
    "no matching rule",
    "all reps at holding cap",
    "no rep on shift",
    "outside working hours",
)

OPPORTUNITY_COLUMNS = (
    "id",
    "lead_id",
    "business_line_id",
    "pipeline_type",
    "owner_id",
    "org_unit_id",
    "stage",
    "intention_level",
    "pool_state",
    "unassigned_reason",
    "assigned_at",
    "first_follow_up_at",
    "last_follow_up_at",
    "next_follow_up_at",
    "stage_changed_at",
    "protected_until",
    "locked",
    "recycle_count",
    "amount",
    "lost_reason",
    "closed_at",
    "created_at",
)


@dataclass
class OpportunityPlan:
    """Per-opportunity arrays (row i gets id `first_id + i`), plus the flattened follow-up
    times (`fu_*`) and stage-history entries (`hist_*`) grouped by opportunity."""

    first_id: int
    lead: np.ndarray
    line: np.ndarray
    created: np.ndarray
    stage: np.ndarray
    state: np.ndarray
    template: np.ndarray
    team: np.ndarray  # index into company.teams, -1 when never assigned
    rep: np.ndarray  # owner, or the last owner of a public/dormant one; -1 none
    other_rep: np.ndarray  # an earlier owner, for recycle-and-claim histories; -1 none
    recycle_count: np.ndarray
    cycles: np.ndarray  # recycle+claim pairs before the current (last) owner got it
    dispatched: np.ndarray
    start: np.ndarray  # when the current/last owner got it
    recycled_at: np.ndarray  # final recycle of public/dormant ones
    closed_at: np.ndarray
    stage_changed: np.ndarray
    first_fu: np.ndarray
    last_fu: np.ndarray
    next_fu: np.ndarray
    intention: np.ndarray
    lost_reason: np.ndarray
    unassigned_reason: np.ndarray
    protected_until: np.ndarray
    locked: np.ndarray
    fu_count: np.ndarray
    fu_at: np.ndarray
    hist_at: np.ndarray
    amount: np.ndarray  # CNY, filled in by the order plan; 0 = NULL

    @property
    def n(self) -> int:
        return len(self.created)


def _uniform(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return low + (high - low) * rng.random(n)


def _between(start: np.ndarray, end: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    return start + ((end - start) * fraction).astype(np.int64)


def _opportunity_leads(
    rng: np.random.Generator, leads: LeadPlan, n: int, now: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every lead's first opportunity (in its line of interest, created with the lead) and,
    for the remaining `n - leads.n`, a second one in another line, created later."""
    extra = n - leads.n
    second = rng.choice(leads.n, size=extra, replace=False)
    line2 = (leads.line[second] + 1 + rng.integers(0, 2, size=extra)) % 3
    lead_at = leads.created[second]
    created2 = _between(lead_at, np.full(extra, now - 600), rng.beta(1.2, 3.0, size=extra))
    lead = np.concatenate([np.arange(leads.n), second])
    line = np.concatenate([leads.line, line2])
    created = np.concatenate([leads.created, created2])
    order = np.lexsort((lead, created))  # ids follow creation time
    return lead[order], line[order], created[order]


def _stages(rng: np.random.Generator, n: int, age: np.ndarray) -> np.ndarray:
    """Exact stage shares; older opportunities more likely further along or closed. A few
    decide fast (a lead who buys or declines within days), so the last weeks hold wins and
    losses too, as in a running business; nothing younger than FAST_AFTER is closed."""
    age_rank = 1 - (np.arange(n) + 0.5) / max(n, 1)  # rows are sorted oldest first
    maturity = 0.65 * age_rank + 0.35 * rng.random(n)
    fast = (rng.random(n) < FAST_SHARE) & (age > FAST_AFTER)
    maturity[fast] = 0.55 + 0.45 * rng.random(int(fast.sum()))
    young = age <= FAST_AFTER
    maturity[young] = np.minimum(maturity[young], 0.3)
    order = np.argsort(maturity, kind="stable")
    counts = [int(share * n) for _, share in MATURITY]
    counts[0] += n - sum(counts)
    stage = np.empty(n, dtype=np.int64)
    for (code, _), lo, hi in zip(
        MATURITY, group_starts(np.array(counts)), np.cumsum(counts), strict=True
    ):
        stage[order[lo:hi]] = code
    return stage


def _pool_states(rng: np.random.Generator, stage: np.ndarray, age: np.ndarray) -> np.ndarray:
    n = len(stage)
    state = np.full(n, OWNED)
    state[(stage == WON) | (stage == LOST)] = CLOSED
    # Fresh ones often still wait for dispatch; older ones only when no rule matched.
    unassigned_p = np.where(age < 2 * DAY, 0.5, 0.18)
    state[(stage == NEW) & (rng.random(n) < unassigned_p)] = UNASSIGNED
    u = rng.random(n)
    early = (state == OWNED) & (stage <= QUALIFIED) & (age > 5 * DAY)
    state[early & (u < 0.13)] = PUBLIC
    state[early & (u >= 0.13) & (u < 0.165) & (age > 20 * DAY)] = DORMANT
    return state


def _pick_reps(
    rng: np.random.Generator, company: Company, team: np.ndarray, closed_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Owner (or last owner) by dispatch weight within the team, and a different earlier
    owner. Resigned reps keep only opportunities they closed before leaving."""
    status = np.array([r.status for r in company.reps])
    weight = np.array([r.dispatch_weight for r in company.reps], dtype=float)
    never = np.iinfo(np.int64).max
    left = np.array([never if r.left_on is None else epoch(r.left_on) for r in company.reps])
    rep = np.full(len(team), -1)
    other = np.full(len(team), -1)
    for t, unit in enumerate(company.teams):
        members = np.array(unit.rep_indexes)
        rows = np.flatnonzero(team == t)
        p = weight[members] / weight[members].sum()
        rep[rows] = members[rng.choice(len(members), size=len(rows), p=p)]
        closed_before_leaving = (closed_at[rows] != NO_TIME) & (closed_at[rows] < left[rep[rows]])
        gone = rows[(status[rep[rows]] == "resigned") & ~closed_before_leaving]
        stay = members[status[members] != "resigned"]
        p = weight[stay] / weight[stay].sum()
        rep[gone] = stay[rng.choice(len(stay), size=len(gone), p=p)]
        # Someone else in the team, for recycle-and-claim histories (`stay` is sorted).
        position = np.searchsorted(stay, rep[rows])
        pick = rng.integers(0, len(stay) - 1, size=len(rows))
        other[rows] = stay[pick + (pick >= position)]
    return rep, other


def plan_opportunities(
    rng: np.random.Generator, leads: LeadPlan, company: Company, n: int, now: int, first_id: int
) -> OpportunityPlan:
    """Generate `n` opportunities for `leads` with consistent timelines."""
    lead, line, created = _opportunity_leads(rng, leads, n, now)
    age = now - created
    stage = _stages(rng, n, age)
    lost_from = np.where(stage == LOST, rng.choice(LAST_OPEN + 1, size=n, p=LOST_FROM_SHARES), -1)
    state = _pool_states(rng, stage, age)
    closed = state == CLOSED
    dropped = (state == PUBLIC) | (state == DORMANT)
    assigned = state != UNASSIGNED

    recycle_count = np.zeros(n, dtype=np.int64)
    recycled_owned = (state == OWNED) & (age > 3 * DAY) & (rng.random(n) < 0.07)
    recycle_count[recycled_owned] = 1
    recycle_count[state == PUBLIC] = 1 + (rng.random(int((state == PUBLIC).sum())) < 0.25)
    recycle_count[state == DORMANT] = 3 + (rng.random(int((state == DORMANT).sum())) < 0.3)
    cycles = np.where(dropped, recycle_count - 1, recycle_count)

    # Timeline: dispatch a few minutes after arrival (long tail), the current owner's start
    # (later when earlier owners lost it), the end of activity, the final recycle.
    delay = np.clip(rng.lognormal(np.log(180), 1.6, size=n), 5, age * 0.3).astype(np.int64)
    dispatched = np.where(assigned, created + delay, NO_TIME)
    start = np.where(cycles > 0, _between(dispatched, now, _uniform(rng, n, 0.15, 0.5)), dispatched)
    end = np.full(n, now)
    end[closed] = _between(start, now, _uniform(rng, n, 0.2, 0.95))[closed]
    end[dropped] = _between(start, now, _uniform(rng, n, 0.25, 0.6))[dropped]
    recycled_at = np.where(dropped, _between(end, now, _uniform(rng, n, 0.2, 0.9)), NO_TIME)

    template = choose_templates(rng, stage, lost_from)
    steps = TEMPLATE_LENGTH[template] - 1
    # Follow-ups: at least one per stage change, a few more at random; some owned `new`
    # ones have an unanswered first call.
    fu_count = np.where(
        steps >= 1, np.clip(steps + rng.poisson(0.7, size=n) - (rng.random(n) < 0.3), 1, 6), 0
    )
    tried = (state == OWNED) & (stage == NEW) & (age > DAY) & (rng.random(n) < 0.25)
    fu_count = np.where(assigned, np.where(tried, 1, fu_count), 0)
    fu_opp = np.repeat(np.arange(n), fu_count)
    fu_at = _between(start[fu_opp], end[fu_opp], sorted_fractions(rng, fu_count, np.zeros(n, bool)))
    has_fu = fu_count > 0
    first_fu = np.full(n, NO_TIME)
    last_fu = np.full(n, NO_TIME)
    first_fu[has_fu] = fu_at[group_starts(fu_count)[has_fu]]
    last_fu[has_fu] = fu_at[(group_starts(fu_count) + fu_count - 1)[has_fu]]

    hist_at = _stage_times(rng, steps, created, start, end, first_fu, closed)
    last_entry = group_starts(steps + 1) + steps
    stage_changed = hist_at[last_entry]
    closed_at = np.where(closed, stage_changed, NO_TIME)

    team = np.where(assigned, _teams(rng, company, leads.sales_region[lead], line), -1)
    rep, other_rep = _pick_reps(rng, company, team, closed_at)
    other_rep = np.where(cycles > 0, other_rep, -1)

    intention = np.full(n, -1)
    for st, shares in INTENTION_SHARES.items():
        rows = np.flatnonzero((stage == st) & assigned & (rng.random(n) < 0.88))
        intention[rows] = rng.choice(len(INTENTION_LEVELS), size=len(rows), p=shares)
    owned = state == OWNED
    next_fu = np.where(owned & has_fu, last_fu + rng.integers(2 * HOUR, 6 * DAY, size=n), NO_TIME)
    protected = owned & (rng.random(n) < 0.04)
    return OpportunityPlan(
        first_id=first_id,
        lead=lead,
        line=line,
        created=created,
        stage=stage,
        state=state,
        template=template,
        team=team,
        rep=rep,
        other_rep=other_rep,
        recycle_count=recycle_count,
        cycles=cycles,
        dispatched=dispatched,
        start=start,
        recycled_at=recycled_at,
        closed_at=closed_at,
        stage_changed=stage_changed,
        first_fu=first_fu,
        last_fu=last_fu,
        next_fu=next_fu,
        intention=intention,
        lost_reason=np.where(
            stage == LOST, rng.choice(len(LOST_REASON_CODES), size=n, p=LOST_REASON_SHARES), -1
        ),
        unassigned_reason=np.where(
            state == UNASSIGNED,
            rng.choice(len(UNASSIGNED_REASONS), size=n, p=(0.5, 0.25, 0.15, 0.1)),
            -1,
        ),
        protected_until=np.where(protected, now + rng.integers(DAY, 14 * DAY, size=n), NO_TIME),
        locked=(owned & (rng.random(n) < 0.01)).astype(np.int64),
        fu_count=fu_count,
        fu_at=fu_at,
        hist_at=hist_at,
        amount=np.zeros(n, dtype=np.int64),
    )


def _teams(
    rng: np.random.Generator, company: Company, home_region: np.ndarray, line: np.ndarray
) -> np.ndarray:
    """A team of the opportunity's line, in the lead's home region 80% of the time."""
    n = len(line)
    away = rng.random(n) >= 0.8
    region = np.where(away, (home_region + 1 + rng.integers(0, 2, size=n)) % 3, home_region)
    index = {(t.region, t.line, k % 2): k for k, t in enumerate(company.teams)}
    lookup = np.array([[[index[r, b, k] for k in range(2)] for b in range(3)] for r in range(3)])
    return lookup[region, line, rng.integers(0, 2, size=n)]


def _stage_times(
    rng: np.random.Generator,
    steps: np.ndarray,
    created: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    first_fu: np.ndarray,
    closed: np.ndarray,
) -> np.ndarray:
    """Times of every stage-history entry: `new` at creation; the first change at the first
    follow-up; the rest spread up to the end of activity (exactly at it for closed ones,
    where the last entry is the close)."""
    n = len(steps)
    lead_change = (steps >= 1) & ~(closed & (steps == 1))
    rest = steps - lead_change
    rest_from = np.where(lead_change, first_fu, start)
    rest_group = np.repeat(np.arange(n), rest)
    fractions = sorted_fractions(rng, rest, closed)
    rest_at = _between(rest_from[rest_group], end[rest_group], fractions)

    entries = steps + 1
    group = np.repeat(np.arange(n), entries)
    position = np.arange(len(group)) - group_starts(entries)[group]
    at = np.empty(len(group), dtype=np.int64)
    at[position == 0] = created
    at[(position == 1) & lead_change[group]] = first_fu[lead_change]
    at[position >= 1 + lead_change[group]] = rest_at
    return strictly_increasing(at, entries)


def opportunity_rows(
    plan: OpportunityPlan, company: Company, lead_first_id: int
) -> Iterator[list[tuple]]:
    """The `opportunity` rows in chunks, columns as in OPPORTUNITY_COLUMNS."""
    rep_ids = np.array([r.id for r in company.reps], dtype=np.int64)
    team_ids = np.array([t.id for t in company.teams], dtype=np.int64)
    line_ids = np.array(company.line_ids, dtype=np.int64)
    for lo, hi in chunk_bounds(plan.n):
        s = slice(lo, hi)
        state = plan.state[s]
        holding = (state == OWNED) | (state == CLOSED)
        owner = np.where(holding, plan.rep[s], -1)
        amount = plan.amount[s].astype(object)
        amount[plan.amount[s] == 0] = None
        yield list(
            zip(
                range(plan.first_id + lo, plan.first_id + hi),
                (plan.lead[s] + lead_first_id).tolist(),
                line_ids[plan.line[s]].tolist(),
                ["new"] * (hi - lo),
                sql_ids(owner, rep_ids),
                sql_ids(np.where(state == UNASSIGNED, -1, plan.team[s]), team_ids),
                sql_codes(plan.stage[s], STAGES),
                sql_codes(plan.intention[s], INTENTION_LEVELS),
                sql_codes(state, POOL_STATES),
                sql_codes(plan.unassigned_reason[s], UNASSIGNED_REASONS),
                sql_times(np.where(holding, plan.start[s], NO_TIME)),
                sql_times(plan.first_fu[s]),
                sql_times(plan.last_fu[s]),
                sql_times(plan.next_fu[s]),
                sql_times(plan.stage_changed[s]),
                sql_times(plan.protected_until[s]),
                plan.locked[s].tolist(),
                sql_ints(plan.recycle_count[s]),
                [None if a is None else f"{a}.00" for a in amount.tolist()],
                sql_codes(plan.lost_reason[s], LOST_REASON_CODES),
                sql_times(plan.closed_at[s]),
                sql_times(plan.created[s]),
                strict=True,
            )
        )
