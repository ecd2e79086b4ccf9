"""`python -m benchmarks load [--leads N] [--seconds S] [--database URL]`: the floor under load,
on 127.0.0.1 only.

Over the demo company (LOAD_BASE opportunities, built if the database is empty; default a
SQLite file of its own, rebuilt each run), it starts the intake API (`python -m crm_api`)
and a worker (`python -m crm_core.circulation.worker`, dispatching every 5 s and sweeping
recycling and warnings every minute), and the console users
(`benchmarks.load_readers`: USERS people reading their workbench and board). Then CLIENTS
clients post N leads (default 100,000) through the API - most in batches of BATCH, as ad
platforms sync, the rest one by one, as web forms do - and retry a share of their requests
as clients do when an answer is lost: with the same `Idempotency-Key`, or with a new one
and the same external id. Everything stops after S seconds (default 1,200) whatever was
sent.

Afterwards it checks, in the database: the leads stored are exactly the leads sent and
answered as created (none lost, none doubled by a retry), no person twice, and no
opportunity dispatched twice by the automatic paths (on arrival and the worker's periodic
dispatch race for the same new opportunities). It prints:

- `load_leads_sent`, `load_leads_stored`, `load_duplicates`, `load_double_dispatch`,
  `load_not_dispatched` (counts; the run fails unless stored = sent and the last three are 0
  - a lead still waiting at the end of a bounded run is counted, not failed, when the
  worker had no turn to take it);
- `load_intake_rate` (leads/s over the posting time);
- `load_single_p50/p95/p99`, `load_batch_p50/p95/p99` (answer times),
  `load_assignment_p50/p95/p99` (from the intake's commit to the assignment's, from the
  stored times), `load_workbench_p50/p95/p99` and `load_board_p50/p95/p99` (console reads).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import DateTime, text
from sqlmodel import Session

from benchmarks.api_server import Phones, company, free_port, lead, serve
from benchmarks.common import BenchContext, prepare, report_count, report_value
from crm_core.platform.actor import Actor
from crm_core.platform.database import PROJECT_ROOT
from crm_core.platform.settings import set_setting
from db.engine import DATA_DIR, build_engine

LOAD_BASE = 20_000
CLIENTS = 20
USERS = 50
BATCH = 100
SINGLE_SHARE = 0.1  # of the leads, posted one by one
RETRY_SHARE = 0.02  # of the requests, sent again
DEFAULT_LEADS = 100_000
DEFAULT_SECONDS = 1_200.0
SETTLE_SECONDS = 60.0


def _database(ctx: BenchContext) -> str:
    if ctx.url:
        return ctx.url
    path = Path(DATA_DIR) / "bench-load.sqlite3"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _worker_settings(url: str) -> None:
    engine = build_engine(url)
    with Session(engine) as session:
        system = Actor.system()
        set_setting(session, system, "worker.dispatch_seconds", 5)
        set_setting(session, system, "worker.recycle_minutes", 1)
        set_setting(session, system, "worker.warning_minutes", 1)
        session.commit()
    engine.dispose()


def _plan(total: int, run: str) -> list[list[dict]]:
    """The requests to send: lists of leads (one for a single request), each lead a new
    person with this run's external id."""
    phones = Phones()
    leads = [lead(phones(), external_id=f"load-{run}-{n}") for n in range(total)]
    singles = int(total * SINGLE_SHARE)
    requests = [[one] for one in leads[:singles]]
    requests += [leads[i : i + BATCH] for i in range(singles, total, BATCH)]
    random.Random(run).shuffle(requests)
    return requests


class Clients:
    """CLIENTS posting clients sharing one queue of requests, until it is empty or the
    deadline passes."""

    def __init__(self, base: str, token: str, deadline: float) -> None:
        self.base = base
        self.token = token
        self.deadline = deadline
        self.single: list[float] = []
        self.batch: list[float] = []
        self.created: set[str] = set()  # external ids answered as created
        self.sent: set[str] = set()  # external ids of every request that was answered
        self.problems: list[str] = []
        self._rng = random.Random(7)

    async def _post(self, client: httpx.AsyncClient, leads: list[dict], key: str) -> list:
        single = len(leads) == 1
        started = time.perf_counter()
        if single:
            answer = await client.post("/v1/leads", json=leads[0], headers={"Idempotency-Key": key})
        else:
            answer = await client.post(
                "/v1/leads:batch", json={"leads": leads}, headers={"Idempotency-Key": key}
            )
        (self.single if single else self.batch).append(time.perf_counter() - started)
        if answer.status_code not in (200, 201):
            self.problems.append(f"{answer.status_code}: {answer.text[:200]}")
            return []
        body = answer.json()
        return [body] if single else body["leads"]

    async def _send(self, client: httpx.AsyncClient, leads: list[dict]) -> None:
        key = uuid.uuid4().hex
        answers = await self._post(client, leads, key)
        for one, answered in zip(leads, answers, strict=False):
            self.sent.add(one["external_id"])
            if answered["status"] == "created":
                self.created.add(one["external_id"])
            elif answered["status"] != "duplicate":
                self.problems.append(f"{one['external_id']}: {answered['status']}")
        if self._rng.random() < RETRY_SHARE:
            # The answer was "lost": the same request again, then with a new key. Either
            # way the leads exist already, and nothing more may be written.
            for again_key in (key, uuid.uuid4().hex):
                for answered in await self._post(client, leads, again_key):
                    if answered["status"] not in ("created", "duplicate") or (
                        again_key != key and answered["status"] != "duplicate"
                    ):
                        self.problems.append(f"retry answered {answered['status']}")

    async def run(self, requests: list[list[dict]]) -> float:
        queue: asyncio.Queue = asyncio.Queue()
        for request in requests:
            queue.put_nowait(request)
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {self.token}"}

        async def client_loop() -> None:
            async with httpx.AsyncClient(base_url=self.base, headers=headers, timeout=120) as c:
                while time.monotonic() < self.deadline:
                    try:
                        leads = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        await self._send(c, leads)
                    except httpx.HTTPError as error:
                        self.problems.append(repr(error))

        await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))
        return time.perf_counter() - started


