"""Fast, set-based inserts for the big demo tables, and the value conversions they need.

Rows go straight to the DBAPI connection of the seeding session (so they share its single
transaction): `executemany` in chunks on SQLite, `COPY ... FROM STDIN` on PostgreSQL. Ids
are given explicitly, so child rows can reference parents without reading anything back.
On PostgreSQL the tables' foreign keys and plain indexes are dropped for the load and
recreated after it, in the same transaction (see `BulkWriter`).

Value conventions, chosen so both databases read the rows exactly as the ORM wrote them:
times are `YYYY-MM-DD HH:MM:SS.ffffff` strings (SQLAlchemy's SQLite DateTime storage
format, which PostgreSQL also parses), booleans are 0/1 (PostgreSQL accepts "0"/"1" for
boolean input), amounts are decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine, Result
from sqlmodel import Session

CHUNK_ROWS = 50_000
# Epoch seconds are positive; this marks "no time" (NULL) in the int64 time arrays.
NO_TIME = -1
# A bigger page cache keeps SQLite's random-order index inserts (phone, name) in memory.
SQLITE_CACHE_KIB = 512 * 1024
_EPOCH = datetime(1970, 1, 1)


def epoch(moment: datetime) -> int:
    """A naive-UTC datetime as whole epoch seconds (the unit of every time array here)."""
    return int((moment - _EPOCH).total_seconds())


def chunk_bounds(n: int, size: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    """(start, stop) pairs covering range(n) in steps of `size`."""
    for start in range(0, n, size):
        yield start, min(n, start + size)


# " HH:MM:SS.000000" for every second of a day: a time string is then one lookup for the
# day and one for the time of day, instead of formatting each value.
_TIME_OF_DAY = np.array(
    [f" {h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)],
    dtype=object,
)


def sql_times(seconds: np.ndarray) -> list[str | None]:
    """Epoch seconds (int64, NO_TIME for NULL) as naive-UTC time strings for the DBAPI."""
    day, time_of_day = np.divmod(np.maximum(seconds, 0), 86_400)
    days, inverse = np.unique(day, return_inverse=True)
    day_text = np.array([str(d) for d in days.astype("datetime64[D]")], dtype=object)
    out = day_text[inverse] + _TIME_OF_DAY[time_of_day]
    out[seconds < 0] = None
    return out.tolist()


def sql_ids(index: np.ndarray, base: int | np.ndarray = 0) -> list[int | None]:
    """Row indexes (-1 for NULL) turned into ids: `base + index`, or a lookup when `base`
    is an array of ids."""
    if isinstance(base, np.ndarray):
        ids = base[np.maximum(index, 0)].astype(object)
    else:
        ids = (index.astype(np.int64) + base).astype(object)
    ids[index < 0] = None
    return ids.tolist()


def sql_codes(index: np.ndarray, codes: Sequence[str | None]) -> list[str | None]:
    """Small-int codes (-1 for NULL) turned into their strings."""
    table = np.array([*codes, None], dtype=object)
    return table[np.where(index < 0, len(codes), index)].tolist()


def sql_ints(values: np.ndarray, null_below: int | None = None) -> list[int | None]:
    """Plain ints; values below `null_below` become NULL."""
    out = values.astype(np.int64).astype(object)
    if null_below is not None:
        out[values < null_below] = None
    return out.tolist()


class BulkWriter:
    """Inserts many rows into one table at a time on the session's own connection.

    On PostgreSQL, `defer_checks` drops the foreign keys and plain indexes of the bulk
    tables before loading and recreates them (same names, same definitions) in `finish`,
    all inside the one transaction: checking each row through a per-row trigger and
    updating each index row by row costs several times more than validating and building
    once at the end (the PostgreSQL manual's "Populating a Database" advice). A violation
    still fails the whole seed, when the constraint or unique index is recreated.
    """

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect.name
        self.session = session
        self.raw = connection.connection.driver_connection
        self.inserted: dict[str, int] = {}
        self._recreate: list[str] = []  # DDL to run in `finish`, indexes before keys
        if self.dialect == "sqlite":
            self._old_cache = self._sql("PRAGMA cache_size").scalar()
            self._sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    def _sql(self, statement: str, **params: Any) -> Result:
        return self.session.execute(text(statement), params)

    def next_id(self, table: str) -> int:
        """The first free id of `table` (ids continue after whatever is there)."""
        return int(self._sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar()) + 1

    def defer_checks(self, tables: Sequence[str]) -> None:
        """PostgreSQL only (a no-op elsewhere): drop the tables' foreign keys and the
        indexes that back no constraint, remembering how to recreate them."""
        if self.dialect != "postgresql":
            return
        indexes: list[str] = []
        keys: list[str] = []
        for table in tables:
            for name, definition in self._sql(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) "
                "AND NOT i.indisprimary AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                t=table,
            ).all():
                self._sql(f"DROP INDEX {name}")
                indexes.append(definition)
            for name, definition in self._sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname",
                t=table,
            ).all():
                self._sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                keys.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        self._recreate = indexes + keys

    def insert(self, table: str, columns: Sequence[str], chunks: Iterable[list[tuple]]) -> int:
        """Insert every row of every chunk; returns the number of rows."""
        names = ", ".join(columns)
        count = 0
        cursor = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for rows in chunks:
                        for row in rows:
                            copy.write_row(row)
                        count += len(rows)
            else:
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
                for rows in chunks:
                    cursor.executemany(sql, rows)
                    count += len(rows)
        finally:
            cursor.close()
        self.inserted[table] = self.inserted.get(table, 0) + count
        return count

    def finish(self) -> None:
        """Recreate what `defer_checks` dropped; move each PostgreSQL id sequence past the
        new rows (so the app's next insert does not reuse an explicit id); restore the
        SQLite cache size."""
        if self.dialect == "sqlite":
            self._sql(f"PRAGMA cache_size={self._old_cache}")
            return
        if self._recreate:
            # More sort memory for the index builds, for this transaction only.
            self._sql("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in self._recreate:
            self._sql(statement)
        self._recreate = []
        for table, count in self.inserted.items():
            if count:
                self._sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )


def analyze(engine: Engine) -> None:
    """Refresh the planner statistics after a big load (outside any transaction); on
    PostgreSQL also the visibility map."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "sqlite":
            # Sampled statistics, as SQLite recommends for big databases: a full ANALYZE
            # reads every index (~10 s at a million opportunities) for no better plans.
            connection.exec_driver_sql("PRAGMA analysis_limit=2000")
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA analysis_limit=0")
        else:
            # VACUUM too: it marks the freshly written pages all-visible, so index-only
            # scans work from the start instead of after autovacuum's first pass.
            connection.exec_driver_sql("VACUUM ANALYZE")
