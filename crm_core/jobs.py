"""Scheduled jobs (dispatch, recycling, warnings, renewals) and the lock that keeps one run of each
at a time, whether the worker or a "run now" button starts it.

A job runs in one transaction of its own: it commits whole or not at all, so a crash
halfway leaves nothing half-applied. Its lock is a PostgreSQL advisory lock held by that
transaction, or on SQLite a lock row with a holder and an expiry (a worker that died
releases it by expiring). Every run, refused or not, is recorded in `job_run`.
"""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from crm_core import clock
from crm_core.access import Actor
from crm_core.dispatch import dispatch_unassigned
from crm_core.errors import CrmError, ValidationError
from crm_core.models import JOB_NAMES, JobLock, JobRun
from crm_core.permissions import Permission
from crm_core.recycle import recycle_idle_opportunities, warn_recycles
from crm_core.renewals import open_due_renewals
from crm_core.settings import get_setting

LOCK_MINUTES = 30  # longer than any run; a dead holder's lock is free after this

JOBS: dict[str, Callable[[Session, Actor], object]] = {
    "dispatch": lambda session, actor: dispatch_unassigned(session, actor),
    "recycle": lambda session, actor: recycle_idle_opportunities(session, actor),
    "warnings": lambda session, actor: {"warned": warn_recycles(session, actor)},
    "renewals": lambda session, actor: open_due_renewals(session, actor),
}
INTERVAL_SETTINGS = {
    "dispatch": ("worker.dispatch_seconds", 1),
    "recycle": ("worker.recycle_minutes", 60),
    "warnings": ("worker.warning_minutes", 60),
    "renewals": ("worker.renewal_minutes", 60),
}


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _summary(result: object) -> dict:
    data = asdict(result) if is_dataclass(result) else dict(result or {})
    return {k: v for k, v in data.items() if isinstance(v, int | float) and k != "dry_run"}


def job_lock_key(job: str) -> int:
    return zlib.crc32(f"crm-job:{job}".encode()) & 0x7FFFFFFF


@contextmanager
def sqlite_lock_row(engine: Engine, job: str, holder: str) -> Iterator[bool]:
    """Take the job's lock row for `holder` (yields whether it was free) and give it back."""
    now = clock.now()
    with Session(engine) as session:
        if session.get(JobLock, job) is None:
            session.add(JobLock(name=job))
            session.commit()
        taken = session.exec(
            update(JobLock)
            .where(
                JobLock.name == job,
                or_(
                    col(JobLock.holder).is_(None),
                    JobLock.expires_at < now,
                    JobLock.holder == holder,
                ),
            )  # fmt: skip
            .values(holder=holder, expires_at=now + timedelta(minutes=LOCK_MINUTES))
        ).rowcount
        session.commit()
    try:
        yield taken == 1
    finally:
        if taken == 1:
            with Session(engine) as session:
                session.exec(
                    update(JobLock)
                    .where(JobLock.name == job, JobLock.holder == holder)
                    .values(holder=None, expires_at=None)
                )
                session.commit()


def _advisory_lock(session: Session, job: str) -> bool:
    return bool(
        session.exec(
            text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=job_lock_key(job))
        ).scalar()
    )


def _record(engine: Engine, run: JobRun) -> JobRun:
    with Session(engine, expire_on_commit=False) as session:
        session.add(run)
        session.commit()
    return run


def run_job(job: str, *, actor: Actor | None = None, trigger: str = "worker",
            engine: Engine | None = None, holder: str | None = None) -> JobRun:  # fmt: skip
    """Run `job` now in its own transaction, unless another run holds its lock (then the
    returned run says `busy` and nothing was done). Failures roll back and are recorded."""
    if job not in JOBS:
        raise ValidationError("job.error.unknown", job=job)
    actor = actor or Actor.system()
    actor.require(Permission.RUN_JOBS)
    if engine is None:
        from db.engine import get_engine  # noqa: PLC0415 - the core reaches the engine lazily

        engine = get_engine()
    holder = holder or default_holder()
    run = JobRun(job=job, trigger=trigger, actor_id=actor.user_id, status="busy",
                 started_at=clock.now())  # fmt: skip
    if engine.dialect.name == "postgresql":
        lock = _nothing()
    else:
        lock = sqlite_lock_row(engine, job, holder)
    with lock as free:
        if free:
            _run_locked(engine, job, actor, run)
    run.finished_at = clock.now()
    return _record(engine, run)


@contextmanager
def _nothing() -> Iterator[bool]:
    yield True


def _run_locked(engine: Engine, job: str, actor: Actor, run: JobRun) -> None:
    with Session(engine, expire_on_commit=False) as session:
        try:
            if engine.dialect.name == "postgresql" and not _advisory_lock(session, job):
                session.rollback()
                return
            result = JOBS[job](session, actor)
            session.commit()
            run.status = "done"
            run.counts = _summary(result)
        except Exception as error:  # noqa: BLE001 - any failure is recorded, nothing kept
            session.rollback()
            run.status = "failed"
            run.error = (error.key if isinstance(error, CrmError) else repr(error))[:400]


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


def due_jobs(session: Session, last_started: dict[str, datetime], now: datetime) -> list[str]:
    """Jobs whose interval (settings `worker.*`) has passed since this worker last ran them."""
    due = []
    for job in JOB_NAMES:
        key, seconds_per_unit = INTERVAL_SETTINGS[job]
        interval = timedelta(seconds=get_setting(session, key) * seconds_per_unit)
        started = last_started.get(job)
        if started is None or now - started >= interval:
            due.append(job)
    return due
