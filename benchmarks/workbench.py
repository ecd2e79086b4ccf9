"""The pages a rep lives in - the workbench, the opportunity board (board and list views)
and the opportunity detail - run with AppTest on the benchmark database, as a rep and as a
manager of 300 reps, each beside the core calls it makes timed alone.

Setup (once, idempotent): the active reps are topped up to 2,000 (`engine_setup`), and a
`bench_manager` account gets a sales-manager role whose custom scope is the first teams
that together hold at least 300 active reps (the seeded opportunities of those teams are
the manager's share).

For each page and person: `workbench_page_<page>_<who>: <s> s`, the median of five
reruns of the page after signing in through the real form and one warm-up run. During one
more run every SELECT that names `opportunity` is explained (`..._queries` says how many);
`..._full_scans: <n> queries` counts those that read the whole table or a whole index of
it (SQLite's `SCAN opportunity`,
PostgreSQL's sequential scan or index scan without a condition) and prints them.
Target: under 1 s, no full scan. `workbench_core_<call>_<who>` times the core call behind
each page alone; nothing plain compares with a whole page, so these are values, not ratios.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from benchmarks.common import BenchContext, report_value
from benchmarks.engine_setup import ensure_reps
from crm_core.circulation.opportunities import count_by
from crm_core.models import Opportunity, Role, User, UserRole
from crm_core.org.access import load_actor
from crm_core.org.roles import save_role
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import BUILTIN_ROLES, DataScope
from crm_core.sales.board import BoardFilter, board_columns, list_board
from crm_core.sales.detail import get_opportunity_detail
from crm_core.sales.workbench import workbench
from tests.apptest import login

MANAGER = "bench_manager"
MANAGER_REPS = 300
PASSWORD = "demo1234"
PAGES = {
    "workbench": "pages/sales/workbench.py",
    "board": "pages/sales/board.py",
    "list": "pages/sales/board.py",
    "detail": "pages/sales/opportunity.py",
}


def ensure_manager(session: Session) -> int:
    """The bench manager (custom scope over teams holding >= 300 active reps); returns how
    many active reps the scope holds."""
    teams = session.execute(
        text(
            "SELECT u.org_unit_id, count(*) FROM app_user u JOIN user_role ur ON ur.user_id = u.id"
            " JOIN role r ON r.id = ur.role_id WHERE r.code = 'rep' AND u.status = 'active'"
            " AND u.enabled GROUP BY u.org_unit_id ORDER BY u.org_unit_id"
        )
    ).all()
    chosen, reps = [], 0
    for unit_id, count in teams:
        if reps >= MANAGER_REPS:
            break
        chosen.append(unit_id)
        reps += count
    role = session.exec(select(Role).where(Role.code == MANAGER)).first()
    permissions = sorted(BUILTIN_ROLES["sales_manager"][0])
    if role is None:
        save_role(
            session,
            Actor.system(),
            code=MANAGER,
            name="Bench manager",
            permissions=permissions,
            data_scope=DataScope.CUSTOM.value,
            scope_unit_ids=chosen,
        )
        session.flush()
        role = session.exec(select(Role).where(Role.code == MANAGER)).one()
    user = session.exec(select(User).where(User.username == MANAGER)).first()
    if user is None:
        rep = session.exec(select(User).where(User.username == "rep")).one()
        user = User(
            username=MANAGER,
            employee_no="BENCHMGR",
            full_name="Bench manager",
            org_unit_id=chosen[0],
            password_hash=rep.password_hash,
        )
        session.add(user)
        session.flush()
        session.add(UserRole(user_id=user.id, role_id=role.id))
    session.commit()
    return reps


def _sample_opportunity(session: Session, actor: Actor) -> int:
    return list_board(session, actor, BoardFilter(), limit=1)[0].opportunity_id


def _open(at, page: str, opportunity_id: int):
    at.switch_page(PAGES[page])
    if page == "detail":
        at.query_params["id"] = str(opportunity_id)
    at.run()
    if page == "list":
        at.segmented_control(key="board_view").set_value("list")
        at.run()
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception}")
    return at


class ScanWatch:
    """Collects the SELECTs on opportunity that one page run sends."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, object]] = []
        self.on = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if (
            self.on
            and statement.lstrip().upper().startswith("SELECT")
            and ("opportunity" in statement)
        ):
            self.statements.append((statement, parameters))

    def full_scans(self, engine: Engine) -> list[str]:
        """The statements whose plan reads the whole opportunity table or a whole index
        of it, by one rule on both databases: SQLite's `SCAN opportunity` (with or without
        `USING INDEX`), PostgreSQL's sequential scan or an index scan without an index
        condition."""
        found = []
        with engine.connect() as conn:
            for statement, parameters in self.statements:
                if engine.dialect.name == "sqlite":
                    plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                    bad = [row[3] for row in plan if row[3].startswith("SCAN opportunity")]
                else:
                    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
                    bad = list(_whole_reads(plan.scalar_one()[0]["Plan"]))
                if bad:
                    found.append(f"{' '.join(statement.split())[:300]} -> {bad}")
        return found


