"""Jobs and the worker: one run of a job at a time, a failing run leaves nothing behind,
and the worker runs what is due."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, text
from sqlmodel import Session, select

from crm_core.circulation import dispatch, jobs
from crm_core.circulation.jobs import (
    HOLD_LIMIT,
    LEASE,
    LockHolder,
    default_holder,
    due_jobs,
    job_lock_key,
    run_job,
    sqlite_lock_row,
)
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.circulation.worker import run_due
from crm_core.models import FlowEvent, JobLock, JobRun, Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from db.engine import PROJECT_ROOT
from tests.factories import add_waiting_opportunities, build_small_company

# Jobs run in sessions of their own (and the worker command in a subprocess): they must see
# the test's rows, so these tests commit for real.
pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    save_rule(
        db,
        company.actor(db, "admin"),
        "dispatch",
        RuleDraft(
            name="All to A",
            org_unit_id=company.units["hq"].id,
            action={"target_unit_id": company.units["team_a"].id},
        ),
    )
    db.commit()
    add_waiting_opportunities(db, company, 5)
    yield company
    clock.reset()


def owned(db) -> int:
    return db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one()


def test_a_run_commits_its_work_and_is_recorded(db, company, engine):
    run = run_job(
        "dispatch", engine=engine, actor=company.actor(db, "bj_manager"), trigger="manual"
    )
    assert run.status == "done" and run.counts["assigned"] == 5
    stored = db.exec(select(JobRun)).one()
    assert (stored.job, stored.trigger, stored.actor_id) == (
        "dispatch",
        "manual",
        company.users["bj_manager"].id,
    )
    assert owned(db) == 5


def test_running_a_job_needs_the_permission(db, company, engine):
    with pytest.raises(PermissionDenied):
        run_job("recycle", engine=engine, actor=company.actor(db, "rep_a1"))


def test_a_second_run_while_the_first_holds_the_lock_does_nothing(db, company, engine):
    if engine.dialect.name == "postgresql":
        holder = Session(engine)
        holder.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=job_lock_key("dispatch")))
        try:
            run = run_job("dispatch", engine=engine)
        finally:
            holder.rollback()
            holder.close()
    else:
        with sqlite_lock_row(engine, "dispatch", "other-worker") as taken:
            assert taken
            run = run_job("dispatch", engine=engine, holder="this-worker")
    assert run.status == "busy" and owned(db) == 0
    assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


def test_a_dead_workers_sqlite_lock_expires(db, company, engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's lock ends with the session")
    with sqlite_lock_row(engine, "dispatch", "dead-worker"):
        clock.advance(timedelta(hours=1))
        assert run_job("dispatch", engine=engine, holder="live").status == "done"


def test_a_run_that_crashes_halfway_leaves_nothing_half_applied(db, company, engine, monkeypatch):
    def crash(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dispatch, "notify_reps", crash)  # after the opportunities were moved
    run = run_job("dispatch", engine=engine)
    assert run.status == "failed" and "disk full" in run.error
    assert owned(db) == 0
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0


def test_the_worker_runs_each_job_when_its_interval_has_passed(db, company, engine):
    assert [r.job for r in run_due(engine)] == [
        "dispatch",
        "recycle",
        "warnings",
        "renewals",
        "sms",
        "qa",
        "push",
    ]
    assert owned(db) == 5
    assert run_due(engine) == []
    clock.advance(timedelta(seconds=61))
    assert [r.job for r in run_due(engine)] == ["dispatch", "sms", "push"]
    clock.advance(timedelta(minutes=15))
    assert due_jobs(db, clock.now()) == ["dispatch", "recycle", "sms", "push"]


def test_two_workers_run_each_job_once_per_interval(db, company, engine):
    """Two workers' loops over one database, by turns and at the same moment: the schedule
    is the runs in the database, so neither runs what the other has just run."""

    def both_workers() -> list[str]:
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: run_due(engine), range(2)))
        return sorted(r.job for worker in runs for r in worker)

    assert [r.job for r in run_due(engine)] == [
        "dispatch",
        "recycle",
        "warnings",
        "renewals",
        "sms",
        "qa",
        "push",
    ]
    assert run_due(engine) == []  # the other worker, a moment later
    clock.advance(timedelta(seconds=30))
    assert both_workers() == []
    clock.advance(timedelta(seconds=31))
    assert both_workers() == ["dispatch", "push", "sms"]
    clock.advance(timedelta(minutes=15))
    assert both_workers() == ["dispatch", "push", "recycle", "sms"]
    assert run_due(engine) == []
    db.expire_all()
    recorded = db.exec(select(JobRun.job, JobRun.status)).all()
    assert Counter(recorded) == {
        ("dispatch", "done"): 3,
        ("recycle", "done"): 2,
        ("warnings", "done"): 1,
        ("renewals", "done"): 1,
        ("sms", "done"): 3,
        ("qa", "done"): 1,
        ("push", "done"): 3,
    }


def test_a_run_now_does_not_wait_for_the_schedule(db, company, engine):
    assert [r.job for r in run_due(engine)][:1] == ["dispatch"]
    assert run_job("dispatch", engine=engine, trigger="manual").status == "done"
    # ... and counts as the interval's run: the worker waits a full interval from it.
    clock.advance(timedelta(seconds=59))
    assert "dispatch" not in [r.job for r in run_due(engine)]


def test_the_worker_command_runs_once(db, company, database_url):
    result = subprocess.run(
        [sys.executable, "-m", "crm_core.circulation.worker", "--once", "--database", database_url],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CRM_DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr
    assert "dispatch: done" in result.stdout
    db.expire_all()
    assert owned(db) == 5


# --- the lock's holder: checked on this machine, a lease elsewhere ------------------------------

# A worker that stops at the start of its dispatch run (before any write, so SQLite's write
# lock stays free), says so, and goes on when a line arrives on stdin; then prints its run.
PAUSED_WORKER = """
import sys
from datetime import datetime
from crm_core.platform import clock
from crm_core.circulation import jobs
clock.freeze(datetime.fromisoformat(sys.argv[2]))  # the test's time
from crm_core.circulation.dispatch import dispatch_unassigned
from db.engine import build_engine

