"""Test fixtures: a migrated database per test run, emptied before each test.

Without CRM_DATABASE_URL the suite runs on a fresh SQLite file; with a PostgreSQL URL it runs
on that server, and the same tests must pass on both.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("CRM_BCRYPT_ROUNDS", "4")

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from crm_core.analytics import cache as analytics_cache  # noqa: E402
from crm_core.platform import clock  # noqa: E402
from crm_core.platform.bootstrap import bootstrap  # noqa: E402
from db.engine import build_engine  # noqa: E402
from db.migrate import upgrade_to_head  # noqa: E402

_TMP = Path(tempfile.mkdtemp(prefix="crm-tests-"))


def _test_database_url() -> str:
    url = os.environ.get("CRM_DATABASE_URL", "").strip()
    return url or f"sqlite:///{_TMP / 'suite.sqlite3'}"


@pytest.fixture(scope="session")
def database_url() -> str:
    url = _test_database_url()
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    eng = build_engine(database_url)
    yield eng
    eng.dispose()


def empty_database(eng) -> None:
    """Delete every row, children first, and restart the ids."""
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


@pytest.fixture
def db(engine) -> Iterator[Session]:
    """A session on an empty, bootstrapped database; the clock is reset afterwards."""
    empty_database(engine)
    # Ids restart with every test: results cached for another test's data must not match.
    analytics_cache.clear()
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        session.commit()
        yield session
    clock.reset()


@pytest.fixture
def app_settings(database_url, monkeypatch, tmp_path) -> None:
    """Point an in-process app (AppTest) at the suite's database, with a test cookie key."""
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    monkeypatch.setenv("CRM_COOKIE_KEY", "test-cookie-key-" + "x" * 32)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))


@pytest.fixture
def app_env(db, app_settings):
    """The small test company, with the app pointed at it."""
    from tests.factories import build_small_company

    return build_small_company(db)


def pytest_report_header(config):
    url = _test_database_url()
    return f"database: {'postgresql' if url.startswith('postgresql') else 'sqlite'} ({url.split('@')[-1]})"
