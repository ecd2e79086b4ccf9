"""Migrations: empty -> head -> base -> head, on the suite's database kind, and the models
match what the migrations build."""

from __future__ import annotations

import json
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, create_engine, inspect, select, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
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


def test_0008_fills_the_furthest_stage_from_the_history(scratch_connection):
    """A database with history before the column existed gets each opportunity's furthest
    stage: the highest funnel stage of its history or its current stage; lost never."""
    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0007")
    conn.commit()
    conn.execute(
        text(
            "INSERT INTO business_line (id, code, name, active, created_at)"
            " VALUES (1, 'x', 'X', true, '2026-01-01')"
        )
    )
    for lead_id in (1, 2, 3):
        conn.execute(
            text(
                "INSERT INTO lead (id, name, name_key, no_phone, channel, created_at)"
                " VALUES (:i, 'L', 'l', false, 'sem', '2026-01-01')"
            ),
            {"i": lead_id},
        )
    for opp_id, stage, state in (
        (1, "qualified", "owned"),
        (2, "lost", "closed"),
        (3, "new", "owned"),
    ):
        conn.execute(
            text(
                "INSERT INTO opportunity (id, lead_id, business_line_id, pipeline_type, stage,"
                " pool_state, locked, recycle_count, created_at)"
                " VALUES (:i, :i, 1, 'new', :s, :p, false, 0, '2026-01-01')"
            ),
            {"i": opp_id, "s": stage, "p": state},
        )
    for opp_id, to_stage in (
        (1, "new"),
        (1, "trial_done"),
        (1, "qualified"),
        (2, "contacted"),
        (2, "lost"),
    ):
        conn.execute(
            text(
                "INSERT INTO stage_history (opportunity_id, to_stage, changed_at)"
                " VALUES (:o, :s, '2026-01-02')"
            ),
            {"o": opp_id, "s": to_stage},
        )
    conn.commit()
    command.upgrade(config, "0008")
    conn.commit()
    rows = dict(conn.execute(text("SELECT id, furthest_stage FROM opportunity")).all())
    assert rows == {1: "trial_done", 2: "contacted", 3: "new"}


@pytest.mark.parametrize(
    ("offset", "zone", "back"),
    [(8, "Asia/Shanghai", 8), (-5, "Etc/GMT+5", -5), (3, "Etc/GMT-3", 3), (0, "UTC", 0)],
)
def test_0010_turns_the_offset_into_a_time_zone_and_back(scratch_connection, offset, zone, back):
    """`company.utc_offset_hours` becomes `company.time_zone` (+8: Asia/Shanghai; another
    whole offset an Etc zone, whose sign is inverted) and back again on the way down."""
    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0009")
    conn.execute(
        text("INSERT INTO setting (key, value) VALUES ('company.utc_offset_hours', :v)"),
        {"v": str(offset)},
    )
    conn.commit()

    setting = sa_table("setting", sa_column("key"), sa_column("value", JSON))

    def stored() -> dict:
        return dict(conn.execute(select(setting.c.key, setting.c.value)).all())

    command.upgrade(config, "0010")
    conn.commit()
    after = stored()
    assert "company.utc_offset_hours" not in after
    assert after["company.time_zone"] == zone
    command.downgrade(config, "0009")
    conn.commit()
    before = stored()
    assert "company.time_zone" not in before
    assert before["company.utc_offset_hours"] == back


