"""The deterministic demo company: `python -m db.seed` or `seed_database(engine)`.

The same seed gives the same company, leads and histories (times are relative to
`crm_core.platform.clock.now()`). The org tree and staff go through the core's services; leads,
opportunities and their histories are generated with numpy and bulk-inserted, all in one
transaction, so an interrupted seed leaves nothing half-written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crm_core.commerce.payment_rows import write_payment_rows
from crm_core.models import User
from crm_core.platform import clock
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.option_values import catalogue_stored_values
from crm_core.sales.stages import refresh_furthest_stages
from db.seed import history
from db.seed.activity import OPPORTUNITY_COLUMNS, OWNED, opportunity_rows, plan_opportunities
from db.seed.bulk import BulkWriter, analyze, epoch
from db.seed.calls import seed_calls
from db.seed.company import DEMO_PASSWORD, Company, build_company, fit_holding_caps
from db.seed.leads import LEAD_COLUMNS, lead_rows, plan_leads
from db.seed.qa import seed_qa
from db.seed.sms import seed_sms
from db.seed.spend import insert_spend
from db.seed.trials import insert_trials

DEFAULT_OPPORTUNITIES = 24_000
DEFAULT_SEED = 42
LEADS_PER_OPPORTUNITY = 1 / 1.2  # the rest are second opportunities in another line
BULK_TABLES = ("lead", "opportunity", "stage_history", "follow_up", "flow_event", "sales_order")
REPORT_TABLES = (
    "business_line",
    "org_unit",
    "app_user",
    "user_role",
    "product",
    "lead",
    "opportunity",
    "stage_history",
    "follow_up",
    "flow_event",
    "sales_order",
    "marketing_spend",
    "trial_lesson",
    "audit_log",
)


class DatabaseNotEmpty(Exception):
    """Seeding refused: the database already has user accounts."""


@dataclass
class SeedReport:
    """What a seed created: rows per table, time taken and the demo logins."""

    seed: int
    opportunities: int
    elapsed_s: float
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, unit
    password: str = DEMO_PASSWORD


def has_data(engine: Engine) -> bool:
    """True when the database already has user accounts (the seed never adds to those)."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(User)).one() > 0


def seed_database(
    engine: Engine,
    *,
    opportunities: int = DEFAULT_OPPORTUNITIES,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Fill an empty, migrated database with the demo company; raise DatabaseNotEmpty when
    it already has users."""
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        session.commit()  # the roles and option lists stay even when the seed is refused
        if session.exec(select(func.count()).select_from(User)).one() > 0:
            raise DatabaseNotEmpty("the database already has users; seed refused")
        now_dt = clock.now().replace(microsecond=0)
        now = epoch(now_dt)
        company = build_company(session, seed=seed, now=now_dt)
        say(f"company: {len(company.teams)} teams, {len(company.reps)} reps")
        _insert_activity(session, company, opportunities, seed, now, say)
        say(f"trial_lesson: {insert_trials(session, now_dt)} rows")
        # The funnel reads each opportunity's furthest stage; the bulk load wrote history only.
        refresh_furthest_stages(session)
        # The bulk load wrote campaigns as text: each becomes an entry of the campaign list.
        catalogue_stored_values(session)
        seed_sms(session)
        seed_calls(session)
        seed_qa(session)
        session.commit()
    analyze(engine)
    counts = _counts(engine)
    elapsed = time.perf_counter() - started
    say(f"done in {elapsed:.1f}s")
    return SeedReport(seed, opportunities, elapsed, counts, company.logins)


def _insert_activity(
    session: Session, company: Company, n: int, seed: int, now: int, say: Callable[[str], None]
) -> None:
    """Generate and bulk-insert leads, opportunities and their histories."""
    writer = BulkWriter(session)
    ids = {table: writer.next_id(table) for table in BULK_TABLES}
    writer.defer_checks(BULK_TABLES)
    # Separate streams per step: changing one step's draws leaves the others' data alone.
    streams = np.random.SeedSequence(seed).spawn(6)
    lead_count = 0 if n <= 0 else max(1, round(n * LEADS_PER_OPPORTUNITY))
    leads = plan_leads(
        np.random.default_rng(streams[0]),
        lead_count,
        now,
        ids["lead"],
        len(company.marketing_user_ids),
    )
    plan = plan_opportunities(
        np.random.default_rng(streams[1]), leads, company, max(n, 0), now, ids["opportunity"]
    )
    orders = history.plan_orders(np.random.default_rng(streams[2]), plan, company, now)
    holding = np.bincount(plan.rep[plan.state == OWNED], minlength=len(company.reps))
    fit_holding_caps(session, company, holding.tolist())
    say(f"generated {leads.n} leads, {plan.n} opportunities")

    steps = (
        ("lead", LEAD_COLUMNS, lead_rows(leads, company.marketing_user_ids)),
        ("opportunity", OPPORTUNITY_COLUMNS, opportunity_rows(plan, company, ids["lead"])),
        (
            "stage_history",
            history.STAGE_HISTORY_COLUMNS,
            history.stage_history_rows(plan, company, ids["stage_history"]),
        ),
        (
            "follow_up",
            history.FOLLOW_UP_COLUMNS,
            history.follow_up_rows(
                np.random.default_rng(streams[3]), plan, company, ids["follow_up"]
            ),
        ),
        (
            "flow_event",
            history.FLOW_EVENT_COLUMNS,
            history.flow_event_rows(
                np.random.default_rng(streams[4]), plan, company, ids["flow_event"]
            ),
        ),
        (
            "sales_order",
            history.ORDER_COLUMNS,
            history.order_rows(orders, plan, company, ids["sales_order"]),
        ),
    )
    for table, columns, rows in steps:
        t0 = time.perf_counter()
        count = writer.insert(table, columns, rows)
        say(f"{table}: {count} rows in {time.perf_counter() - t0:.1f}s")
    marketing = company.marketing_user_ids[0] if company.marketing_user_ids else None
    spend = insert_spend(session, np.random.default_rng(streams[5]), leads, marketing)
    say(f"marketing_spend: {spend} rows")
    t0 = time.perf_counter()
    writer.finish()
    # Revenue is read from the payments: each paid order's one payment (and refund).
    write_payment_rows(session)
    say(f"finished the load in {time.perf_counter() - t0:.1f}s")


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in REPORT_TABLES
        }


__all__ = [
    "BULK_TABLES",
    "DEFAULT_OPPORTUNITIES",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DatabaseNotEmpty",
    "SeedReport",
    "has_data",
    "seed_database",
]
