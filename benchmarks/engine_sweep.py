"""The recycle sweep beside people's writes: how long does a follow-up wait while the worker
sweeps the whole database?

`engine_recycle_max_writer_wait: <s> s`: the recycle job runs as the worker runs it
(`run_job("recycle")`: its lock, a commit per chunk) with the engine benchmark's four recycle
rules (`engine_setup`) and the clock RECYCLE_AHEAD after the real now, while another
connection logs a follow-up through the core (`log_follow_up`, as a rep, in its own
transaction) every WRITE_EVERY_S; the line is the longest any follow-up took from its start
to its commit. `engine_recycle_chunked: ours=.. plain_sql=.. ratio=..` puts the sweep's total
time beside the plain-SQL update of the same rows in one transaction (`plain_recycle`),
which runs with the same writer beside it: `engine_recycle_one_transaction_writer_wait`
says how long a follow-up waits behind that. `engine_recycle_chunked_recycled`: how many
opportunities the sweep took back (the plain side must move as many).

The sweep commits, so the benchmark puts the database back afterwards: the opportunities
the sweep moved from a copy of every owned opportunity's columns taken before, its flow
events, job runs and the writer's follow-ups deleted, the rules' switches as they were.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from benchmarks.common import BenchContext, report_ratio, report_value
from benchmarks.engine_plain import plain_recycle
from benchmarks.engine_setup import ensure_reps, ensure_rules, only_bench_rules
from crm_core.circulation.jobs import run_job
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up

RECYCLE_AHEAD = timedelta(days=3)
WRITE_EVERY_S = 0.05
# The columns a recycle changes, copied before the sweep and written back after it.
_KEPT = (
    "owner_id",
    "org_unit_id",
    "pool_state",
    "recycle_count",
    "assigned_at",
    "recycle_warned_at",
    "unassigned_reason",
)
_WRITER_KEPT = ("first_follow_up_at", "last_follow_up_at", "next_follow_up_at", "protected_until")


class FollowUpWriter:
    """A rep logging a follow-up on one of their opportunities every WRITE_EVERY_S, in a
    thread with its own connections, until stopped; remembers the longest write."""

    def __init__(self, ctx: BenchContext, rep_id: int, opportunity_id: int) -> None:
        self.ctx, self.rep_id, self.opportunity_id = ctx, rep_id, opportunity_id
        self.longest = 0.0
        self.writes = 0
        self.gave_up = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> FollowUpWriter:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            raise RuntimeError(f"the follow-up writer failed: {self.error!r}")

    def _loop(self) -> None:
        try:
            with Session(self.ctx.engine) as session:
                actor = load_actor(session, self.rep_id)
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    with Session(self.ctx.engine) as session:
                        log_follow_up(
                            session,
                            actor,
                            self.opportunity_id,
                            FollowUpInput(
                                channel="call",
                                content="benchmark",
                                next_follow_up_at=clock.now() + timedelta(days=1),
                            ),
                        )
                        session.commit()
                except OperationalError:
                    # SQLite gave up after its busy timeout (30 s): the write waited that long.
                    self.gave_up += 1
                took = time.perf_counter() - started
                self.longest = max(self.longest, took)
                self.writes += 1
                self._stop.wait(max(0.0, WRITE_EVERY_S - took))
        except BaseException as error:  # noqa: BLE001 - reported by __exit__
            self.error = error


def _scalar(session: Session, sql: str, **params):
    return session.execute(text(sql), params).scalar_one()


def _writer_target(session: Session) -> tuple[int, int]:
    """(rep, opportunity): an active rep's owned opportunity, protected for the run so that
    the sweep never takes it (its columns are put back afterwards)."""
    rep_id, opportunity_id = session.execute(
        text(
            "SELECT o.owner_id, o.id FROM opportunity o JOIN app_user u ON u.id = o.owner_id"
            " WHERE o.pool_state = 'owned' AND u.status = 'active' AND u.enabled"
            " ORDER BY o.id DESC LIMIT 1"
        )
    ).one()
    return rep_id, opportunity_id


def _marks(session: Session) -> dict[str, int]:
    return {
        table: _scalar(session, f"SELECT coalesce(max(id), 0) FROM {table}")
        for table in ("flow_event", "follow_up", "job_run")
    }


def _snapshot(session: Session, opportunity_id: int) -> tuple:
    """Copy what the run may change (committed), and the rules' switches."""
    session.execute(text("DROP TABLE IF EXISTS bench_sweep_kept"))
    columns = ", ".join(_KEPT)
    session.execute(
        text(
            "CREATE TABLE bench_sweep_kept (id bigint PRIMARY KEY,"
            " owner_id bigint, org_unit_id bigint, pool_state varchar(20), recycle_count"
            " integer, assigned_at timestamp, recycle_warned_at timestamp,"
            " unassigned_reason varchar(60))"
        )
    )
    session.execute(
        text(
            f"INSERT INTO bench_sweep_kept (id, {columns}) SELECT id, {columns}"
            " FROM opportunity WHERE pool_state = 'owned'"
        )
    )
    writer_row = session.execute(
        text(f"SELECT {', '.join(_WRITER_KEPT)} FROM opportunity WHERE id = :id"),
        {"id": opportunity_id},
    ).one()
    switches = session.execute(text("SELECT id, enabled FROM recycle_rule")).all()
    session.commit()
    return tuple(writer_row), [tuple(s) for s in switches]


