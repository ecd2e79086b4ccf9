"""The worker: `python -m crm_core.circulation.worker [--once]` runs dispatch, recycling, warnings,
renewals, SMS delivery and QA sampling on the intervals of the `worker.*` settings until
stopped.

Any number of workers may run, on any number of machines: the schedule is read from the job
runs recorded in the database, and each job's lock lets only one of them run a job at a time,
so a job runs once per interval however many workers run. A worker killed mid-run leaves the
lock to the next run at once (`crm_core.circulation.jobs`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from sqlmodel import Session

from crm_core.circulation.jobs import due_jobs, run_job
from crm_core.platform import clock


def run_due(engine, holder: str | None = None) -> list:
    """Run every job that is due now by the runs in the database; returns the runs this
    worker made (a job another worker is running or has just run is left to it)."""
    with Session(engine) as session:
        jobs = due_jobs(session, clock.now())
    runs = []
    for job in jobs:
        run = run_job(job, engine=engine, holder=holder, only_if_due=True)
        if run is not None:
            runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_core.circulation.worker")
    parser.add_argument(
        "--once", action="store_true", help="run every job that is due once, and stop"
    )
    parser.add_argument("--database", default=None, help="database URL (default: configured)")
    args = parser.parse_args(argv)
    from crm_core.platform.database import get_engine

    engine = get_engine(args.database)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print("worker started", flush=True)
    while not stopping:
        try:
            for run in run_due(engine):
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
