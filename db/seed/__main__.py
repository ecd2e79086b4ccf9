"""`python -m db.seed [--opportunities N] [--seed S] [--if-empty] [--database URL]`
(or `python -m db.seed --logins` to print the demo accounts)

Migrates the database, then fills it with the demo company. Exit codes: 0 seeded (or
skipped with --if-empty), 2 refused because the database already has data.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from sqlmodel import Session

from crm_core.platform.bootstrap import bootstrap
from db.engine import build_engine, database_url
from db.migrate import upgrade_to_head
from db.seed import (
    DEFAULT_OPPORTUNITIES,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DatabaseNotEmpty,
    SeedReport,
    has_data,
    seed_database,
)
from db.seed.company import demo_logins
from db.seed.rules import add_demo_rules

EXIT_REFUSED = 2
PRIMARY_LOGINS = (
    "admin",
    "boss",
    "director",
    "manager",
    "teamlead",
    "rep",
    "qa",
    "marketing",
    "finance",
)


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m db.seed", description="Fill an empty database with the demo company."
    )
    parser.add_argument(
        "--opportunities",
        type=_non_negative,
        metavar="N",
        default=DEFAULT_OPPORTUNITIES,
        help=f"how many opportunities (about 1.2 per lead; default {DEFAULT_OPPORTUNITIES})",
    )
    parser.add_argument(
        "--seed",
        type=_non_negative,
        metavar="S",
        default=DEFAULT_SEED,
        help="random seed (default 42)",
    )
    parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing (exit 0) when the database already has data",
    )
    parser.add_argument(
        "--logins",
        action="store_true",
        help="only print the demo logins (no database access) and exit",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="database URL (default: CRM_DATABASE_URL, else the SQLite file under data/)",
    )
    return parser


def print_report(report: SeedReport) -> None:
    """The row counts, the time taken and the demo logins."""
    print(f"\nseeded with seed {report.seed} in {report.elapsed_s:.1f}s")
    width = max(len(t) for t in report.counts)
    for table, count in report.counts.items():
        print(f"  {table:<{width}}  {count:>10,}")
    print()
    print_logins(report.logins)


def print_logins(logins: Sequence[tuple[str, str, str]]) -> None:
    """The main demo accounts with role and unit, and the naming pattern of the others."""
    print(f"demo logins (password for every account: {DEMO_PASSWORD})")
    shown = sorted(
        (row for row in logins if row[0] in PRIMARY_LOGINS),
        key=lambda row: PRIMARY_LOGINS.index(row[0]),
    )
    name_width = max(len(u) for u, _, _ in shown)
    role_width = max(len(r) for _, r, _ in shown)
    for username, role, unit in shown:
        print(f"  {username:<{name_width}}  {role:<{role_width}}  {unit}")
    print(
        "  also: dir.sh, dir.wh (regional directors); mgr.<bj|sh|wh>.<kaoyan|jiaozi|english>"
        " (department managers);\n        tl.<region>.<line>.<1|2> (team leads);"
        " rep001, rep002, ... (reps); qa2; mkt2"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.logins:
        print_logins(demo_logins())
        return 0
    url = args.database or database_url()
    upgrade_to_head(url)
    engine = build_engine(url)
    try:
        with Session(engine) as session:
            bootstrap(session)  # roles and option lists, even when the seed is skipped
            session.commit()
        if has_data(engine):
            if args.if_empty:
                print("database already has data; seed skipped")
                return 0
            print(
                "database already has data; seed refused (it never adds to existing data). "
                "Use an empty database, or --if-empty to skip quietly.",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        started = time.perf_counter()
        try:
            report = seed_database(
                engine,
                opportunities=args.opportunities,
                seed=args.seed,
                progress=lambda message: print(
                    f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True
                ),
            )
        except DatabaseNotEmpty as exc:  # someone else seeded in between
            print(f"{exc}", file=sys.stderr)
            return EXIT_REFUSED
        with Session(engine) as session:
            rules = add_demo_rules(session)
            session.commit()
        print(f"circulation rules: {rules}")
        print_report(report)
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
