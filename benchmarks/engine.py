"""The circulation engine at scale (the issue asks for 1,000,000 opportunities and 2,000
reps): dispatch, the recycle sweep and concurrent claims, each beside the same work done as
plain SQL on the same database in the same run.

Setup (once, idempotent; `engine_setup`): the seed's active reps are topped up to 2,000
with `bench_rep_NNNN` accounts spread over the seeded teams (daily cap 40-70, holding cap
50-100: a rep's room is 40-70), and the benchmark's rules are stored disabled: one
round-robin dispatch rule per department (by business line and channel; English imports
match none), and four recycle rules (no first follow-up in 48 hours -> public pool; no
follow-up for 7 days -> redispatch, trial_booked and later and intention A exempt; English
with no stage progress for 21 days -> pool; the first region's opportunities not won in 60
days -> pool, intention A exempt; all go dormant on the 3rd recycle).

Every timed run is its own transaction, set up untimed (only the benchmark's rules on, the
opportunities to work prepared, the opportunity write lock taken) and rolled back
afterwards, so runs leave the data alone; ours and plain alternate, one warm-up each,
median of `repeat` runs. Each pair of runs must write the same flow events (same count and
checksums of opportunity, rep and state), or the run stops. The core clock is frozen
during the run (dispatch: the real now; recycle: RECYCLE_AHEAD later) and reset after.

`engine_dispatch_100k`: 100,000 opportunities (a tenth of the database when smaller) made
waiting: the newest open ones that no rep lost within the rules' 30 no-return days; other
waiting ones locked. The receivers are the holders of `receive_dispatch` in the
departments: the 2,000 reps and the 18 team leads. `dispatch_unassigned(limit=100_000)` as
the system, against `engine_plain.plain_dispatch`; `engine_dispatch_100k_assigned` says how
many got a rep (the rest wait with no_room or no_rule).

`engine_recycle_sweep`: `recycle_idle_opportunities` with the clock frozen
RECYCLE_AHEAD after the real now, against `engine_plain.plain_recycle`.
`engine_recycle_sweep_recycled` says how many were taken back.

`engine_claims_50` (`engine_claims`): 50 bench reps of one department claim one public
opportunity of their line at once; prints the winners (must be exactly 1, the owner, with
one claim flow event; otherwise the process exits non-zero) and the wall time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import DateTime, bindparam, text
from sqlmodel import Session

from benchmarks.common import BenchContext, report_ratio, report_value
from benchmarks.engine_claims import run_claims
from benchmarks.engine_plain import hold_writes, plain_dispatch, plain_recycle
from benchmarks.engine_setup import Setup, ensure_reps, ensure_rules, only_bench_rules
from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.recycle import recycle_idle_opportunities
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import local_day_start

WAITING = 100_000
NO_RETURN = timedelta(days=30)  # the dispatch rules' no_return_days (the default)
RECYCLE_AHEAD = timedelta(days=3)


def _mark(session: Session) -> int:
    return session.execute(text("SELECT coalesce(max(id), 0) FROM flow_event")).scalar_one()


def _written(session: Session, mark: int) -> tuple[int, int, int]:
    """The flow events a run wrote: how many, and two checksums of who and what."""
    return tuple(
        session.execute(
            text(
                "SELECT count(*), coalesce(sum((opportunity_id % 997) * coalesce(to_owner_id,"
                " from_owner_id, 0)), 0), coalesce(sum(length(to_state) * (opportunity_id % 101)), 0)"
                " FROM flow_event WHERE id > :m"
            ),
            {"m": mark},
        ).one()
    )


def compare(
    ctx: BenchContext,
    prepare: Callable[[Session], None],
    ours: Callable[[Session], object],
    plain: Callable[[Session], object],
    repeat: int = 3,
) -> tuple[float, float, object]:
    """(ours, plain) median seconds after one warm-up each, and ours' last outcome. Each
    run: a transaction, `prepare` untimed, the work timed, what it wrote read, rollback."""
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    outcome = None
    for turn in range(repeat + 1):
        written = {}
        pair = (("ours", ours), ("plain", plain))
        for label, work in pair if turn % 2 == 0 else pair[::-1]:
            with Session(ctx.engine) as session:
                prepare(session)
                # The write lock both sides take first is taken here already, untimed: on
                # PostgreSQL it may wait up to deadlock_timeout (1 s) for autovacuum, which
                # the runs' rolled-back rows keep calling, to be cancelled.
                hold_writes(session)
                mark = _mark(session)
                started = time.perf_counter()
                result = work(session)
                elapsed = time.perf_counter() - started
                written[label] = _written(session, mark)
                session.rollback()
            if turn:
                times[label].append(elapsed)
            if label == "ours":
                outcome = result
        if written["ours"] != written["plain"]:
            raise RuntimeError(f"ours and plain wrote different flow events: {written}")
    return statistics.median(times["ours"]), statistics.median(times["plain"]), outcome


# The newest `n` open opportunities that no rep lost since `since`.
_CHOSEN = (
    "SELECT id FROM opportunity o WHERE pool_state <> 'closed' AND NOT EXISTS"
    " (SELECT 1 FROM flow_event f WHERE f.opportunity_id = o.id"
    " AND f.from_owner_id IS NOT NULL AND f.at >= :since) ORDER BY id DESC LIMIT :n"
)


def run_dispatch(ctx: BenchContext, setup: Setup) -> None:
    now = clock.now()
    with Session(ctx.engine) as session:
        day_start = local_day_start(session, now)
    waiting = min(WAITING, ctx.opportunities // 10)
    since = now - NO_RETURN
    params = {"since": since, "n": waiting}

    def prepare(session: Session) -> None:
        only_bench_rules(session, "dispatch_rule")
        session.execute(
            text(
                "UPDATE opportunity SET locked = true WHERE pool_state = 'unassigned'"
                f" AND locked = false AND id NOT IN ({_CHOSEN})"
            ).bindparams(bindparam("since", type_=DateTime())),
            params,
        )
        session.execute(
            text(
                "UPDATE opportunity SET owner_id = NULL, org_unit_id = NULL,"
                " pool_state = 'unassigned', locked = false, assigned_at = NULL,"
                f" unassigned_reason = NULL, recycle_warned_at = NULL WHERE id IN ({_CHOSEN})"
            ).bindparams(bindparam("since", type_=DateTime())),
            params,
        )

    def ours(session: Session):
        return dispatch_unassigned(session, Actor.system(), limit=waiting)

    def plain(session: Session):
        done = plain_dispatch(session, setup.dispatch, now, day_start, waiting, since)
        if done["losers"]:  # the hand-written round-robin does not skip anyone
            raise RuntimeError(f"{done['losers']} recent losers among the waiting")
        return done

    ours_s, plain_s, result = compare(ctx, prepare, ours, plain)
    report_ratio("engine_dispatch_100k", ours_s, plain_s)
    report_value("engine_dispatch_100k_assigned", result.assigned, "opportunities")


def run_recycle(ctx: BenchContext, setup: Setup) -> None:
    now = clock.now()

    def prepare(session: Session) -> None:
        only_bench_rules(session, "recycle_rule")

    def ours(session: Session):
        return recycle_idle_opportunities(session, Actor.system())

    def plain(session: Session):
        return plain_recycle(session, setup.recycle, now)

    ours_s, plain_s, result = compare(ctx, prepare, ours, plain)
    report_ratio("engine_recycle_sweep", ours_s, plain_s)
    report_value("engine_recycle_sweep_recycled", result.recycled, "opportunities")


def run(ctx: BenchContext) -> bool:
    with Session(ctx.engine) as session:
        ensure_reps(session)
        setup = ensure_rules(session)
    try:
        clock.freeze(clock.now().replace(microsecond=0))
        run_dispatch(ctx, setup)
        clock.freeze(clock.now() + RECYCLE_AHEAD)
        run_recycle(ctx, setup)
    finally:
        clock.reset()
    ok = run_claims(ctx, setup.departments[0])
    if not ok:
        print("engine_claims_50: not exactly one clean winner", file=sys.stderr)
    return ok
