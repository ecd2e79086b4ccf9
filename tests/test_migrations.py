"""Migrations: empty -> head -> base -> head, on the suite's database kind, and the models
match what the migrations build."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import crm_core.models  # noqa: F401
from db.engine import build_engine
from db.migrate import alembic_config


@pytest.fixture
def scratch_connection(database_url, tmp_path):
    """A connection to an empty place of the same database kind as the suite."""
    if database_url.startswith("postgresql"):
        schema = f"mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(database_url)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
        with engine.connect() as conn:
            yield conn
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    else:
        engine = build_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
        with engine.connect() as conn:
            yield conn
        engine.dispose()


def _run(conn, direction: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    getattr(command, direction)(config, "head" if direction == "upgrade" else "base")
    conn.commit()


def _tables(conn) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(scratch_connection):
    conn = scratch_connection
    assert _tables(conn) == set()
    _run(conn, "upgrade")
    assert _tables(conn) == set(SQLModel.metadata.tables)
    _run(conn, "downgrade")
    assert _tables(conn) == set()
    _run(conn, "upgrade")
    assert _tables(conn) == set(SQLModel.metadata.tables)


def test_models_match_the_migrations(scratch_connection):
    conn = scratch_connection
    _run(conn, "upgrade")
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    assert compare_metadata(context, SQLModel.metadata) == []
