"""Bulk inserts for the paths that write tens of thousands of rows at once (lead import).

They go straight to the driver's executemany: the ORM's per-row bookkeeping costs several
times the insert itself at that size. Ids are handed out before the insert so the caller
knows each row's id without reading the rows back: from the table's sequence on
PostgreSQL, and on SQLite after the first row, which puts the transaction's write lock in
place so nobody else can take the following ids.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    any_,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy import (
    column as sql_column,
)
from sqlmodel import Session

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores times in SQLite


def _statement(session: Session, table: Table, columns: Sequence[str]) -> str:
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )


def _prepare(session: Session, table: Table, columns: Sequence[str], rows: list[tuple]) -> list:
    """Rows as the driver takes them: SQLite stores times as SQLAlchemy's DateTime does."""
    if session.get_bind().dialect.name != "sqlite":
        return rows
    times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, DateTime)]
    if not times:
        return rows
    text: dict[datetime, str] = {}  # a batch mostly repeats one moment: format it once
    prepared = []
    for row in rows:
        row = list(row)
        for i in times:
            value = row[i]
            if isinstance(value, datetime):
                row[i] = text.get(value) or text.setdefault(value, value.strftime(_SQLITE_TIME))
        prepared.append(tuple(row))
    return prepared


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert `rows` (tuples in the order of `columns`) in one executemany."""
    if rows:
        session.connection().exec_driver_sql(
            _statement(session, table, columns), _prepare(session, table, columns, rows)
        )


def insert_with_ids(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple]
) -> list[int]:
    """Insert `rows` and return their new ids, in order."""
    if not rows:
        return []
    connection = session.connection()
    with_id = ["id", *columns]
    if connection.dialect.name == "postgresql":
        ids = list(
            connection.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": len(rows)},
            ).scalars()
        )
    else:
        first = connection.exec_driver_sql(
            _statement(session, table, columns),
            tuple(_prepare(session, table, columns, rows[:1])[0]),
        ).lastrowid
        ids = list(range(first, first + len(rows)))
        rows = rows[1:]
        if not rows:
            return ids
        insert_rows(
            session, table, with_id, [(i, *row) for i, row in zip(ids[1:], rows, strict=True)]
        )
        return ids
    insert_rows(session, table, with_id, [(i, *row) for i, row in zip(ids, rows, strict=True)])
    return ids


def one_of(session: Session, column, values: Sequence) -> ColumnElement[bool]:
    """`column IN values` as one bound parameter however long the list: a JSON array read
    by `json_each` on SQLite, an array with `= ANY` on PostgreSQL. A list of thousands
    then costs one parameter, not thousands to name, bind and parse."""
    if session.get_bind().dialect.name == "postgresql":
        item = column.type if not isinstance(column.type, String) else Text()
        return column == any_(literal(list(values), ARRAY(item)))
    items = select(literal_column("value")).select_from(
        func.json_each(literal(json.dumps(list(values), ensure_ascii=False), Text()))
    )
    return column.in_(items)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector for a bulk batch. A batch builds hundreds of thousands
    of small objects that live until it ends; each of them makes the collector rescan all
    the others, which doubled the time of a 100,000-row import. Reference counting still
    frees everything; the collector's previous state comes back at the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rows_source(session: Session, name: str, columns: Sequence[str], rows: Sequence[tuple]):
    """Integer rows (None allowed) as a subquery named `name` with `columns`, sent as one
    parameter per column: a JSON array read by `json_each` on SQLite, arrays passed to
    `unnest` on PostgreSQL. An UPDATE ... FROM or INSERT ... SELECT then writes thousands
    of rows in one statement without a temporary table."""
    if session.get_bind().dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:{name}_{i} AS bigint[])" for i in range(len(columns)))
        sql = f"SELECT * FROM unnest({arrays}) AS {name}_rows({', '.join(columns)})"
        params = {f"{name}_{i}": [row[i] for row in rows] for i in range(len(columns))}
    else:
        picks = ", ".join(
            f"CAST(value ->> {i} AS INTEGER) AS {column}" for i, column in enumerate(columns)
        )
        sql = f"SELECT {picks} FROM json_each(:{name}_rows)"
        params = {f"{name}_rows": json.dumps([list(row) for row in rows])}
    statement = text(sql).bindparams(**params).columns(*(sql_column(c, Integer) for c in columns))
    return statement.subquery(name)
