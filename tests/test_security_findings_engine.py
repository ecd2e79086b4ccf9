"""Regression tests of the security findings on the engine: the job lock (finding 8) and
phone masks (finding 9). Each failed on the code before its fix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, text, update
from sqlmodel import Session, select

from crm_core import clock, jobs
from crm_core.dispatch import dispatch_unassigned
from crm_core.jobs import job_lock_key, run_job, sqlite_lock_row
from crm_core.models import JobLock, Opportunity
from crm_core.rules import RuleDraft, save_rule
from db.engine import PROJECT_ROOT
from tests.factories import add_waiting_opportunities, build_small_company

# --- finding 8: one crashed worker must not stop the engine ------------------------------------


@pytest.fixture
def waiting(db):
    """The small company with a dispatch rule and five opportunities waiting for it."""
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    save_rule(db, company.actor(db, "admin"), "dispatch", RuleDraft(
        name="All to A", org_unit_id=company.units["hq"].id,
        action={"target_unit_id": company.units["team_a"].id}))  # fmt: skip
    db.commit()
    add_waiting_opportunities(db, company, 5)
    yield company
    clock.reset()


def owned(db) -> int:
    db.expire_all()
    return db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one()


# A worker whose dispatch run stops halfway: it has moved the opportunities inside its
# transaction (so on SQLite it holds the write lock as well as the job's lock), says so,
# and waits on stdin for ever - until the test kills it.
STUCK_WORKER = """
import sys
from crm_core import jobs
from crm_core.dispatch import dispatch_unassigned
from db.engine import build_engine

def stuck(session, actor):
    result = dispatch_unassigned(session, actor)
    session.flush()
    print("mid-run", flush=True)
    sys.stdin.readline()
    return result

jobs.JOBS["dispatch"] = stuck
jobs.run_job("dispatch", engine=build_engine(sys.argv[1]))
"""


def start_stuck_worker(database_url: str) -> subprocess.Popen:
    """A worker process in the middle of a dispatch run (it has printed `mid-run`)."""
    worker = subprocess.Popen(
        [sys.executable, "-c", STUCK_WORKER, database_url],
        cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "CRM_DATABASE_URL": database_url},
    )  # fmt: skip
    assert worker.stdout.readline().strip() == "mid-run"
    return worker


def wait_for_advisory_lock(engine, job: str) -> None:
    """On PostgreSQL, block (no polling) until the killed worker's server session has ended
    and its advisory lock with it; at most five seconds."""
    with Session(engine) as session:
        session.exec(text("SET LOCAL lock_timeout = '5s'"))
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=job_lock_key(job)))
        session.rollback()


def test_finding_8_a_worker_killed_mid_run_does_not_block_the_next_run(db, waiting, engine,
                                                                      database_url):  # fmt: skip
    worker = start_stuck_worker(database_url)
    try:
        killed_at = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if engine.dialect.name == "postgresql":
        wait_for_advisory_lock(engine, "dispatch")
    # The core clock has not moved: no lease had to run out.
    run = run_job("dispatch", engine=engine)
    assert run.status == "done", run.error
    assert time.monotonic() - killed_at < 5
    assert run.counts["assigned"] == 5 and owned(db) == 5  # the dead run left nothing behind


def test_finding_8_two_runs_in_one_process_never_share_the_lock(db, waiting, engine):
    """The app serves every browser session from one process: two "run now" clicks at once
    must not both run because they share a host and a pid."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's advisory lock is per session")
    with sqlite_lock_row(engine, "dispatch", jobs.default_holder()) as taken:
        assert taken
        clock.advance(timedelta(minutes=10))  # past any lease: this process is alive
        assert run_job("dispatch", engine=engine).status == "busy" and owned(db) == 0
    assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


def test_finding_8_a_lock_from_a_worker_on_another_host_lapses_after_a_short_lease(db, waiting,
                                                                                  engine):  # fmt: skip
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's advisory lock ends with the session")
    # "host:pid" of a worker elsewhere: this host cannot tell whether it is still alive.
    with sqlite_lock_row(engine, "dispatch", "crm-worker-2.internal:4242") as taken:
        assert taken
        clock.advance(timedelta(minutes=1))
        assert run_job("dispatch", engine=engine).status == "busy" and owned(db) == 0
        clock.advance(timedelta(minutes=4))
        assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


def test_finding_8_a_run_whose_lock_was_taken_over_commits_nothing(db, waiting, engine,
                                                                  monkeypatch):  # fmt: skip
    """A short lease means a slow run may see its lock taken by another host's worker; the
    slow run must then not commit on top of the new holder's run."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's advisory lock cannot be taken over")

    def overtaken(session, actor):
        # While this run works, its lease lapses and a worker on another host takes the lock.
        with Session(engine) as other:
            other.exec(
                update(JobLock)
                .where(JobLock.name == "dispatch")
                .values(holder="crm-worker-2.internal:4242",
                        expires_at=clock.now() + timedelta(minutes=2))
            )  # fmt: skip
            other.commit()
        return dispatch_unassigned(session, actor)

    monkeypatch.setitem(jobs.JOBS, "dispatch", overtaken)
    run = run_job("dispatch", engine=engine)
    assert run.status == "failed" and run.error == "job.error.lock_lost"
    assert owned(db) == 0
    # The new holder's lock is left alone.
    db.expire_all()
    assert db.get(JobLock, "dispatch").holder == "crm-worker-2.internal:4242"
