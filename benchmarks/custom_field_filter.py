"""Filtering the lead library by one custom field at scale.

Builds N leads (the `--opportunities` size; a database of its own, or `--database`) with 20
custom fields, set-based: a 5-choice field and a number on every lead, the other 18 (text,
date, yes / no, several choices ...) on a tenth of the leads each. Then times the library's
real path (`search_leads`: the capped count, the newest page of 50, its opportunities and
tags) filtered on the choice field (one choice: a fifth of the leads) and on a number range
(a hundredth), beside the same answer written by hand (the count from the value rows, the
page in the fastest of three forms for the value); then the same filters as a rep (their own
leads, one in a hundred) and a team lead (the team's, one in ten) see them. Every lead has
one owned opportunity; the planner statistics are gathered (ANALYZE) once after the build,
so both sides read the same statistics.

`custom_field_filter: <s> s` is the slower of the two real-path timings for a reader who sees
every lead; `custom_field_filter_scoped` the slowest for the rep and the team lead.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select, text
from sqlmodel import Session

from benchmarks.common import BenchContext, best_of, report_ratio, report_value
from crm_core.custom_fields.definitions import ChoiceDraft, define_field, list_fields
from crm_core.custom_fields.filters import condition
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.models import BusinessLine, CustomField, Lead, Opportunity, OrgUnit, User
from crm_core.platform.actor import Actor
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.permissions import DataScope
from db.engine import DATA_DIR, build_engine
from db.migrate import upgrade_to_head

FIELDS = 20
TEAMS = 10
REPS_PER_TEAM = 10
KINDS = ("text", "date", "yes_no", "multi_choice", "number", "choice")
SYSTEM = Actor.system()

_SERIES = {
    "sqlite": "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)"
    " SELECT i FROM seq",
    "postgresql": "SELECT generate_series(1, :n) AS i",
}
_LEADS = {
    "sqlite": "INSERT INTO lead (name, name_key, no_phone, external_id, channel, created_at)"
    " SELECT 'L' || i, 'l' || i, 1, 'B' || i, 'sem',"
    " datetime('2026-01-01', '-' || i || ' seconds') FROM ({series}) s",
    "postgresql": "INSERT INTO lead (name, name_key, no_phone, external_id, channel, created_at)"
    " SELECT 'L' || i, 'l' || i, true, 'B' || i, 'sem',"
    " timestamp '2026-01-01' - i * interval '1 second' FROM ({series}) s",
}


def _choices(n: int) -> list[ChoiceDraft]:
    return [ChoiceDraft(f"Choice {k}", f"选项{k}", f"c{k}") for k in range(n)]


def _define(session: Session) -> list[CustomField]:
    fields = [
        define_field(
            session, SYSTEM, "lead", label_en="Degree", kind="choice", choices=_choices(5)
        ),
        define_field(session, SYSTEM, "lead", label_en="Budget", kind="number"),
    ]
    for k in range(FIELDS - 2):
        kind = KINDS[k % len(KINDS)]
        fields.append(
            define_field(
                session,
                SYSTEM,
                "lead",
                label_en=f"Extra {k}",
                kind=kind,
                choices=_choices(4) if kind in ("choice", "multi_choice") else None,
            )
        )
    return fields


def _value_sql(field: CustomField, k: int) -> str:
    """INSERT ... SELECT of one field's values: every lead for the first two, a tenth else."""
    column, expr = {
        "text": ("text_value", "'t' || (id % 1000)"),
        "choice": ("text_value", "'c' || (id % 4)"),
        "multi_choice": ("text_value", "'c' || (id % 4)"),
        "number": ("number_value", "id % 1000"),
        "yes_no": ("number_value", "id % 2"),
        "date": ("date_value", "NULL"),
    }[field.kind]
    if k == 0:
        expr = "'c' || (id % 5)"
    where = "" if k < 2 else f" WHERE id % 10 = {k % 10}"
    return (
        f"INSERT INTO lead_field_value (lead_id, field_id, {column})"
        f" SELECT id, {field.id}, {expr} FROM lead{where}"
    )