def _restore(session: Session, marks: dict, opportunity_id: int, writer_row, switches) -> None:
    moved = "SELECT opportunity_id FROM flow_event WHERE id > :m AND reason = 'recycle'"
    sets = ", ".join(
        f"{c} = (SELECT k.{c} FROM bench_sweep_kept k WHERE k.id = opportunity.id)" for c in _KEPT
    )
    session.execute(
        text(f"UPDATE opportunity SET {sets} WHERE id IN ({moved})"), {"m": marks["flow_event"]}
    )
    for table in ("flow_event", "follow_up", "job_run"):
        session.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": marks[table]})
    session.execute(
        text(
            "UPDATE opportunity SET "
            + ", ".join(f"{c} = :{c}" for c in _WRITER_KEPT)
            + " WHERE id = :id"
        ),
        {**dict(zip(_WRITER_KEPT, writer_row, strict=True)), "id": opportunity_id},
    )
    for rule_id, enabled in switches:
        session.execute(
            text("UPDATE recycle_rule SET enabled = :e WHERE id = :id"),
            {"e": bool(enabled), "id": rule_id},
        )
    session.execute(text("DROP TABLE bench_sweep_kept"))
    session.commit()


def run(ctx: BenchContext) -> bool:
    with Session(ctx.engine) as session:
        ensure_reps(session)
        setup = ensure_rules(session)
        rep_id, opportunity_id = _writer_target(session)
        session.commit()
    clock.freeze(clock.now().replace(microsecond=0) + RECYCLE_AHEAD)
    try:
        with Session(ctx.engine) as session:
            writer_row, switches = _snapshot(session, opportunity_id)
            marks = _marks(session)
            session.execute(
                text("UPDATE opportunity SET protected_until = :until WHERE id = :id"),
                {"until": clock.now() + timedelta(days=365), "id": opportunity_id},
            )
            only_bench_rules(session, "recycle_rule")
            session.commit()
        try:
            # The plain update of the same rows in one transaction (rolled back), with the
            # writer beside it: what the sweep did before it went in chunks.
            with FollowUpWriter(ctx, rep_id, opportunity_id) as plain_writer:
                with Session(ctx.engine) as session:
                    started = time.perf_counter()
                    plain_moved = plain_recycle(session, setup.recycle, clock.now())
                    plain_s = time.perf_counter() - started
                    session.rollback()
            with FollowUpWriter(ctx, rep_id, opportunity_id) as writer:
                started = time.perf_counter()
                job = run_job("recycle", engine=ctx.engine)
                ours_s = time.perf_counter() - started
        finally:
            with Session(ctx.engine) as session:
                _restore(session, marks, opportunity_id, writer_row, switches)
    finally:
        clock.reset()
    if job is None or job.status != "done":
        raise RuntimeError(f"the recycle job did not finish: {job and job.error}")
    recycled = job.counts.get("recycled", 0)
    report_value("engine_recycle_max_writer_wait", writer.longest, "s")
    report_ratio("engine_recycle_chunked", ours_s, plain_s)
    report_value("engine_recycle_chunked_recycled", recycled, "opportunities")
    report_value("engine_recycle_one_transaction_writer_wait", plain_writer.longest, "s")
    print(
        f"engine_recycle_writes: {writer.writes} follow-ups during the sweep,"
        f" {plain_writer.writes} during the one-transaction update"
        f" ({plain_writer.gave_up} gave up waiting)",
        flush=True,
    )
    if recycled != plain_moved:
        raise RuntimeError(f"the sweep moved {recycled}, the plain update {plain_moved}")
    return writer.longest <= 1.0
