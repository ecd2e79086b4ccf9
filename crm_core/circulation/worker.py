"""The worker: `python -m crm_core.circulation.worker [--once]` runs dispatch, recycling, warnings
and renewals on the intervals of the `worker.*` settings until stopped.

Any number of workers may run; each job's lock lets only one of them run a job at a time,
and a worker killed mid-run leaves the lock to the next run at once (`crm_core.circulation.jobs`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from sqlmodel import Session

from crm_core.circulation.jobs import due_jobs, run_job
from crm_core.platform import clock


def run_due(engine, last_started: dict, holder: str | None = None) -> list:
    """Run every job that is due now; returns their runs."""
    now = clock.now()
    with Session(engine) as session:
        jobs = due_jobs(session, last_started, now)
    runs = []
    for job in jobs:
        last_started[job] = now
        runs.append(run_job(job, engine=engine, holder=holder))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_core.circulation.worker")
    parser.add_argument("--once", action="store_true", help="run every job once and stop")
    parser.add_argument("--database", default=None, help="database URL (default: configured)")
    args = parser.parse_args(argv)
    from crm_core.platform.database import get_engine

    engine = get_engine(args.database)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    last_started: dict = {}
    print("worker started", flush=True)
    while not stopping:
        try:
            for run in run_due(engine, last_started):
                print(
                    f"{run.started_at:%Y-%m-%d %H:%M:%S} {run.job}: {run.status} "
                    f"{run.counts or ''}{run.error or ''}",
                    flush=True,
                )
        except Exception as error:  # noqa: BLE001 - a database hiccup must not stop the worker
            print(f"worker: {error!r}", file=sys.stderr, flush=True)
        if args.once:
            break
        try:
            time.sleep(1)
        except KeyboardInterrupt:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
