"""A clean start from the command line:

    python -m db.setup --company NAME --time-zone Asia/Shanghai --currency CNY --admin USERNAME
        [--admin-password-file PATH] [--admin-name "FULL NAME"] [--database URL]

migrates the database (`CRM_DATABASE_URL`, default the app's SQLite file) and creates an
empty company (`crm_core.org.setup.create_company`): settings, built-in roles, one org unit,
the first administrator, who must change the password at the first sign-in. The password is
asked for twice (getpass) unless a file holds it.

    python -m db.setup --token

migrates, and on a database without accounts prints a new one-time token for the console's
setup page (`CRM_DEMO=0 ./run.sh` does this); on one with accounts prints nothing.

Exit codes: 0 done, 1 a value was refused, 2 the database already holds users.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session

from crm_core.org.setup import HAS_USERS, create_company, create_setup_token, needs_setup
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, error_text, translate
from db.engine import build_engine, database_url
from db.migrate import upgrade_to_head

EXIT_INVALID = 1
EXIT_REFUSED = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m db.setup",
        description="Migrate the database and create an empty company with its first administrator.",
    )
    parser.add_argument("--company", metavar="NAME", help="the company's name")
    parser.add_argument(
        "--time-zone", default="Asia/Shanghai", metavar="ZONE", help="IANA zone (Asia/Shanghai)"
    )
    parser.add_argument("--currency", default="CNY", metavar="CODE", help="ISO code (CNY)")
    parser.add_argument("--admin", metavar="USERNAME", help="the first administrator's username")
    parser.add_argument("--admin-name", metavar="NAME", help="their full name (default: username)")
    parser.add_argument(
        "--admin-password-file", metavar="PATH", help="read the password from this file"
    )
    parser.add_argument("--database", metavar="URL", default=None, help="database URL")
    parser.add_argument(
        "--token",
        action="store_true",
        help="only print a one-time token for the console's setup page (empty database)",
    )
    return parser


def _password(args: argparse.Namespace) -> str:
    if args.admin_password_file:
        return Path(args.admin_password_file).read_text(encoding="utf-8").rstrip("\r\n")
    first = getpass.getpass("administrator password: ")
    again = getpass.getpass("again: ")
    if first != again:
        raise CrmError(N_("The two passwords differ."))
    return first


def _print_token(url: str) -> int:
    engine = build_engine(url)
    try:
        with Session(engine) as session:
            token = create_setup_token(session)
            session.commit()
    finally:
        engine.dispose()
    if token is not None:
        print(
            "\n  No company yet. Open the console and enter this one-time setup token:\n"
            f"\n      {token}\n",
            flush=True,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    url = args.database or database_url()
    upgrade_to_head(url)
    if args.token:
        return _print_token(url)
    if not args.company or not args.admin:
        parser.error("--company and --admin are required")
    engine = build_engine(url)
    try:
        with Session(engine) as session:
            if not needs_setup(session):
                print(translate(HAS_USERS, "en"), file=sys.stderr)
                return EXIT_REFUSED
        try:
            password = _password(args)
            with Session(engine) as session:
                made = create_company(
                    session,
                    company_name=args.company,
                    time_zone=args.time_zone,
                    currency=args.currency,
                    admin_username=args.admin,
                    admin_password=password,
                    admin_full_name=args.admin_name,
                )
                session.commit()
        except CrmError as error:
            print(error_text(error, "en"), file=sys.stderr)
            return EXIT_REFUSED if error.key == HAS_USERS else EXIT_INVALID
        print(
            f"company {args.company!r} created (org unit {made.company_unit_id}); "
            f"sign in as {args.admin.strip().lower()!r}: the password must be changed at the "
            "first sign-in"
        )
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
