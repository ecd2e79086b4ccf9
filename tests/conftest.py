"""Test fixtures: a database migrated and bootstrapped once per run; each test's `db` session
runs in a transaction rolled back afterwards, `committed_db` commits for real.

Without CRM_DATABASE_URL the suite runs on a fresh SQLite file; with a PostgreSQL URL it runs
on that server, and the same tests must pass on both.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("CRM_BCRYPT_ROUNDS", "4")
# A message given fewer fields than it names fails the test instead of showing "{name}".
os.environ.setdefault("CRM_STRICT_MESSAGES", "1")

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from crm_core.analytics import cache as analytics_cache  # noqa: E402
from crm_core.platform import clock  # noqa: E402
from crm_core.platform.bootstrap import bootstrap  # noqa: E402
from db.engine import build_engine  # noqa: E402
from db.migrate import upgrade_to_head  # noqa: E402
from tests import dbstate  # noqa: E402
from tests.isolation import import_app_modules, leaked_test_functions  # noqa: E402

# Before any test can patch: see tests/isolation.py.
import_app_modules()

_TMP = Path(tempfile.mkdtemp(prefix="crm-tests-"))


def _test_database_url() -> str:
    """SQLite: a fresh file per process (so per pytest-xdist worker too). PostgreSQL: the
    configured database, or under xdist `<database>_<worker>` beside it (`crm_ci_gw0`)."""
    url = os.environ.get("CRM_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{_TMP / 'suite.sqlite3'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and url.startswith("postgresql"):
        parsed = make_url(url)
        url = parsed.set(database=f"{parsed.database}_{worker}").render_as_string(
            hide_password=False
        )
    return url


def _create_worker_database(url: str) -> None:
    """Create an xdist worker's PostgreSQL database if it is missing (the role needs
    CREATEDB; `.ci/run` creates them as the server's superuser instead)."""
    parsed = make_url(url)
    server = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with server.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            ).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        server.dispose()


@pytest.fixture(scope="session")
def database_url() -> str:
    url = _test_database_url()
    if os.environ.get("PYTEST_XDIST_WORKER") and url.startswith("postgresql"):
        _create_worker_database(url)
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    eng = build_engine(database_url)
    yield eng
    eng.dispose()


def empty_database(eng) -> None:
    """Delete every row, children first, and restart the ids."""
    dbstate.dirty = True  # the bootstrap rows are gone too
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            has_sequence = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).first()
            if has_sequence:
                conn.execute(text("DELETE FROM sqlite_sequence"))
            conn.execute(text("PRAGMA foreign_keys=ON"))


def _bootstrapped_database(eng) -> None:
    """Empty the database and commit the bootstrap rows (roles, settings, option lists)."""
    empty_database(eng)
    with Session(eng, expire_on_commit=False) as session:
        bootstrap(session)
        session.commit()


# On PostgreSQL a rollback does not rewind sequences: each rolled-back test sets them back to
# where the bootstrap left them, so ids stay what they were when every test emptied the
# database (SQLite's ids live in the tables and roll back with them).
_RESET_SEQUENCES: str | None = None


def _sequence_reset(eng) -> str | None:
    """One statement that puts every sequence back where it is now (PostgreSQL only)."""
    if eng.dialect.name != "postgresql":
        return None
    with eng.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT schemaname, sequencename, COALESCE(last_value, 1),"
                " last_value IS NOT NULL FROM pg_sequences"
                " WHERE schemaname = current_schema()"
            )
        ).all()
    if not rows:
        return None
    calls = ", ".join(
        f'setval(\'"{schema}"."{name}"\', {value}, {"true" if called else "false"})'
        for schema, name, value, called in rows
    )
    return f"SELECT {calls}"


def _clean_bootstrap(eng) -> None:
    """Rebuild the bootstrap-only database if a committing test or module left rows."""
    global _RESET_SEQUENCES
    if dbstate.dirty:
        _bootstrapped_database(eng)
        _RESET_SEQUENCES = _sequence_reset(eng)
        dbstate.dirty = False


@pytest.fixture
def committed_db(engine) -> Iterator[Session]:
    """A session on an empty, bootstrapped database whose commits are real: for tests whose
    data other connections must see (AppTest pages, browser tests, threads, subprocesses,
    jobs and workers, races). Afterwards the database is rebuilt before the next `db` test."""
    _bootstrapped_database(engine)
    dbstate.dirty = True
    analytics_cache.clear()
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        dbstate.dirty = True
        clock.reset()


@pytest.fixture
def db(request, engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test, on the database
    bootstrapped once: a commit (the test's or a service's) only releases a savepoint.

    A test that also uses `committed_db` (directly, or through `app_settings`/`app_env`), or
    takes `engine` or `database_url` itself, gets `committed_db`'s session instead: its data
    must be visible to other connections."""
    # A test that takes the engine or the URL itself reaches the database beside this session
    # (other sessions, threads, a subprocess, statement counting on the engine): it commits.
    own = set(inspect.signature(request.function).parameters)
    if "committed_db" in request.fixturenames or {"engine", "database_url"} & own:
        yield request.getfixturevalue("committed_db")
        return
    _clean_bootstrap(engine)
    # Ids repeat from test to test: results cached for another test's data must not match.
    analytics_cache.clear()
    connection = engine.connect()
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        # pysqlite would commit before a SAVEPOINT and never BEGIN for it: let SQLAlchemy's
        # BEGIN and SAVEPOINTs through unchanged (SQLAlchemy's documented pysqlite recipe),
        # on this connection only.
        dbapi_connection = connection.connection.driver_connection
        dbapi_connection.isolation_level = None
    transaction = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")
    elif _RESET_SEQUENCES:
        connection.exec_driver_sql(_RESET_SEQUENCES)
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        if transaction.is_active:
            transaction.rollback()
        if sqlite:
            dbapi_connection.isolation_level = ""  # back to the driver's default
        connection.close()
        clock.reset()


@pytest.fixture(autouse=True)
def _committing_tests_leave_rows(request) -> Iterator[None]:
    """A test that reaches the database other than through the rolled-back `db` session (the
    engine, the URL, an in-process app) may commit: rebuild before the next `db` test."""
    yield
    # The test's own arguments: every `db` test reaches `engine` through the fixture.
    own = set(inspect.signature(request.function).parameters)
    if {"engine", "database_url", "app_settings"} & own:
        dbstate.dirty = True


@pytest.fixture(autouse=True)
def _patches_stay_in_their_test() -> Iterator[None]:
    """Set up before the test's `monkeypatch`, so checked after it undid its patches: a
    module of the app still holding a test's function would lend it to the tests after."""
    yield
    leaked = leaked_test_functions()
    assert not leaked, f"a test's function outlived the test in: {', '.join(leaked)}"


@pytest.fixture
def app_settings(database_url, committed_db, monkeypatch, tmp_path) -> None:
    """Point an in-process app (AppTest) at the suite's database, with a test cookie key.
    The app reads through connections of its own: the test's rows must be committed, so
    this brings `committed_db` (which the test's `db` then is)."""
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    monkeypatch.setenv("CRM_COOKIE_KEY", "test-cookie-key-" + "x" * 32)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))
    # The pages keep the company's zone for a minute, per database URL: start each test afresh.
    from ui.company_time import forget_zone

    forget_zone()


@pytest.fixture
def app_env(committed_db, app_settings):
    """The small test company, with the app pointed at it."""
    from tests.factories import build_small_company

    return build_small_company(committed_db)


def pytest_report_header(config):
    url = _test_database_url()
    return f"database: {'postgresql' if url.startswith('postgresql') else 'sqlite'} ({url.split('@')[-1]})"
