"""What every benchmark shares: a seeded database of the asked size, timing, output lines."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from db.engine import DATA_DIR, build_engine
from db.migrate import upgrade_to_head
from db.seed import has_data, seed_database


@dataclass
class BenchContext:
    engine: Engine
    url: str
    opportunities: int
    seeded_now_s: float | None  # seconds the seed took, when this run built the data
    leads: int | None = None  # the load test's leads (`--leads`)
    seconds: float | None = None  # the load test's bound (`--seconds`)


def default_url(opportunities: int) -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / f'bench-{opportunities}.sqlite3'}"


def prepare(url: str | None, opportunities: int) -> BenchContext:
    """Migrate the database and fill it with the demo company at the asked size if empty."""
    url = url or default_url(opportunities)
    upgrade_to_head(url)
    engine = build_engine(url)
    seeded = None
    if not has_data(engine):
        print(f"building {opportunities:,} opportunities in {url.split('@')[-1]} ...", flush=True)
        report = seed_database(engine, opportunities=opportunities)
        seeded = report.elapsed_s
    return BenchContext(engine, url, opportunities, seeded)


def best_of(work: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of `repeat` runs after one warm-up run."""
    work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report_ratio(name: str, ours: float, plain: float) -> None:
    ratio = ours / plain if plain > 0 else float("inf")
    print(f"{name}: ours={ours:.4f}s plain_sql={plain:.4f}s ratio={ratio:.2f}", flush=True)


def report_count(name: str, value: int, unit: str) -> None:
    print(f"{name}: {value} {unit}", flush=True)


def report_value(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}", flush=True)