def _settle(url: str, run: str, seconds: float) -> None:
    """Wait (bounded) until no opportunity of this run waits in the pool for dispatch."""
    engine = build_engine(url)
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM opportunity o JOIN lead l ON l.id = o.lead_id "
                    "WHERE l.external_id LIKE :run AND o.pool_state <> 'owned'"
                ),
                {"run": f"load-{run}-%"},
            ).scalar_one()
            connection.commit()
            if not waiting:
                break
            time.sleep(1)
    engine.dispose()


def _checks(url: str, run: str) -> dict:
    engine = build_engine(url)
    pattern = {"run": f"load-{run}-%"}
    with engine.connect() as connection:

        def one(sql: str) -> int:
            return connection.execute(text(sql), pattern).scalar_one()

        stored = one("SELECT count(*) FROM lead WHERE external_id LIKE :run")
        people = one("SELECT count(DISTINCT phone) FROM lead WHERE external_id LIKE :run")
        opportunities = one(
            "SELECT count(*) FROM opportunity o JOIN lead l ON l.id = o.lead_id "
            "WHERE l.external_id LIKE :run"
        )
        double = one(
            "SELECT count(*) FROM (SELECT f.opportunity_id FROM flow_event f "
            "JOIN opportunity o ON o.id = f.opportunity_id JOIN lead l ON l.id = o.lead_id "
            "WHERE l.external_id LIKE :run AND f.reason = 'dispatch' "
            "GROUP BY f.opportunity_id HAVING count(*) > 1) twice"
        )
        waiting = one(
            "SELECT count(*) FROM opportunity o JOIN lead l ON l.id = o.lead_id "
            "WHERE l.external_id LIKE :run AND o.pool_state <> 'owned'"
        )
        delays = connection.execute(
            text(
                "SELECT o.created_at, f.at FROM flow_event f "
                "JOIN opportunity o ON o.id = f.opportunity_id JOIN lead l ON l.id = o.lead_id "
                "WHERE l.external_id LIKE :run AND f.reason = 'dispatch'"
            ).columns(created_at=DateTime, at=DateTime),
            pattern,
        ).all()
    engine.dispose()
    return {
        "stored": stored,
        # A second phone of one person, or a second opportunity of one lead on the line.
        "duplicates": (stored - people) + (opportunities - stored),
        "double": double,
        "waiting": waiting,
        "assignment": [(at - created).total_seconds() for created, at in delays],
    }


def _percentiles(name: str, values: list[float]) -> None:
    if len(values) < 2:
        print(f"{name}: too few samples ({len(values)})", flush=True)
        return
    cuts = statistics.quantiles(values, n=100)
    for label, index in (("p50", 49), ("p95", 94), ("p99", 98)):
        report_value(f"{name}_{label}", cuts[index], "s")


def _start_worker(url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crm_core.circulation.worker", "--database", url],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CRM_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )


def _start_readers(url: str, seconds: float, out: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.load_readers", url, str(USERS), str(seconds), out],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CRM_DATABASE_URL": url},
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run(ctx: BenchContext) -> bool:
    total = ctx.leads or DEFAULT_LEADS
    seconds = ctx.seconds or DEFAULT_SECONDS
    url = _database(ctx)
    prepared = prepare(url, LOAD_BASE)
    prepared.engine.dispose()
    token = company(url)
    _worker_settings(url)
    run_id = uuid.uuid4().hex[:10]
    requests = _plan(total, run_id)
    port = free_port()
    server = serve(url, port)
    worker = _start_worker(url)
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    readers = _start_readers(url, seconds, out)
    print(
        f"load: {total:,} leads by {CLIENTS} clients, {USERS} console users, "
        f"at most {seconds:.0f} s ...",
        flush=True,
    )
    clients = Clients(f"http://127.0.0.1:{port}", token, time.monotonic() + seconds)
    try:
        posting = asyncio.run(clients.run(requests))
        Path(f"{out}.stop").touch()
        readers.wait(90)
        _settle(url, run_id, SETTLE_SECONDS)
    finally:
        for process in (readers, worker, server):
            _stop(process)
    found = _checks(url, run_id)
    with open(out) as handle:
        reads = json.load(handle)
    os.unlink(out)
    os.unlink(f"{out}.stop")

    report_count("load_leads_sent", len(clients.created), "leads")
    report_count("load_leads_stored", found["stored"], "leads")
    report_count("load_duplicates", found["duplicates"], "leads")
    report_count("load_double_dispatch", found["double"], "opportunities")
    report_count("load_not_dispatched", found["waiting"], "opportunities")
    report_value("load_intake_rate", len(clients.sent) / posting, "leads/s")
    _percentiles("load_single", clients.single)
    _percentiles("load_batch", clients.batch)
    _percentiles("load_assignment", found["assignment"])
    _percentiles("load_workbench", reads["workbench"])
    _percentiles("load_board", reads["board"])
    if len(clients.sent) < total:
        print(f"  the time ran out after {len(clients.sent):,} of {total:,} leads", flush=True)
    for problem in clients.problems[:10]:
        print(f"  problem: {problem}", flush=True)
    return (
        found["stored"] == len(clients.created)
        and not found["duplicates"]
        and not found["double"]
        and not clients.problems
    )
