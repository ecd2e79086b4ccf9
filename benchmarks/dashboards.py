"""The dashboards on the large database: each dashboard's queries (caching off) for the
executive and a sales manager beside hand-written SQL doing the same counting, then each
page script under AppTest (cold: the first view after a change, in a process that has
opened the pages before; warm: from the cache).

The funnel counts each opportunity's kept furthest stage, and so does its plain SQL;
`dashboard_funnel_<who>_from_history` times the same counts computed from the stage history
itself, what the kept column saves."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta

from sqlalchemy import literal_column, text
from sqlmodel import Session, select

from benchmarks.common import BenchContext, best_of, report_ratio, report_value
from crm_core import analytics
from crm_core.analytics import DashboardFilter
from crm_core.analytics.scope import period_bounds
from crm_core.models import Opportunity, OrgUnit, User
from crm_core.org.access import load_actor
from crm_core.platform.company_time import local_day_sql, to_company

USERS = (("boss", "all"), ("director", "subtree"))
PAGES = {
    "funnel": "pages/dashboards/funnel.py",
    "circulation_health": "pages/dashboards/circulation_health.py",
    "performance": "pages/dashboards/performance.py",
    "channel_roi": "pages/dashboards/channel_roi.py",
}
RANK = (
    "CASE {c} WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'qualified' THEN 2"
    " WHEN 'trial_booked' THEN 3 WHEN 'trial_done' THEN 4 WHEN 'won' THEN 5 ELSE -1 END"
)
SCOPE = {
    "all": "1 = 1",
    "subtree": "(o.owner_id = :me OR o.org_unit_id IN"
    " (SELECT id FROM org_unit WHERE path LIKE :prefix))",
}
PEOPLE = {
    "all": "1 = 1",
    "subtree": "{c} IN (SELECT id FROM app_user WHERE id = :me OR org_unit_id IN"
    " (SELECT id FROM org_unit WHERE path LIKE :prefix))",
}
# The leads the viewer entered that nobody has taken yet (`access.waiting_own_leads`).
WAITING_OWN = (
    "(SELECT c.id FROM lead c WHERE c.created_by_id = :me AND NOT EXISTS (SELECT 1 FROM"
    " opportunity w WHERE w.lead_id = c.id AND (w.owner_id IS NOT NULL"
    " OR w.org_unit_id IS NOT NULL)))"
)
REVENUE_SCOPE = {
    "all": "1 = 1",
    "subtree": "(s.attributed_owner_id = :me OR s.attributed_org_path LIKE :segment)",
}


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _plain_funnel(session: Session, kind: str, params: dict) -> None:
    """The cohort by its furthest stage (kept on each opportunity) and lost."""
    session.execute(
        text(
            "SELECT o.furthest_stage, CASE WHEN o.stage = 'lost' THEN 1"
            " WHEN o.stage = 'won' THEN 2 ELSE 0 END, count(*)"
            f" FROM opportunity o WHERE {SCOPE[kind]} AND o.created_at >= :since"
            " AND o.created_at < :until GROUP BY 1, 2"
        ),
        params,
    ).all()


def _plain_funnel_from_history(session: Session, kind: str, params: dict) -> None:
    """The same counts from the stage history itself, as they would be without the kept
    furthest stage: what keeping it saves."""
    reach = f"CASE WHEN {RANK.format(c='stage')} > coalesce(r, 0) THEN {RANK.format(c='stage')}"
    session.execute(
        text(
            f"SELECT {reach} ELSE coalesce(r, 0) END, CASE WHEN stage = 'lost' THEN 1 ELSE 0 END,"
            f" count(*) FROM (SELECT o.id, o.stage, max({RANK.format(c='h.to_stage')}) AS r"
            " FROM opportunity o LEFT JOIN stage_history h ON h.opportunity_id = o.id"
            f" WHERE {SCOPE[kind]} AND o.created_at >= :since AND o.created_at < :until"
            " GROUP BY o.id, o.stage) x GROUP BY 1, 2"
        ),
        params,
    ).all()


def _plain_health(session: Session, kind: str, params: dict) -> None:
    scope = SCOPE[kind]
    # The company's local day, as the dashboard cuts it (crm_core.platform.company_time).
    day = str(
        local_day_sql(session, literal_column("e.at"), params["since"], params["until"]).compile(
            session.get_bind(), compile_kwargs={"literal_binds": True}
        )
    )
    if _sqlite(session):
        waited = "(julianday(o.first_follow_up_at) - julianday(o.assigned_at)) * 86400"
        soon = "(julianday(o.first_follow_up_at) - julianday(o.created_at)) * 86400"
    else:
        waited = "extract(epoch from o.first_follow_up_at - o.assigned_at)"
        soon = "extract(epoch from o.first_follow_up_at - o.created_at)"
    # Holdings, recycles and claims count by the people in scope (owner, recycled from,
    # claimer), as the dashboard does.
    people = PEOPLE[kind]
    statements = [
        "SELECT sum(CASE WHEN pool_state = 'owned' THEN 1 ELSE 0 END), sum(CASE WHEN"
        " pool_state = 'owned' AND coalesce(last_follow_up_at, assigned_at, created_at) < :idle"
        " THEN 1 ELSE 0 END), sum(CASE WHEN pool_state = 'dormant' THEN 1 ELSE 0 END)"
        f" FROM opportunity o WHERE {scope} AND pool_state IN ('owned', 'dormant')",
        "SELECT u.id, u.full_name, g.name, u.holding_cap, h.n FROM app_user u JOIN"
        f" (SELECT owner_id, count(*) AS n FROM opportunity o WHERE {people.format(c='owner_id')}"
        " AND pool_state = 'owned' GROUP BY owner_id) h ON h.owner_id = u.id"
        " LEFT JOIN org_unit g ON g.id = u.org_unit_id ORDER BY h.n DESC, u.id",
        *(
            f"SELECT {day}, e.rule_id, count(*) FROM flow_event e"
            f" WHERE {people.format(c='e.' + person)} AND e.at >= :since AND e.at < :until"
            f" AND e.reason = '{reason}' GROUP BY {day}, e.rule_id"
            for reason, person in (("recycle", "from_owner_id"), ("claim", "to_owner_id"))
        ),
        "SELECT CASE WHEN w IS NULL THEN 'not_yet' WHEN w <= 3600 THEN 'a' WHEN w <= 14400"
        " THEN 'b' WHEN w <= 86400 THEN 'c' WHEN w <= 259200 THEN 'd' ELSE 'e' END AS b,"
        f" count(*) FROM (SELECT {waited} AS w FROM opportunity o WHERE {scope}"
        " AND o.assigned_at IS NOT NULL AND o.assigned_at >= :since"
        " AND o.assigned_at < :until) x GROUP BY b",
        f"SELECT count(*), sum(CASE WHEN {soon} <= 86400 THEN 1 ELSE 0 END) FROM opportunity o"
        f" WHERE {scope} AND o.created_at >= :since AND o.created_at < :until",
    ]
    for statement in statements:
        session.execute(text(statement), params).all()


def _plain_performance(session: Session, kind: str, params: dict) -> None:
    scope = REVENUE_SCOPE[kind]
    session.execute(
        text(
            "SELECT attributed_org_path, attributed_owner_id, count(*),"
            " count(DISTINCT opportunity_id) FROM sales_order s"
            f" WHERE s.paid_at IS NOT NULL AND {scope} AND s.paid_at >= :since"
            " AND s.paid_at < :until GROUP BY attributed_org_path, attributed_owner_id"
        ),
        params,
    ).all()
    for table, moment in (("order_payment", "paid_at"), ("order_refund", "refunded_at")):
        session.execute(
            text(
                "SELECT attributed_org_path, attributed_owner_id, count(DISTINCT order_id),"
                f" sum(amount) FROM {table} s WHERE {scope} AND s.{moment} >= :since"
                f" AND s.{moment} < :until GROUP BY attributed_org_path, attributed_owner_id"
            ),
            params,
        ).all()
    session.execute(
        text(
            "SELECT g.path, o.owner_id, count(*) FROM opportunity o LEFT JOIN org_unit g"
            f" ON g.id = o.org_unit_id WHERE {SCOPE[kind]} AND o.stage = 'lost'"
            " AND o.closed_at >= :since AND o.closed_at < :until GROUP BY g.path, o.owner_id"
        ),
        params,
    ).all()


def _plain_roi(session: Session, kind: str, params: dict) -> None:
    leads = "l.merged_into_id IS NULL AND l.created_at >= :since AND l.created_at < :until"
    reach = (
        ""
        if kind == "all"
        else (
            " AND (EXISTS (SELECT 1 FROM opportunity o WHERE"
            f" o.lead_id = l.id AND {SCOPE[kind]}) OR l.id IN {WAITING_OWN})"
        )
    )
    session.execute(
        text(
            f"SELECT channel, campaign, count(*) FROM lead l WHERE {leads}{reach}"
            " GROUP BY channel, campaign"
        ),
        params,
    ).all()
    session.execute(
        text(
            "SELECT l.channel, l.campaign, count(DISTINCT o.id),"
            " sum(s.paid_amount - s.refunded_amount) FROM sales_order s"
            " JOIN opportunity o ON o.id = s.opportunity_id JOIN lead l ON l.id = o.lead_id"
            f" WHERE {leads} AND s.paid_amount > s.refunded_amount AND {REVENUE_SCOPE[kind]}"
            " GROUP BY l.channel, l.campaign"
        ),
        params,
    ).all()
    if kind == "all":
        session.execute(
            text(
                "SELECT channel, campaign, sum(amount) FROM marketing_spend WHERE month >= :first"
                " AND month <= :last GROUP BY channel, campaign"
            ),
            params,
        ).all()


FIGURES = {
    "funnel": (analytics.funnel, _plain_funnel),
    "circulation_health": (analytics.circulation_health, _plain_health),
    "performance": (analytics.performance, _plain_performance),
    "channel_roi": (analytics.channel_roi, _plain_roi),
}


def _view(session: Session) -> DashboardFilter:
    """The last 30 days of the data (the seed's "now" is when it ran)."""
    newest = session.exec(select(Opportunity.created_at).order_by(Opportunity.id.desc())).first()
    end = to_company(session, newest).date()
    return DashboardFilter(start=end - timedelta(days=29), end=end)


def run(ctx: BenchContext) -> None:
    previous = analytics.set_cache_enabled(False)
    try:
        with Session(ctx.engine) as session:
            view = _view(session)
            since, until = period_bounds(session, view)
            for username, kind in USERS:
                user = session.exec(select(User).where(User.username == username)).one()
                unit = session.get(OrgUnit, user.org_unit_id)
                actor = load_actor(session, user.id)
                params = {
                    "me": user.id,
                    "prefix": f"{unit.path}%",
                    "segment": f"%/{unit.id}/%",
                    "since": since,
                    "until": until,
                    "idle": until - timedelta(days=7),
                    "first": view.start.replace(day=1),
                    "last": view.end.replace(day=1),
                }
                for name, (ours, plain) in FIGURES.items():
                    report_ratio(
                        f"dashboard_{name}_{username}",
                        best_of(lambda ours=ours, a=actor: ours(session, a, view), repeat=3),
                        best_of(lambda p=plain, k=kind, q=params: p(session, k, q), repeat=3),
                    )
                report_value(
                    f"dashboard_funnel_{username}_from_history",
                    best_of(
                        lambda k=kind, q=params: _plain_funnel_from_history(session, k, q), repeat=3
                    ),
                    "s",
                )
    finally:
        analytics.set_cache_enabled(previous)
    _pages(ctx, view)


def _pages(ctx: BenchContext, view: DashboardFilter) -> None:
    """Each page under AppTest as the executive and a manager: the first view (cold cache)
    and the same view again (warm)."""
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415 - only this part needs it

    from tests.apptest import APP  # noqa: PLC0415

    os.environ["CRM_DATABASE_URL"] = ctx.url
    os.environ.setdefault("CRM_COOKIE_KEY", "benchmark-cookie-key-" + "x" * 24)
    os.environ.setdefault("CRM_DATA_DIR", tempfile.mkdtemp(prefix="crm-bench-"))
    params = analytics.to_query_params(view)
    for username, _ in USERS:
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.text_input[0].input(username)
        at.text_input[1].input("demo1234")
        at.button[0].click()
        at.run()
        # AppTest formats widget options outside the script, in the default language: read
        # the pages in it whatever the account chose (nothing is written).
        at.session_state["crm_language"] = "zh"
        # A server process loads each page's modules (plotly's chart types among them) once:
        # open every page first, so "cold" times a view whose data is not cached, not the
        # process's first import of a chart type.
        for path in PAGES.values():
            at.switch_page(path).run()
        analytics.clear_cache()
        for name, path in PAGES.items():
            timings = []
            for _ in range(2):
                for key, value in params.items():
                    at.query_params[key] = value
                started = time.perf_counter()
                at.switch_page(path).run()
                timings.append(time.perf_counter() - started)
                if at.exception:
                    raise RuntimeError(f"{path}: {at.exception}")
            analytics.clear_cache()
            report_value(f"page_{name}_{username}_cold", timings[0], "s")
            report_value(f"page_{name}_{username}", timings[1], "s")
