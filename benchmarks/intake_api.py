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

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import text

from benchmarks.api_server import Phones, company, free_port, serve
from benchmarks.api_server import lead as _lead
from benchmarks.common import BenchContext, report_value
from db.engine import DATA_DIR, build_engine

BATCH = 500
BATCHES = 8
SINGLE = 1200
PACED_RATE = 50
PACED_SECONDS = 10


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
    token = company(url)
    port = free_port()
    server = serve(url, port)
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