def _whole_reads(node: dict):
    """PostgreSQL plan nodes that read all of opportunity or all of one of its indexes."""
    if node.get("Relation Name") == "opportunity":
        kind = node["Node Type"]
        if kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        ):
            yield f"{kind} on opportunity {node.get('Index Name', '')}".strip()
    for child in node.get("Plans", ()):
        yield from _whole_reads(child)


def run(ctx: BenchContext, repeat: int = 5) -> None:
    with Session(ctx.engine) as session:
        ensure_reps(session)
        reps = ensure_manager(session)
    report_value("workbench_manager_reps", reps, "reps")
    os.environ["CRM_DATABASE_URL"] = ctx.url
    os.environ.setdefault("CRM_COOKIE_KEY", "benchmark-cookie-key-0123456789abcdef")
    os.environ.setdefault("CRM_DATA_DIR", tempfile.mkdtemp(prefix="crm-bench-"))
    watch = ScanWatch()
    event.listen(Engine, "before_cursor_execute", watch)
    try:
        for who, username in (("rep", "rep"), ("manager", MANAGER)):
            with Session(ctx.engine) as session:
                user = session.exec(select(User).where(User.username == username)).one()
                actor = load_actor(session, user.id)
                sample = _sample_opportunity(session, actor)
                owned = count_by(session, actor, Opportunity.pool_state).get("owned", 0)
                report_value(f"workbench_{who}_owned_in_scope", owned, "opportunities")
                _core_times(session, actor, who, sample)
            at = login(username, PASSWORD)
            for page in PAGES:
                _open(at, page, sample)
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    at.run()
                    times.append(time.perf_counter() - started)
                report_value(f"workbench_page_{page}_{who}", statistics.median(times), "s")
                watch.statements.clear()
                watch.on = True
                at.run()
                watch.on = False
                scans = watch.full_scans(ctx.engine)
                report_value(
                    f"workbench_page_{page}_{who}_queries", len(watch.statements), "queries"
                )
                report_value(f"workbench_page_{page}_{who}_full_scans", len(scans), "queries")
                for line in scans:
                    print(f"  full scan: {line}", flush=True)
    finally:
        event.remove(Engine, "before_cursor_execute", watch)


def _core_times(session: Session, actor: Actor, who: str, sample: int) -> None:
    """The core calls behind the pages, timed alone (median of five after a warm-up)."""
    calls = {
        "board": lambda: board_columns(session, actor),
        "list": lambda: list_board(session, actor),
        "detail": lambda: get_opportunity_detail(session, actor, sample),
    }
    if actor.can("work_opportunities"):
        calls["workbench"] = lambda: workbench(session, actor)
    for name, call in calls.items():
        call()
        times = []
        for _ in range(5):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        report_value(f"workbench_core_{name}_{who}", statistics.median(times), "s")
