"""Several processes on one database: nothing that must be shared lives in one process.

The sign-in cookie's key is the deployment's (the environment's, or one kept in the
database), and a change made through one process shows on another's dashboards at once
(the cache keys on the database's watermark, not on what one process saw)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from crm_core.analytics import DashboardFilter, funnel
from crm_core.models import Setting
from crm_core.platform import clock
from crm_core.platform.shared_secrets import shared_secret
from crm_core.sales.stages import change_stage
from db.engine import PROJECT_ROOT
from tests.dashboard_factories import open_opportunity
from tests.factories import build_small_company
from ui import session_cookie

DAY0 = datetime(2026, 3, 2, 2, 0)
PERIOD = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


@pytest.mark.usefixtures("committed_db")  # other sessions must see the stored secret
def test_a_shared_secret_is_made_once_and_read_by_every_session(engine):
    with Session(engine) as first, Session(engine) as second:
        made = shared_secret(first, "probe", lambda: "made-first")
        first.commit()
        assert shared_secret(second, "probe", lambda: "made-second") == made == "made-first"
        second.commit()
        rows = first.exec(select(Setting).where(Setting.key == "secret.probe")).all()
        assert [r.value for r in rows] == ["made-first"]


@pytest.mark.usefixtures("committed_db")  # the other process must see the stored key
def test_without_an_environment_key_every_process_signs_with_the_databases_key(
    engine, database_url, monkeypatch, tmp_path
):
    monkeypatch.delenv("CRM_COOKIE_KEY", raising=False)
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    # An install that kept its key in the data folder keeps it.
    monkeypatch.setattr(session_cookie, "DATA_DIR", tmp_path)
    (tmp_path / "cookie_secret").write_text("kept-from-the-data-folder\n")
    monkeypatch.setattr(session_cookie, "_STORED_KEYS", {})
    assert session_cookie.cookie_signing_key() == "kept-from-the-data-folder"
    # Another console, on another machine (no such file there), reads the same key.
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ui.session_cookie import cookie_signing_key; print(cookie_signing_key())",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if k != "CRM_COOKIE_KEY"},
            "CRM_DATABASE_URL": database_url,
            "CRM_DATA_DIR": str(tmp_path / "elsewhere"),
        },
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "kept-from-the-data-folder"


# A console process of its own: prints how many opportunities the boss's funnel shows
# reached "contacted", each time a line arrives; on "move <id>" it moves one itself first.
OTHER_CONSOLE = """
import sys
from datetime import date, datetime
from sqlmodel import Session
from crm_core.analytics import DashboardFilter, funnel
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.sales.stages import change_stage
from db.engine import build_engine

clock.freeze(datetime.fromisoformat(sys.argv[2]))
engine = build_engine(sys.argv[1])
period = DashboardFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
boss_id, rep_id = int(sys.argv[3]), int(sys.argv[4])
for line in sys.stdin:
    with Session(engine) as session:
        if line.startswith("move "):
            change_stage(session, load_actor(session, rep_id), int(line.split()[1]), "contacted")
            session.commit()
        print(funnel(session, load_actor(session, boss_id), period).reached("contacted"), flush=True)
"""


@pytest.mark.usefixtures("committed_db")  # the other process must see the rows
def test_a_change_through_one_process_refreshes_the_dashboards_of_another(db, engine, database_url):
    company = build_small_company(db)
    first = open_opportunity(db, company, "rep_a1", DAY0)
    second = open_opportunity(db, company, "rep_a1", DAY0 + timedelta(hours=1))
    db.commit()
    clock.freeze(DAY0 + timedelta(days=1))
    boss, rep = company.actor(db, "boss"), company.actor(db, "rep_a1")
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            OTHER_CONSOLE,
            database_url,
            clock.now().isoformat(),
            str(boss.user_id),
            str(rep.user_id),
        ],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CRM_DATABASE_URL": database_url},
    )

    def other_sees(line: str = "look") -> int:
        other.stdin.write(line + "\n")
        other.stdin.flush()
        return int(other.stdout.readline())

    try:
        # Both processes have the figure in their caches.
        assert other_sees() == 0 and other_sees() == 0
        assert funnel(db, boss, PERIOD).reached("contacted") == 0
        # A change here shows there ...
        change_stage(db, rep, first, "contacted")
        db.commit()
        assert other_sees() == 1
        # ... and a change there shows here.
        assert other_sees(f"move {second}") == 2
        db.expire_all()
        assert funnel(db, boss, PERIOD).reached("contacted") == 2
    finally:
        other.stdin.close()
        other.wait(timeout=60)


def test_each_process_sizes_its_pool_from_the_environment(monkeypatch):
    from db.engine import build_engine

    monkeypatch.setenv("CRM_DB_POOL_SIZE", "3")
    monkeypatch.setenv("CRM_DB_MAX_OVERFLOW", "4")
    # Building an engine opens no connection: no server is needed at this address.
    engine = build_engine("postgresql+psycopg://crm:secret@127.0.0.1:1/crm")
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 4)
    monkeypatch.delenv("CRM_DB_POOL_SIZE")
    monkeypatch.delenv("CRM_DB_MAX_OVERFLOW")
    engine = build_engine("postgresql+psycopg://crm:secret@127.0.0.1:1/crm")
    assert (engine.pool.size(), engine.pool._max_overflow) == (10, 20)
