"""Could the data scope be applied in one place? A measurement for docs/security.md.

`python -m benchmarks.scope_criteria [--opportunities N] [--database URL]`

Runs the main scoped screens - the board (list and count), a rep's workbench, the lead
search (a name prefix, a phone's last four digits), the home page and two dashboards (the
funnel, circulation health) - for a rep, a team lead, a manager of one department, the
director of a region and an executive whose custom scope is that region, in two ways:

- `hand`: the services as they are, each applying its scope where it wrote it (some in
  forms chosen for the planner: per-part UNIONs, `scope_as_filter`, per-lead EXISTS);
- `hook`: the hand-written opportunity and lead scope replaced by nothing, and the scope
  applied once, by a `do_orm_execute` session hook that adds
  `with_loader_criteria(Opportunity, opportunity_scope(actor))` and
  `with_loader_criteria(Lead, lead_scope(actor))` to every ORM statement.

For each screen and actor it prints the median time of each way, whether both return the
same thing, and the statements whose plan reads `opportunity` or `lead` whole (SQLite
`SCAN <table>`, PostgreSQL `Seq Scan on <table>`), with the plan lines.

With `--rls` (PostgreSQL) it also runs them a third way, `rls`: the hand-written scope off
and row-level security policies on `opportunity` and `lead` reading the actor's id and
units from transaction settings; the policies are created inside a transaction that is
rolled back, so nothing stays.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass, replace
from datetime import timedelta

from sqlalchemy import event, exists, or_, text, true
from sqlalchemy.orm import aliased, with_loader_criteria
from sqlmodel import Session, select

from benchmarks.common import prepare
from crm_core.analytics import cache
from crm_core.analytics.filters import DashboardFilter
from crm_core.leads.search import LeadFilter
from crm_core.models import Lead, Opportunity, OrgUnit, User
from crm_core.org import access
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.permissions import DataScope
from crm_core.sales.board import BoardFilter

# The hand-written opportunity and lead scopes, by the names the services import them as.
_HAND_SCOPES = ("opportunity_scope", "opportunity_scope_parts", "lead_scope", "scope_as_filter")
_SERVICES = (
    "crm_core.org.access",
    "crm_core.sales.board",
    "crm_core.sales.home",
    "crm_core.leads.search",
    "crm_core.leads.search",
    "crm_core.circulation.opportunities",
    "crm_core.circulation.override",
    "crm_core.analytics.scope",
    "crm_core.analytics.funnel",
    "crm_core.analytics.circulation_health",
    "crm_core.sales.workbench",
)
_REAL = {
    "opportunity_scope": access.opportunity_scope,
    "lead_scope": access.lead_scope,
}


def _no_scope(name: str):
    if name == "opportunity_scope_parts":
        return lambda actor: [true()]
    return lambda actor, **_: true()


def hook_lead_scope(actor: Actor):
    """`lead_scope` as a criteria option must be: its EXISTS reads an alias of the
    opportunity and never correlates to the enclosing statement's own opportunity (as
    plain `lead_scope` does inside a query that joins opportunity - SQLAlchemy refuses it:
    "returned no FROM clauses due to auto-correlation")."""
    if actor.scope is DataScope.ALL:
        return true()
    other = aliased(Opportunity, name="scope_opportunity")
    scope = or_(other.owner_id == actor.user_id, access.unit_clause(actor, other.org_unit_id))
    if actor.scope is DataScope.SELF:
        # As lead_scope: a rep's share is small, read its ids once. One hook cannot also
        # pick lead_scope's per-lead form for a narrow search, as the search does by hand.
        reach = Lead.id.in_(select(other.lead_id).where(scope).correlate_except(other))
    else:
        reach = exists().where(other.lead_id == Lead.id, scope).correlate_except(other)
    return or_(Lead.created_by_id == actor.user_id, reach)


@contextmanager
def scope_in_one_place(session: Session, actor: Actor) -> Iterator[None]:
    """The `hook` way: hand-written scopes off, one session hook on."""
    saved = []
    for module_name in _SERVICES:
        module = importlib.import_module(module_name)
        for name in _HAND_SCOPES:
            if hasattr(module, name):
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, _no_scope(name))

    opportunity_criteria = _REAL["opportunity_scope"](actor)
    lead_criteria = hook_lead_scope(actor)

    def add_scope(state) -> None:
        if actor.scope is DataScope.ALL or not (state.is_select or state.is_update):
            return
        state.statement = state.statement.options(
            with_loader_criteria(Opportunity, opportunity_criteria, include_aliases=True),
            with_loader_criteria(Lead, lead_criteria, include_aliases=True),
        )

    event.listen(session, "do_orm_execute", add_scope)
    try:
        yield
    finally:
        event.remove(session, "do_orm_execute", add_scope)
        for module, name, value in saved:
            setattr(module, name, value)


_RLS = (
    "ALTER TABLE opportunity ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE opportunity FORCE ROW LEVEL SECURITY",
    "ALTER TABLE lead ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE lead FORCE ROW LEVEL SECURITY",
    # No "scope is all" branch: a term that does not name a column keeps PostgreSQL from
    # answering the OR with one index per arm (the company-wide scope sets every unit).
    "CREATE POLICY crm_scope ON opportunity USING ("
    " owner_id = current_setting('crm.user_id')::int"
    " OR org_unit_id = ANY (current_setting('crm.units')::int[]))",
    "CREATE POLICY crm_scope ON lead USING ("
    " created_by_id = current_setting('crm.user_id')::int"
    " OR EXISTS (SELECT 1 FROM opportunity o WHERE o.lead_id = lead.id))",
)


@contextmanager
def scope_by_rls(session: Session, actor: Actor) -> Iterator[None]:
    """The `rls` way (PostgreSQL): hand-written scopes off, policies on opportunity and
    lead reading the actor from settings of the transaction. Everything - the policies
    too - is rolled back afterwards. The lead policy's EXISTS reads opportunity through
    that table's own policy."""
    units = set(actor.exact_unit_ids)
    for path in actor.subtree_paths:
        units.update(session.exec(select(OrgUnit.id).where(OrgUnit.path.like(f"{path}%"))).all())
    connection = session.connection()
    for statement in _RLS:
        connection.exec_driver_sql(statement)
    settings = {
        "crm.user_id": str(actor.user_id or 0),
        "crm.units": "{" + ",".join(str(u) for u in sorted(units)) + "}",
    }
    for name, value in settings.items():
        connection.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )
    saved = []
    for module_name in _SERVICES:
        module = importlib.import_module(module_name)
        for name in _HAND_SCOPES:
            if hasattr(module, name):
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, _no_scope(name))
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        session.rollback()


