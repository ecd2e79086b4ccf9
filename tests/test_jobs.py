"""Jobs and the worker: one run of a job at a time, a failing run leaves nothing behind,
and the worker runs what is due."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from crm_core import clock, dispatch
from crm_core.errors import PermissionDenied
from crm_core.jobs import due_jobs, job_lock_key, run_job, sqlite_lock_row
from crm_core.models import FlowEvent, JobRun, Opportunity
from crm_core.rules import RuleDraft, save_rule
from crm_core.worker import run_due
from db.engine import PROJECT_ROOT
from tests.factories import add_waiting_opportunities, build_small_company


@pytest.fixture
def company(db):
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
    return db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one()


def test_a_run_commits_its_work_and_is_recorded(db, company, engine):
    run = run_job("dispatch", engine=engine, actor=company.actor(db, "bj_manager"),
                  trigger="manual")  # fmt: skip
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
        holder.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(
            k=job_lock_key("dispatch")))  # fmt: skip
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


def test_a_run_that_crashes_halfway_leaves_nothing_half_applied(db, company, engine,
                                                                 monkeypatch):  # fmt: skip
    def crash(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dispatch, "notify_reps", crash)  # after the opportunities were moved
    run = run_job("dispatch", engine=engine)
    assert run.status == "failed" and "disk full" in run.error
    assert owned(db) == 0
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0


def test_the_worker_runs_each_job_when_its_interval_has_passed(db, company, engine):
    last: dict = {}
    assert [r.job for r in run_due(engine, last)] == [
        "dispatch", "recycle", "warnings", "renewals",
    ]  # fmt: skip
    assert owned(db) == 5
    assert run_due(engine, last) == []
    clock.advance(timedelta(seconds=61))
    assert [r.job for r in run_due(engine, last)] == ["dispatch"]
    clock.advance(timedelta(minutes=15))
    assert due_jobs(db, last, clock.now()) == ["dispatch", "recycle"]


def test_the_worker_command_runs_once(db, company, database_url):
    result = subprocess.run(
        [sys.executable, "-m", "crm_core.worker", "--once", "--database", database_url],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CRM_DATABASE_URL": database_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dispatch: done" in result.stdout
    db.expire_all()
    assert owned(db) == 5