def paused(session, actor):
    print("mid-run", flush=True)
    sys.stdin.readline()
    return dispatch_unassigned(session, actor)

jobs.JOBS["dispatch"] = paused
run = jobs.run_job("dispatch", engine=build_engine(sys.argv[1]))
print(run.status, run.error, flush=True)
"""


def test_a_live_worker_on_this_host_keeps_its_lock_past_the_lease(
    db, company, engine, database_url
):
    worker = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WORKER, database_url, clock.now().isoformat()],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CRM_DATABASE_URL": database_url},
    )
    try:
        assert worker.stdout.readline().strip() == "mid-run"
        assert run_job("dispatch", engine=engine).status == "busy"
        clock.advance(LEASE * 5)  # a lease is for holders this host cannot check
        assert run_job("dispatch", engine=engine).status == "busy" and owned(db) == 0
        if engine.dialect.name == "sqlite":
            # Past HOLD_LIMIT even a live holder is taken over (it may have lost track of
            # its lock); the old run, when it goes on, must then commit nothing.
            clock.advance(HOLD_LIMIT)
            assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5
            out, _ = worker.communicate("go\n", timeout=60)
            assert out.strip().split(maxsplit=1) == [
                "failed",
                "Another worker took over this job's lock while the run was still working (its lease had run out), so nothing of this run was saved.",
            ]
            db.expire_all()
            assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 5
    finally:
        worker.kill()
        worker.wait()


def test_a_holder_whose_pid_now_names_another_process_is_dead(db, company, engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's")
    mine = LockHolder.parse(default_holder())
    # A live pid (this test's parent) on this machine, but not the process that took it.
    reused = replace(mine, pid=os.getppid(), started="-1").encode()  # no real start
    with sqlite_lock_row(engine, "dispatch", reused):
        assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


def test_a_holder_on_another_machine_keeps_its_lock_for_the_lease(db, company, engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's")
    # Our own pid, but on another machine (or another container's pid namespace).
    elsewhere = replace(LockHolder.parse(default_holder()), machine="0" * 12).encode()
    with sqlite_lock_row(engine, "dispatch", elsewhere):
        clock.advance(LEASE - timedelta(seconds=1))
        assert run_job("dispatch", engine=engine).status == "busy"
        clock.advance(timedelta(seconds=1))
        assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


def test_a_lock_this_process_lost_track_of_is_free_at_once(db, company, engine):
    """A release that failed leaves the row naming this process; no run of it holds it."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's")
    with Session(engine) as session:
        session.merge(
            JobLock(name="dispatch", holder=default_holder(), expires_at=clock.now() + LEASE)
        )
        session.commit()
    assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


def test_a_job_session_on_postgresql_probes_a_silent_worker(db, company, engine, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's keepalives")
    seen = {}

    def probe(session, actor):
        for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count"):
            seen[name] = session.exec(text(f"SHOW {name}")).scalar()
        return {}

    monkeypatch.setitem(jobs.JOBS, "dispatch", probe)
    assert run_job("dispatch", engine=engine).status == "done"
    # Over TCP (the suite connects to 127.0.0.1): dropped within about a minute.
    assert seen == {
        "tcp_keepalives_idle": "30",
        "tcp_keepalives_interval": "10",
        "tcp_keepalives_count": "3",
    }


def test_a_thread_reading_the_row_just_after_another_took_it_finds_it_held(db, company, engine):
    """Two threads of one process (two "run now" clicks in one console): the second reads the
    row the moment the first's take is committed, and must see a live holder, not a take
    this process lost track of."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's")
    with Session(engine) as session:
        session.merge(JobLock(name="sms"))
        session.commit()
    second: list[bool] = []

    def just_after_a_commit(session) -> None:
        if second:
            return
        second.append(False)  # its own commits come back here: look once
        with sqlite_lock_row(engine, "sms", default_holder()) as taken:
            second[0] = taken

    event.listen(Session, "after_commit", just_after_a_commit)
    try:
        with sqlite_lock_row(engine, "sms", default_holder()) as first:
            assert first
    finally:
        event.remove(Session, "after_commit", just_after_a_commit)
    assert second == [False]