# --- the screens ---------------------------------------------------------------------------------


def _screens(session: Session) -> dict[str, Callable[[Actor], object]]:
    from crm_core.analytics.circulation_health import circulation_health  # noqa: PLC0415
    from crm_core.analytics.funnel import funnel  # noqa: PLC0415
    from crm_core.leads.search import search_leads  # noqa: PLC0415
    from crm_core.sales.board import count_board, list_board  # noqa: PLC0415
    from crm_core.sales.home import home_summary  # noqa: PLC0415
    from crm_core.sales.workbench import workbench  # noqa: PLC0415

    today = clock.now().date()
    month = DashboardFilter(start=today - timedelta(days=29), end=today)
    prefix = session.exec(select(Lead.name).order_by(Lead.id).limit(1)).one()[:1]
    suffix = session.exec(
        select(Lead.phone_suffix)
        .where(Lead.phone_suffix.is_not(None))
        .order_by(Lead.id.desc())
        .limit(1)
    ).one()
    return {
        "board_list": lambda a: list_board(session, a, BoardFilter(), limit=50),
        "board_count": lambda a: count_board(session, a, BoardFilter()),
        "workbench": lambda a: workbench(session, a),
        "lead_search_name": lambda a: search_leads(session, a, LeadFilter(text=prefix)),
        "lead_search_suffix": lambda a: search_leads(session, a, LeadFilter(text=suffix)),
        "home": lambda a: home_summary(session, a),
        "funnel_30d": lambda a: funnel(session, a, month),
        "circulation_30d": lambda a: circulation_health(session, a, month),
    }


