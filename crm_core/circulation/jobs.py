"""Scheduled jobs (dispatch, recycling, warnings, renewals, SMS, QA sampling): run by the worker on the
schedule the job runs in the database make, or by a "run now" button, one run of each at a
time (the lock: `crm_core.circulation.job_locks`).

A job runs in transactions of its own. A short job is one transaction: it commits whole or
not at all. The engine's long jobs (dispatch, the recycle sweep, warnings) run in whole
chunks (`crm_core.circulation.chunks`): the run commits after each chunk, so a crash
between chunks leaves only whole chunks, and nobody's write waits behind a whole sweep.
Every run, refused or not, is recorded in `job_run`; the worker's schedule is read from
those records, so however many workers run, a job runs once per interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm_core.circulation.dispatch import dispatch_in_chunks
from crm_core.circulation.job_locks import (  # noqa: F401 - the lock's names, as before
    HOLD_LIMIT,
    LEASE,
    LockHolder,
    advisory_lock,
    default_holder,
    holder_is_alive,
    job_lock_key,
    lock_is_free,
    sqlite_lock_row,
    still_holding,
)
from crm_core.circulation.recycle import sweep_idle_opportunities, warn_in_chunks
from crm_core.circulation.recycle_teams import warn_team_managers
from crm_core.circulation.renewals import open_due_renewals
from crm_core.commerce.instalments import notify_overdue
from crm_core.models import JOB_NAMES, JobRun
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting
from crm_core.qa.schedule import run_weekly_plans
from crm_core.sales.follow_up_reminders import notify_overdue_follow_ups
from crm_core.sms.jobs import run_sms
from crm_core.work_chat.delivery import run_push

# A job: a function of (session, actor) that returns its result, or a chunked entry point
# (a generator: the run commits at each yield, see `chunks`).
JOBS: dict[str, Callable[[Session, Actor], object]] = {
    "dispatch": lambda session, actor: dispatch_in_chunks(session, actor),
    "recycle": lambda session, actor: sweep_idle_opportunities(session, actor),
    "warnings": lambda session, actor: _warned(session, actor, warn_in_chunks(session, actor)),
    "renewals": lambda session, actor: open_due_renewals(session, actor),
    "sms": lambda session, actor: run_sms(session, actor),
    "qa": lambda session, actor: run_weekly_plans(session, actor),
    "push": lambda session, actor: run_push(session, actor),
}
INTERVAL_SETTINGS = {
    "dispatch": ("worker.dispatch_seconds", 1),
    "recycle": ("worker.recycle_minutes", 60),
    "warnings": ("worker.warning_minutes", 60),
    "renewals": ("worker.renewal_minutes", 60),
    "sms": ("worker.sms_seconds", 1),
    "qa": ("worker.qa_minutes", 60),
    "push": ("worker.push_seconds", 1),
}
# On SQLite, a pause after each chunk's commit: a writer waiting for the database's write
# lock polls for it every 100 ms at worst, and must find it free at least once between two
# chunks. (PostgreSQL queues lock waiters: the next chunk's lock waits behind them.)
SQLITE_CHUNK_PAUSE_S = 0.11

LOCK_LOST = N_(
    "Another worker took over this job's lock while the run was still working (its lease had run out), so nothing of this run was saved."
)
LOCK_LOST_AFTER_CHUNKS = N_(
    "Another worker took over this job's lock while the run was still working (its lease had run out): the run stopped, and only the whole chunks it had saved before are kept."
)


def _warned(
    session: Session, actor: Actor, chunks: Generator[int, None, int]
) -> Generator[dict, None, dict]:
    """The warnings' chunks, with their count named for the run's record; then the
    managers of teams about to lose many opportunities at once (`recycle_teams`) and the
    owners of newly overdue instalments (`instalments.notify_overdue`) and of planned
    follow-ups that came due (`follow_up_reminders`), as the last chunk."""
    while True:
        try:
            warned = next(chunks)
        except StopIteration as stop:
            warned = stop.value
            break
        yield {"warned": warned}
    told = warn_team_managers(session, actor)
    overdue = notify_overdue(session, actor)
    follow_ups = notify_overdue_follow_ups(session, actor)
    counts = {
        "warned": warned,
        "managers_told": told,
        "instalments_overdue": overdue,
        "follow_ups_overdue": follow_ups,
    }
    yield counts
    return counts


def _summary(result: object) -> dict:
    data = asdict(result) if is_dataclass(result) else dict(result or {})
    return {k: v for k, v in data.items() if isinstance(v, int | float) and k != "dry_run"}


def _record(engine: Engine, run: JobRun) -> JobRun:
    with Session(engine, expire_on_commit=False) as session:
        session.add(run)
        session.commit()
    return run


def run_job(
    job: str,
    *,
    actor: Actor | None = None,
    trigger: str = "worker",
    engine: Engine | None = None,
    holder: str | None = None,
    only_if_due: bool = False,
) -> JobRun | None:
    """Run `job` now, unless another run holds its lock (then the returned run says `busy`
    and nothing was done). Failures roll back (a chunked job: the chunk that failed) and are
    recorded. `only_if_due` (the worker): once the lock is held, run only if no run of the
    job started within its interval, else return None and record nothing - so two workers
    that both found the job due run it once."""
    if job not in JOBS:
        raise ValidationError(N_("Unknown job: {job}."), job=job)
    actor = actor or Actor.system()
    actor.require(Permission.RUN_JOBS)
    if engine is None:
        from crm_core.platform.database import get_engine

        engine = get_engine()
    holder = holder or default_holder()
    run = JobRun(
        job=job, trigger=trigger, actor_id=actor.user_id, status="busy", started_at=clock.now()
    )
    with _job_lock(engine, job, holder) as bind:
        if bind is not None:
            if only_if_due and not _is_due(bind, job, run.started_at):
                return None
            _run_locked(bind, job, actor, run, holder)
            # Recorded while the lock is held: the next taker's `_is_due` sees this run.
            run.finished_at = clock.now()
            return _record(engine, run)
    if only_if_due:
        return None  # another worker is running it: its run is the one of this interval
    run.finished_at = clock.now()
    return _record(engine, run)


@contextmanager
def _job_lock(engine: Engine, job: str, holder: str) -> Iterator[Engine | Connection | None]:
    """Hold the job's lock for the block; yields what the run's sessions bind to (the
    lock's own connection on PostgreSQL), or None when another run holds it."""
    if engine.dialect.name == "postgresql":
        with advisory_lock(engine, job) as connection:
            yield connection
    else:
        with sqlite_lock_row(engine, job, holder) as taken:
            yield engine if taken else None


def _is_due(bind: Engine | Connection, job: str, now: datetime) -> bool:
    with Session(bind) as session:
        return job in due_jobs(session, now, only=(job,))


def _run_locked(
    bind: Engine | Connection, job: str, actor: Actor, run: JobRun, holder: str
) -> None:
    """Run the job in `bind`'s transactions: a plain job in one, a chunked one committing
    after each chunk. On SQLite each commit first proves the lock is still this run's."""
    sqlite = bind.dialect.name == "sqlite"
    saved = None  # the result as of the last commit
    with Session(bind, expire_on_commit=False) as session:
        try:
            work = JOBS[job](session, actor)
            chunks = work if isinstance(work, Generator) else None
            while chunks is not None:
                try:
                    result = next(chunks)
                except StopIteration as stop:
                    work = stop.value
                    break
                if sqlite and not still_holding(session, job, holder):
                    _lock_lost(session, run, saved)
                    return
                session.commit()
                saved = result
                if sqlite:
                    time.sleep(SQLITE_CHUNK_PAUSE_S)
            if sqlite and not still_holding(session, job, holder):
                # Another worker took the lock after this run's lease lapsed: its run counts.
                _lock_lost(session, run, saved)
                return
            session.commit()
            run.status = "done"
            run.counts = _summary(work)
        except Exception as error:  # noqa: BLE001 - any failure is recorded, nothing kept
            session.rollback()
            run.status = "failed"
            run.error = (error.key if isinstance(error, CrmError) else repr(error))[:400]
            if saved is not None:
                run.counts = _summary(saved)  # what the whole chunks before it saved


def _lock_lost(session: Session, run: JobRun, saved: object) -> None:
    session.rollback()
    run.status = "failed"
    run.error = LOCK_LOST if saved is None else LOCK_LOST_AFTER_CHUNKS
    if saved is not None:
        run.counts = _summary(saved)


def last_runs(session: Session, actor: Actor, limit: int = 20) -> list[JobRun]:
    """The newest job runs, for the page that shows the engine's health."""
    actor.require(Permission.RUN_JOBS)
    return list(
        session.exec(
            select(JobRun)
            .order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
            .limit(limit)
        ).all()
    )


def job_interval(session: Session, job: str) -> timedelta:
    """How often the worker runs `job` (its `worker.*` setting)."""
    key, seconds_per_unit = INTERVAL_SETTINGS[job]
    return timedelta(seconds=get_setting(session, key) * seconds_per_unit)


def due_jobs(session: Session, now: datetime, only: tuple[str, ...] = JOB_NAMES) -> list[str]:
    """Jobs whose interval has passed since a run of them last started, by the runs
    recorded in the database (a run refused as busy did no work and does not count): the
    same answer for every worker."""
    last = dict(
        session.exec(
            select(JobRun.job, func.max(JobRun.started_at))
            .where(col(JobRun.job).in_(only), JobRun.status != "busy")
            .group_by(JobRun.job)
        ).all()
    )
    return [
        job
        for job in only
        if last.get(job) is None or now - last[job] >= job_interval(session, job)
    ]