def build(url: str, leads: int) -> float | None:
    """Migrate, then fill an empty database with `leads` leads and their 20 fields."""
    upgrade_to_head(url)
    engine = build_engine(url)
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(CustomField)).one()[0]:
            return None
        print(f"building {leads:,} leads with {FIELDS} custom fields ...", flush=True)
        started = time.perf_counter()
        bootstrap(session)
        dialect = engine.dialect.name
        session.execute(text(_LEADS[dialect].format(series=_SERIES[dialect])), {"n": leads})
        for k, field in enumerate(_define(session)):
            if field.kind == "date":
                # Dates by dialect: a day within the year before 2026.
                day = (
                    "date('2025-01-01', '+' || (id % 365) || ' days')"
                    if dialect == "sqlite"
                    else "date '2025-01-01' + (id % 365)::int"
                )
                sql = _value_sql(field, k).replace("NULL", day)
            else:
                sql = _value_sql(field, k)
            session.execute(text(sql))
        session.commit()
    engine.dispose()
    return time.perf_counter() - started


def _build_owners(url: str) -> float | None:
    """Give every lead one owned opportunity: TEAMS teams of REPS_PER_TEAM reps, the leads
    dealt in blocks (a rep holds one lead in TEAMS * REPS_PER_TEAM, a team one in TEAMS),
    so the rep's and the team lead's views of the filter can be timed. Then ANALYZE, as a
    database that has lived a while has its planner statistics (both sides read them)."""
    engine = build_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(Opportunity)).one()[0]:
            return None
        print("giving every lead an owned opportunity ...", flush=True)
        line = BusinessLine(code="bench", name="Bench")
        root = OrgUnit(name="Sales", path="")
        session.add_all([line, root])
        session.flush()
        root.path = f"/{root.id}/"
        teams = [
            OrgUnit(name=f"Team {k}", parent_id=root.id, depth=1, path="") for k in range(TEAMS)
        ]
        session.add_all(teams)
        session.flush()
        reps = []
        for k, team in enumerate(teams):
            team.path = f"{root.path}{team.id}/"
            for r in range(REPS_PER_TEAM):
                reps.append(
                    User(
                        username=f"rep{k}_{r}",
                        employee_no=f"E{k}_{r}",
                        full_name=f"Rep {k}.{r}",
                        org_unit_id=team.id,
                        password_hash="-",
                    )
                )
        session.add_all(reps)
        session.flush()
        # Leads go to reps in blocks of 1000 ids, so a rep's share is spread over the
        # values like everyone's (the values follow id mod 5 and id mod 1000); reps are
        # listed team by team.
        first_rep, first_team = reps[0].id, teams[0].id
        rep = f"(id / 1000) % {len(reps)}"
        session.execute(
            text(
                "INSERT INTO opportunity (lead_id, business_line_id, pipeline_type, owner_id,"
                " org_unit_id, stage, furthest_stage, pool_state, locked, recycle_count,"
                " created_at, assigned_at)"
                f" SELECT id, {line.id}, 'new', {first_rep} + {rep},"
                f" {first_team} + ({rep}) / {REPS_PER_TEAM}, 'new', 'new', 'owned',"
                " false, 0, created_at, created_at FROM lead"
            )
        )
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    engine.dispose()
    return time.perf_counter() - started


# The best hand-written SQL for the same answer: the count from the value rows alone (merged
# leads left out), the page in whichever of three forms is fastest for the value at hand.
_PLAIN_COUNT = (
    "SELECT count(*) FROM (SELECT lead_id FROM lead_field_value WHERE field_id = :field"
    " AND {test} AND lead_id NOT IN (SELECT id FROM lead WHERE merged_into_id IS NOT NULL)"
    " LIMIT 10001) x"
)
_MATCHES = "SELECT lead_id FROM lead_field_value WHERE field_id = :field AND {test}"
_PAGE_FORMS = {
    "by_key": {
        "postgresql": f"id = ANY(ARRAY({_MATCHES}))",
        "sqlite": f"id IN ({_MATCHES})",
    },
    "hashed": {
        "postgresql": f"(id IN ({_MATCHES})) IS TRUE",
        "sqlite": f"(id IN ({_MATCHES})) IS TRUE",
    },
    "per_row": {
        dialect: "EXISTS (SELECT 1 FROM lead_field_value v WHERE v.lead_id = lead.id"
        " AND field_id = :field AND {test})"
        for dialect in ("postgresql", "sqlite")
    },
}
_PLAIN_PAGE = (
    "SELECT id, name, phone, no_phone, external_id, channel, campaign, region, city,"
    " customer_id, created_at FROM lead WHERE merged_into_id IS NULL AND {form}"
    " ORDER BY created_at DESC, id DESC LIMIT 50"
)
_PLAIN_ROWS = (
    "SELECT o.lead_id, o.id, b.name, o.owner_id, u.full_name, o.stage, o.pool_state"
    " FROM opportunity o JOIN business_line b ON b.id = o.business_line_id"
    " LEFT JOIN app_user u ON u.id = o.owner_id WHERE o.lead_id IN ({marks})"
)