def _actors(session: Session) -> dict[str, Actor]:
    def by_name(username: str) -> Actor:
        user_id = session.exec(select(User.id).where(User.username == username)).one()
        return load_actor(session, user_id)

    director = by_name("director")
    region = session.get(OrgUnit, director.org_unit_id)
    units = session.exec(select(OrgUnit.id).where(OrgUnit.path.like(f"{region.path}%"))).all()
    executive = replace(
        by_name("boss"),
        scope=DataScope.CUSTOM,
        exact_unit_ids=frozenset(units),
        subtree_paths=frozenset(),
    )
    return {
        "rep": by_name("rep"),
        "team_lead": by_name("teamlead"),
        "manager": by_name("manager"),
        "director": director,
        "executive_custom": executive,
    }


# --- measuring -----------------------------------------------------------------------------------


class Statements:
    """The statements one screen sends, to explain afterwards."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []
        self.on = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.seen.append((statement, parameters))


def whole_reads(session: Session, statements: list[tuple[str, object]]) -> list[str]:
    """The statements whose plan reads `opportunity` or `lead` whole, with those lines."""
    found = []
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    for statement, parameters in statements:
        if sqlite:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            lines = [row[3] for row in plan]
            bad = [x for x in lines if x.startswith(("SCAN opportunity", "SCAN lead"))]
        else:
            plan = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            lines = [row[0] for row in plan]
            bad = [
                x.strip()
                for x in lines
                if "Seq Scan on opportunity" in x or "Seq Scan on lead" in x
            ]
        if bad:
            found.append(f"{' '.join(statement.split())[:160]} ... -> {bad}")
    return found


def canonical(value: object) -> str:
    """A result as text, dictionaries in key order (parts of a scope merge in any order)."""
    if isinstance(value, dict):
        return repr(sorted((repr(k), canonical(v)) for k, v in value.items()))
    if is_dataclass(value) and not isinstance(value, type):
        return canonical({f.name: getattr(value, f.name) for f in fields(value)})
    if isinstance(value, list | tuple):
        return repr([canonical(v) for v in value])
    return repr(value)


def median_time(work: Callable[[], object], repeat: int) -> float:
    work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(session: Session, screen: Callable[[], object], repeat: int) -> tuple:
    watch = Statements()
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", watch)
    try:
        watch.on = True
        result = screen()
        watch.on = False
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    seconds = median_time(screen, repeat)
    return result, seconds, whole_reads(session, watch.seen), len(watch.seen)


def run(
    url: str | None, opportunities: int, repeat: int, only: list[str], rls: bool = False
) -> None:
    ctx = prepare(url, opportunities)
    cache.set_enabled(False)
    with Session(ctx.engine, expire_on_commit=False) as session:
        clock.freeze(
            session.exec(
                select(Opportunity.created_at).order_by(Opportunity.created_at.desc()).limit(1)
            ).one()
            + timedelta(hours=1)
        )
        screens = _screens(session)
        for who, actor in _actors(session).items():
            for name, screen in screens.items():
                if only and name not in only:
                    continue
                try:
                    hand = measure(session, lambda s=screen, a=actor: s(a), repeat)
                except PermissionDenied:
                    continue
                with scope_in_one_place(session, actor):
                    hook = measure(session, lambda s=screen, a=actor: s(a), repeat)
                same = canonical(hand[0]) == canonical(hook[0])
                line = (
                    f"{name} {who}: hand={hand[1]:.4f}s ({hand[3]} statements) "
                    f"hook={hook[1]:.4f}s ratio={hook[1] / hand[1]:.2f} "
                    f"same_result={same}"
                )
                ways = [("hand", hand[2]), ("hook", hook[2])]
                if rls:
                    with scope_by_rls(session, actor):
                        by_rls = measure(session, lambda s=screen, a=actor: s(a), repeat)
                    line += (
                        f" rls={by_rls[1]:.4f}s ratio={by_rls[1] / hand[1]:.2f} "
                        f"same_result={canonical(hand[0]) == canonical(by_rls[0])}"
                    )
                    ways.append(("rls", by_rls[2]))
                print(line, flush=True)
                for label, reads in ways:
                    for line in reads:
                        print(f"    {label} reads whole: {line}", flush=True)
        clock.reset()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scope_criteria")
    parser.add_argument("screens", nargs="*", help="which screens (default all)")
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rls", action="store_true", help="also row-level security (PostgreSQL)")
    args = parser.parse_args(argv)
    run(args.database, args.opportunities, args.repeat, args.screens, args.rls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
