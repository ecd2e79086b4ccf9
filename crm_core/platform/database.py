"""The engine and sessions, built from `CRM_DATABASE_URL`.

Default: a SQLite file under `./data/` (WAL, foreign keys on, a busy timeout), so that one
command runs the app with nothing else installed. PostgreSQL through
`postgresql+psycopg://user:password@host/db`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("CRM_DATA_DIR", PROJECT_ROOT / "data"))
SQLITE_BUSY_TIMEOUT_MS = 30_000


def pool_limits() -> tuple[int, int]:
    """(pool size, overflow) of this process's PostgreSQL connections: `CRM_DB_POOL_SIZE`
    (default 10) kept open, and up to `CRM_DB_MAX_OVERFLOW` (default 20) more at a peak.
    Every process has its own pool, so PostgreSQL's `max_connections` must cover the sum
    over all processes (docs/deploy.md)."""
    return (
        int(os.environ.get("CRM_DB_POOL_SIZE", "").strip() or 10),
        int(os.environ.get("CRM_DB_MAX_OVERFLOW", "").strip() or 20),
    )


def database_url() -> str:
    """The configured database URL, or the default SQLite file."""
    url = os.environ.get("CRM_DATABASE_URL", "").strip()
    if url:
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'crm.sqlite3'}"


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def build_engine(url: str | None = None, *, pooled: bool = True) -> Engine:
    """Create an engine for `url` (default: `database_url()`) with this project's settings.
    `pooled=False`: a connection per checkout, for as many threads as a caller starts."""
    url = url or database_url()
    parsed = make_url(url)
    pool = {} if pooled else {"poolclass": NullPool}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pool,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    # No JIT: compiling the plan of a dashboard's GROUP BY takes longer than running it.
    postgres = {"connect_args": {"options": "-c jit=off"}}
    if not pooled:
        return create_engine(url, **pool, **postgres)
    size, overflow = pool_limits()
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=overflow, **postgres)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process."""
    return build_engine(url or database_url())


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """Run the block in a savepoint of the caller's transaction: an error inside undoes only
    the block's writes (and is re-raised), so a service can turn a unique-key race into a
    refusal without throwing away what the caller wrote before it. The caller still commits.

    On SQLite the pysqlite driver starts its own transaction only before an INSERT, UPDATE
    or DELETE. A SAVEPOINT issued before the caller's first write would open the transaction
    itself, and releasing it would commit: so the outer transaction is begun first. It is
    begun IMMEDIATE, as the driver would begin it at the first write: a deferred BEGIN
    would read from a snapshot that, once another connection commits, can no longer be
    written from ("database is locked" at once, without waiting out the busy timeout).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    with session.begin_nested():
        yield


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error. A caller helper: it
    owns the transaction that the core services inside it only flush."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
