"""The lead intake API against a real uvicorn process on 127.0.0.1, started here, over the
database of `--database` (default: a SQLite file of its own, rebuilt each run).

The company it needs is added if missing: a business line `bench_api`, a team of 20 reps
with room for every lead, a dispatch rule giving that line to the team, and a fresh API key.
Phones are drawn afresh each run, so every lead is a new person.

- `intake_api_throughput_batch`: leads/s through `POST /v1/leads:batch` (500 a request,
  two clients at once);
- `intake_api_throughput_single`: leads/s through `POST /v1/leads` (eight clients at once);
- `intake_api_p95`: the 95th percentile of the answer time of single requests sent at a
  steady 50 leads/s for 10 s;
- `intake_to_assignment_p95`: for those leads, from sending the request until the
  opportunity is seen owned by a rep (polled every 20 ms: the assignment is committed).
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import httpx
from sqlalchemy import text
from sqlmodel import Session, select

from benchmarks.common import BenchContext, report_value
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.leads.api_keys import create_api_key
from crm_core.models import BusinessLine, DispatchRule, OrgUnit, User
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform.actor import Actor
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.database import PROJECT_ROOT
from db.engine import DATA_DIR, build_engine
from db.migrate import upgrade_to_head

SYSTEM = Actor.system()
LINE = "bench_api"
REPS = 20
BATCH = 500
BATCHES = 8
SINGLE = 1200
PACED_RATE = 50
PACED_SECONDS = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _company(url: str) -> str:
    """Add what the benchmark needs where missing; return a new API key."""
    upgrade_to_head(url)
    engine = build_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        line = session.exec(select(BusinessLine).where(BusinessLine.code == LINE)).first()
        if line is None:
            line = BusinessLine(code=LINE, name="API benchmark")
            session.add(line)
            session.flush()
        unit = session.exec(select(OrgUnit).where(OrgUnit.name == "API bench team")).first()
        if unit is None:
            unit = create_unit(session, SYSTEM, "API bench team", None)
        password = bcrypt.hashpw(b"bench-api-pass1", bcrypt.gensalt(4)).decode()
        for n in range(REPS):
            name = f"bench_api_rep_{n}"
            if session.exec(select(User.id).where(User.username == name)).first() is None:
                create_user(
                    session,
                    SYSTEM,
                    username=name,
                    full_name=f"API Rep {n}",
                    employee_no=f"BAPI{n:03d}",
                    password="unused-pass1",
                    password_hash=password,
                    org_unit_id=unit.id,
                    role_codes=["rep"],
                    daily_cap=100_000,
                    holding_cap=1_000_000,
                )
        ruled = session.exec(
            select(DispatchRule.id).where(DispatchRule.business_line_id == line.id)
        ).first()
        if ruled is None:
            save_rule(
                session,
                SYSTEM,
                "dispatch",
                RuleDraft(
                    name="API benchmark",
                    priority=1,
                    org_unit_id=unit.id,
                    business_line_id=line.id,
                    conditions={},
                    action={"target_unit_id": unit.id},
                ),
            )
        _, token = create_api_key(
            session, SYSTEM, "Benchmark", ["form"], [line.id], requests_per_minute=100_000
        )
        session.commit()
    engine.dispose()
    return token


class Phones:
    """Mobile numbers no earlier run used (a random block of a billion)."""

    def __init__(self) -> None:
        self._next = random.randrange(10**8) * 10
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._next += 1
            return f"+86139{self._next % 10**8:08d}"


def _lead(phone: str) -> dict:
    return {
        "name": "Bench Lead",
        "phone": phone,
        "channel": "form",
        "campaign": "bench",
        "landing_page": "https://example.com/bench",
        "business_lines": [LINE],
    }


def _serve(url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_API_HOST": "127.0.0.1",
        "CRM_API_PORT": str(port),
    }
    server = subprocess.Popen([sys.executable, "-m", "crm_api"], cwd=PROJECT_ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the intake API did not start")


def _throughput(base: str, headers: dict, phones: Phones) -> tuple[float, float]:
    def batch(_):
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            answer = client.post(
                "/v1/leads:batch", json={"leads": [_lead(phones()) for _ in range(BATCH)]}
            )
            answer.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(batch, range(BATCHES)))
    batch_rate = BATCH * BATCHES / (time.perf_counter() - started)

    def singles(count: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for _ in range(count):
                client.post("/v1/leads", json=_lead(phones())).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(singles, [SINGLE // 8] * 8))
    return batch_rate, SINGLE / (time.perf_counter() - started)


def _paced(base: str, headers: dict, phones: Phones, url: str) -> tuple[list, list]:
    """Single requests at PACED_RATE a second: answer times, and times to assignment."""
    sent: dict[int, float] = {}  # opportunity id -> when its request was sent
    owned_after: list[float] = []
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    client = httpx.Client(base_url=base, headers=headers, timeout=30)

    def send(at: float) -> None:
        time.sleep(max(0.0, at - time.perf_counter()))
        started = time.perf_counter()
        answer = client.post("/v1/leads", json=_lead(phones()))
        latencies.append(time.perf_counter() - started)
        answer.raise_for_status()
        with lock:
            for opportunity_id in answer.json()["opportunity_ids"]:
                sent[opportunity_id] = started

    def watch() -> None:
        engine = build_engine(url)
        with engine.connect() as connection:
            while True:
                with lock:
                    waiting = list(sent)
                if waiting:
                    found = connection.execute(
                        text(
                            "SELECT id FROM opportunity WHERE pool_state = 'owned' AND id IN ("
                            + ",".join(str(i) for i in waiting)
                            + ")"
                        )
                    ).all()
                    connection.commit()
                    now = time.perf_counter()
                    with lock:
                        for (opportunity_id,) in found:
                            owned_after.append(now - sent.pop(opportunity_id))
                elif done.is_set():
                    break
                time.sleep(0.02)
        engine.dispose()

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.perf_counter() + 0.5
    total = PACED_RATE * PACED_SECONDS
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(send, [start + i / PACED_RATE for i in range(total)]))
    done.set()
    deadline = time.monotonic() + 30
    while watcher.is_alive() and time.monotonic() < deadline:
        watcher.join(0.5)
    client.close()
    return latencies, owned_after


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")


def run(ctx: BenchContext) -> bool:
    url = ctx.url
    if not url:
        path = Path(DATA_DIR) / "bench-intake-api.sqlite3"
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    token = _company(url)
    port = _free_port()
    server = _serve(url, port)
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        phones = Phones()
        batch_rate, single_rate = _throughput(base, headers, phones)
        report_value("intake_api_throughput_batch", batch_rate, "leads/s")
        report_value("intake_api_throughput_single", single_rate, "leads/s")
        latencies, owned_after = _paced(base, headers, phones, url)
        report_value("intake_api_p95", _p95(latencies), "s")
        report_value("intake_to_assignment_p95", _p95(owned_after), "s")
        unassigned = PACED_RATE * PACED_SECONDS - len(owned_after)
        if unassigned:
            print(f"  {unassigned} paced leads were not seen owned within 30 s", flush=True)
        return unassigned == 0
    finally:
        server.terminate()
        server.wait(30)