def _plain(session: Session, dialect: str, field: CustomField, test: str, params: dict):
    """The plain-SQL side: the fastest page form for this value, and the work it times."""
    args = {"field": field.id, **params}

    def page(form: str) -> list[int]:
        sql = _PLAIN_PAGE.format(form=_PAGE_FORMS[form][dialect].format(test=test))
        return [r[0] for r in session.execute(text(sql), args)]

    timed = {form: best_of(lambda form=form: page(form), repeat=3) for form in _PAGE_FORMS}
    fastest = min(timed, key=timed.get)

    def work() -> None:
        session.execute(text(_PLAIN_COUNT.format(test=test)), args).scalar_one()
        ids = page(fastest)
        if ids:
            marks = ", ".join(str(i) for i in ids)
            session.execute(text(_PLAIN_ROWS.format(marks=marks))).all()
            session.execute(
                text(f"SELECT lead_id, tag FROM lead_tag WHERE lead_id IN ({marks})")
            ).all()

    return fastest, work


def _readers(session: Session) -> dict[str, Actor]:
    """A rep (their own leads: one in a hundred) and a team lead (the team's: one in ten),
    with every permission but their scope."""
    rep = session.exec(select(User).where(User.username == "rep0_0")).one()[0]
    mine = {
        "user_id": rep.id,
        "username": rep.username,
        "full_name": rep.full_name,
        "org_unit_id": rep.org_unit_id,
        "org_path": None,
        "permissions": SYSTEM.permissions,
    }
    return {
        "rep": Actor(**mine, scope=DataScope.SELF),
        "team": Actor(**mine, scope=DataScope.TEAM, exact_unit_ids=frozenset({rep.org_unit_id})),
    }


def run(ctx: BenchContext) -> None:
    leads = ctx.opportunities
    url = ctx.url or f"sqlite:///{DATA_DIR / f'bench-custom-{leads}.sqlite3'}"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    built = build(url, leads)
    if built is not None:
        report_value(f"custom_field_build_{leads}", built, "s")
    owners = _build_owners(url)
    if owners is not None:
        report_value(f"custom_field_owners_{leads}", owners, "s")
    engine = build_engine(url)
    slowest = slowest_scoped = 0.0
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Lead)).one()[0]
        report_value("custom_field_filter_leads", total, "leads")
        degree, budget = list_fields(session, "lead")[:2]
        readers = _readers(session)
        for label, cond, field, test, params in (
            (
                "choice",
                condition(degree, "any_of", ("c3",)),
                degree,
                "text_value IN (:v)",
                {"v": "c3"},
            ),
            (
                "range",
                condition(budget, "between", (100, 109)),
                budget,
                "number_value >= :low AND number_value <= :high",
                {"low": 100, "high": 109},
            ),
        ):
            lead_filter = LeadFilter(custom=(cond,))
            found = search_leads(session, SYSTEM, lead_filter)
            print(f"  {label}: {found.total}{'+' if found.total_capped else ''} leads", flush=True)

            def ours(lead_filter=lead_filter, actor=SYSTEM):
                search_leads(session, actor, lead_filter)

            form, plain = _plain(session, engine.dialect.name, field, test, params)
            print(f"  {label}: plain page form {form}", flush=True)
            ours_s, plain_s = best_of(ours), best_of(plain)
            slowest = max(slowest, ours_s)
            report_ratio(f"custom_field_filter_{label}", ours_s, plain_s)
            for name, actor in readers.items():
                seen = search_leads(session, actor, lead_filter)
                print(
                    f"  {label} for the {name}: {seen.total}{'+' if seen.total_capped else ''}",
                    flush=True,
                )
                scoped_s = best_of(
                    lambda lead_filter=lead_filter, actor=actor: ours(lead_filter, actor)
                )
                slowest_scoped = max(slowest_scoped, scoped_s)
                report_value(f"custom_field_filter_{label}_{name}", scoped_s, "s")
    engine.dispose()
    report_value("custom_field_filter", slowest, "s")
    report_value("custom_field_filter_scoped", slowest_scoped, "s")
