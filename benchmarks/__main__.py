"""`python -m benchmarks [NAME ...] [--opportunities N] [--database URL]`
(`load` also takes `--leads N --seconds S`)."""

from __future__ import annotations

import argparse
import sys

from benchmarks import (
    custom_field_filter,
    dashboards,
    engine,
    engine_sweep,
    home,
    intake_api,
    lead_import,
    leads,
    load,
    option_lists,
    phones,
    rankings,
    workbench,
)
from benchmarks.common import BenchContext, prepare, report_value

# name -> (function, whether it needs the large database)
BENCHMARKS = {
    "home": (home.run, True),
    "leads": (leads.run, True),
    "lead_search": (leads.run_search_benchmark, True),
    "lead_import": (lead_import.run_import_benchmark, True),
    "phones": (phones.run, False),
    "engine": (engine.run, True),
    "engine_sweep": (engine_sweep.run, True),
    "workbench": (workbench.run, True),
    "dashboards": (dashboards.run, True),
    "option_lists": (option_lists.run, True),
    "rankings": (rankings.run, True),
    # Builds its own leads (the --opportunities size) in a database of its own.
    "custom_field_filter": (custom_field_filter.run, False),
    # Starts its own API server over a database of its own (or --database).
    "intake_api": (intake_api.run, False),
    # The floor under load: API, worker and console users at once (see benchmarks/load.py).
    "load": (load.run, False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "names", nargs="*", help=f"which to run (default all: {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument(
        "--database", default=None, help="database URL (default: a SQLite file per size)"
    )
    parser.add_argument("--leads", type=int, default=None, help="load: leads to post")
    parser.add_argument("--seconds", type=float, default=None, help="load: the time bound")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    # "leads" is both lead benchmarks; the default runs each measure once.
    chosen = args.names or [n for n in BENCHMARKS if not n.startswith("lead_") and n != "load"]
    ctx = None
    if any(BENCHMARKS[name][1] for name in chosen):
        ctx = prepare(args.database, args.opportunities)
        if ctx.seeded_now_s is not None:
            report_value(f"seed_{args.opportunities}", ctx.seeded_now_s, "s")
    # A benchmark that builds its own data gets the asked size and database instead.
    own = BenchContext(None, args.database, args.opportunities, None, args.leads, args.seconds)  # type: ignore[arg-type]
    failed = False
    for name in chosen:
        # A benchmark that checks an outcome (engine: one claim winner) returns False on failure.
        failed |= BENCHMARKS[name][0](ctx if BENCHMARKS[name][1] else own) is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