def test_0018_gives_worded_audit_actions_their_codes_back(scratch_connection):
    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0015")
    for action, target in (
        ("Apply the roster", "roster"),
        ("Import", "learning_activity"),
        ("Import", "something_else"),  # not ours to rename
    ):
        conn.execute(
            text("INSERT INTO audit_log (at, action, target_type) VALUES (:at, :a, :t)"),
            {"at": "2026-12-05 08:00:00", "a": action, "t": target},
        )
    conn.commit()
    command.upgrade(config, "0018")
    conn.commit()
    rows = conn.execute(text("SELECT action, target_type FROM audit_log ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("roster.apply", "roster"),
        ("learning.import", "learning_activity"),
        ("Import", "something_else"),
    ]


def test_0013_catalogues_stored_campaigns_and_tags(scratch_connection):
    """Every stored campaign and tag gets an entry of its list; the spellings of one word
    become the most used one (a lead with both tags keeps one row); down removes the lists."""
    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0014")
    conn.commit()
    for lead_id, campaign in (
        (1, "Spring-2026"),
        (2, "spring-2026"),
        (3, "Spring-2026"),
        (4, None),
    ):
        conn.execute(
            text(
                "INSERT INTO lead (id, name, name_key, no_phone, channel, campaign, created_at)"
                " VALUES (:i, 'L', 'l', false, 'sem', :c, '2026-01-01')"
            ),
            {"i": lead_id, "c": campaign},
        )
    for lead_id, tag in (
        (1, "VIP"),
        (1, "vip"),
        (2, "vip"),
        (3, "VIP"),
        (3, "Beijing"),
        (4, "VIP"),
    ):
        conn.execute(
            text("INSERT INTO lead_tag (lead_id, tag) VALUES (:i, :t)"), {"i": lead_id, "t": tag}
        )
    conn.commit()
    command.upgrade(config, "0013")
    conn.commit()
    campaigns = dict(conn.execute(text("SELECT id, campaign FROM lead")).all())
    assert campaigns == {1: "Spring-2026", 2: "Spring-2026", 3: "Spring-2026", 4: None}
    tags = sorted(conn.execute(text("SELECT lead_id, tag FROM lead_tag")).all())
    assert tags == [(1, "VIP"), (2, "VIP"), (3, "Beijing"), (3, "VIP"), (4, "VIP")]
    options = sorted(
        conn.execute(
            text("SELECT category, code FROM metadata_option WHERE category IN ('campaign', 'tag')")
        ).all()
    )
    assert options == [("campaign", "Spring-2026"), ("tag", "Beijing"), ("tag", "VIP")]
    command.downgrade(config, "0014")
    conn.commit()
    left = conn.execute(
        text("SELECT count(*) FROM metadata_option WHERE category IN ('campaign', 'tag')")
    ).scalar()
    assert left == 0


def test_0019_keeps_every_lead_import_run_in_the_audit_log(scratch_connection):
    """A run of the lead import table that has its audit entry keeps that one; a run without
    one gets it in the same shape, which the run list reads (`engine.runs`)."""
    from crm_core.imports.engine.runs import _run_of

    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0022")
    for run_id, filename, status in ((1, "a.csv", "done"), (2, "b.csv", "refused")):
        conn.execute(
            text(
                "INSERT INTO lead_import (id, filename, mode, status, total_rows, created,"
                " added_line, collisions, duplicates, rejected, started_at)"
                " VALUES (:i, :f, 'good_rows', :s, 3, 2, 0, 0, 0, 1, '2026-11-01 08:00:00')"
            ),
            {"i": run_id, "f": filename, "s": status},
        )
    conn.execute(
        text(
            "INSERT INTO audit_log (at, action, target_type, target_id, after)"
            " VALUES ('2026-11-01 08:00:00', 'lead.import', 'lead_import', '1',"
            ' \'{"filename": "a.csv", "status": "done", "created": 2}\')'
        )
    )
    conn.commit()
    command.upgrade(config, "0019")
    conn.commit()
    assert "lead_import" not in _tables(conn)
    rows = conn.execute(
        text("SELECT at, target_id, after FROM audit_log WHERE action = 'lead.import' ORDER BY id")
    ).all()
    assert [r.target_id for r in rows] == ["1", "2"]
    runs = [
        _run_of(
            r.at, r.target_id, r.after if isinstance(r.after, dict) else json.loads(r.after), None
        )
        for r in rows
    ]
    assert [(r.source, r.status, r.counts["created"]) for r in runs] == [
        ("a.csv", "done", 2),
        ("b.csv", "refused", 2),
    ]
    assert runs[1].counts["rejected"] == 1
    command.downgrade(config, "0022")
    conn.commit()
    assert "lead_import" in _tables(conn)


def test_0024_keeps_every_history_import_run_and_batch_id(scratch_connection):
    """A run of the history import table keeps its audit entry, or gets one in that shape;
    the opportunities a run wrote carry the id of its audit entry as their batch id, and
    the table goes. Downgrading brings the table back with those runs."""
    from crm_core.imports.engine.runs import _run_of

    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0021")
    conn.execute(
        text(
            "INSERT INTO business_line (id, code, name, active, created_at)"
            " VALUES (1, 'x', 'X', true, '2026-01-01')"
        )
    )
    # Audit entries before the runs', so a run's entry id differs from its own id.
    for _n in range(3):
        conn.execute(
            text(
                "INSERT INTO audit_log (at, action, target_type, after)"
                " VALUES ('2026-10-01 08:00:00', 'lead.update', 'lead', '{}')"
            )
        )
    for run_id, filename, imported in ((1, "a.csv", 2), (2, "b.csv", 1)):
        conn.execute(
            text(
                "INSERT INTO history_import (id, filename, source, business_line_id, mode,"
                " status, total_rows, imported, already_imported, rejected, users_created,"
                " units_created, started_at) VALUES (:i, :f, 'history', 1, 'good_rows',"
                " 'done', :n, :n, 0, 0, 0, 0, '2026-11-01 08:00:00')"
            ),
            {"i": run_id, "f": filename, "n": imported},
        )
    conn.execute(
        text(
            "INSERT INTO audit_log (at, action, target_type, target_id, after)"
            " VALUES ('2026-11-01 08:00:00', 'history.import', 'history_import', '2',"
            ' \'{"filename": "b.csv", "status": "done", "imported": 1}\')'
        )
    )
    for lead_id, batch in ((1, 1), (2, 1), (3, 2), (4, None)):
        conn.execute(
            text(
                "INSERT INTO lead (id, name, name_key, no_phone, channel, created_at)"
                " VALUES (:i, 'L', 'l', false, 'sem', '2026-01-01')"
            ),
            {"i": lead_id},
        )
        conn.execute(
            text(
                "INSERT INTO opportunity (id, lead_id, business_line_id, pipeline_type, stage,"
                " pool_state, locked, recycle_count, created_at, history_import_id)"
                " VALUES (:i, :i, 1, 'new', 'new', 'public', false, 0, '2026-01-01', :b)"
            ),
            {"i": lead_id, "b": batch},
        )
    conn.commit()
    command.upgrade(config, "0024")
    conn.commit()
    assert "history_import" not in _tables(conn)
    entries = conn.execute(
        text(
            "SELECT id, at, target_id, after FROM audit_log"
            " WHERE action = 'history.import' ORDER BY target_id"
        )
    ).all()
    assert [e.target_id for e in entries] == ["1", "2"]
    runs = [
        _run_of(e.at, e.target_id, e.after if isinstance(e.after, dict) else json.loads(e.after), 1)
        for e in entries
    ]
    assert [(r.source, r.counts["imported"]) for r in runs] == [("a.csv", 2), ("b.csv", 1)]
    batches = dict(conn.execute(text("SELECT id, history_import_id FROM opportunity")).all())
    entry_of = {e.target_id: e.id for e in entries}
    assert batches == {1: entry_of["1"], 2: entry_of["1"], 3: entry_of["2"], 4: None}
    command.downgrade(config, "0021")
    conn.commit()
    assert "history_import" in _tables(conn)
    back = dict(conn.execute(text("SELECT id, filename FROM history_import")).all())
    assert back == {entry_of["1"]: "a.csv", entry_of["2"]: "b.csv"}
