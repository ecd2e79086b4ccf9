"""50 reps claim the same public opportunity at once, each in its own session and thread,
released together by a barrier; exactly one may win and nothing may be lost. The claim is
undone afterwards (the opportunity put back as it was, its claim flow event deleted)."""

from __future__ import annotations

import sys
import threading
import time

from sqlalchemy import text
from sqlmodel import Session

from benchmarks.common import BenchContext, report_value
from crm_core.circulation.pool import claim_from_pool
from crm_core.org.access import load_actor
from crm_core.platform.errors import CrmError
from db.engine import build_engine

CLAIMERS = 50
_RESTORED = (
    "owner_id",
    "org_unit_id",
    "pool_state",
    "assigned_at",
    "unassigned_reason",
    "recycle_warned_at",
    "locked",
)


def _claimers_engine(ctx: BenchContext):
    """One connection per claimer, all open before the barrier: the app's pool holds fewer
    than 50 (5 + 10 on SQLite, 10 + 20 on PostgreSQL), which would queue the claims."""
    return build_engine(ctx.url, pooled=False)


def _pick(session: Session, department: tuple[int, str, int]) -> tuple[int, dict, list[int]]:
    """A public opportunity of the department's line that its reps see, what to restore it
    to, and 50 bench reps of the department's teams."""
    unit_id, path, line_id = department
    reps = [
        row[0]
        for row in session.execute(
            text(
                "SELECT u.id FROM app_user u JOIN org_unit ou ON ou.id = u.org_unit_id"
                " WHERE u.username LIKE 'bench_rep_%' AND u.status = 'active' AND ou.path LIKE :p"
                " ORDER BY u.id LIMIT :n"
            ),
            {"p": f"{path}%", "n": CLAIMERS},
        )
    ]
    if len(reps) < CLAIMERS:
        raise RuntimeError(f"only {len(reps)} bench reps under {path}")
    cols = ", ".join(_RESTORED)
    row = session.execute(
        text(
            f"SELECT id, {cols} FROM opportunity WHERE pool_state = 'public' AND NOT locked"
            " AND business_line_id = :line AND (org_unit_id IS NULL OR org_unit_id = :unit)"
            " ORDER BY id LIMIT 1"
        ),
        {"line": line_id, "unit": unit_id},
    ).first()
    if row is None:  # none in reach: make one public, to be put back afterwards
        row = session.execute(
            text(
                f"SELECT id, {cols} FROM opportunity WHERE pool_state <> 'closed'"
                " AND business_line_id = :line ORDER BY id LIMIT 1"
            ),
            {"line": line_id},
        ).one()
        session.execute(
            text(
                "UPDATE opportunity SET owner_id = NULL, org_unit_id = :unit, pool_state = 'public',"
                " locked = false WHERE id = :id"
            ),
            {"unit": unit_id, "id": row[0]},
        )
    return row[0], dict(zip(_RESTORED, row[1:], strict=True)), reps


def run_claims(ctx: BenchContext, department: tuple[int, str, int]) -> bool:
    """Print the winners and the wall time; False when it was not exactly one clean win."""
    with Session(ctx.engine) as session:
        opp_id, before, reps = _pick(session, department)
        mark = session.execute(text("SELECT coalesce(max(id), 0) FROM flow_event")).scalar_one()
        session.commit()
    engine = _claimers_engine(ctx)
    barrier = threading.Barrier(CLAIMERS + 1)
    outcomes: dict[int, str] = {}

    def claim(rep_id: int) -> None:
        with Session(engine) as s:
            actor = load_actor(s, rep_id)  # connected and ready before the barrier
            barrier.wait()
            try:
                result = claim_from_pool(s, actor, [opp_id])
                s.commit()
                outcomes[rep_id] = "won" if result.claimed == [opp_id] else "taken"
            except CrmError as exc:
                s.rollback()
                outcomes[rep_id] = f"refused {exc.key}"
            except Exception as exc:  # noqa: BLE001 - a refusal, but not a clean one
                s.rollback()
                outcomes[rep_id] = f"error {type(exc).__name__}: {exc}".splitlines()[0]

    threads = [threading.Thread(target=claim, args=(rep,)) for rep in reps]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()

    winners = [rep for rep, outcome in outcomes.items() if outcome == "won"]
    with Session(ctx.engine) as session:
        owner = session.execute(
            text("SELECT owner_id FROM opportunity WHERE id = :id"), {"id": opp_id}
        ).scalar_one()
        events = session.execute(
            text(
                "SELECT count(*) FROM flow_event WHERE id > :m AND opportunity_id = :id"
                " AND reason = 'claim'"
            ),
            {"m": mark, "id": opp_id},
        ).scalar_one()
        # Undo: the opportunity as it was, the claim's flow events gone.
        session.execute(
            text(
                f"UPDATE opportunity SET {', '.join(f'{c} = :{c}' for c in _RESTORED)}"
                " WHERE id = :id"
            ),
            {**before, "id": opp_id},
        )
        session.execute(
            text("DELETE FROM flow_event WHERE id > :m AND opportunity_id = :id"),
            {"m": mark, "id": opp_id},
        )
        session.commit()
    report_value("engine_claims_50_winners", len(winners), "winners")
    report_value("engine_claims_50", elapsed, "s")
    ok = len(winners) == 1 and owner == winners[0] and events == 1 and len(outcomes) == CLAIMERS
    unclean = sorted({o for o in outcomes.values() if o.startswith("error")})
    if not ok or unclean:
        print(
            f"engine_claims_50: winners={winners} owner={owner} claim_events={events}"
            f" outcomes={len(outcomes)} unclean={unclean}",
            file=sys.stderr,
        )
    return ok
