"""The lead library at scale.

`lead_search_*`: one page of the library search (count up to the cap, the page of 50, its
opportunities and tags) by phone suffix and by name prefix, for the executive, a director
and a rep, beside the same queries written by hand. `run` also times the lead import
(`benchmarks.lead_import`).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from benchmarks.common import BenchContext, best_of, report_ratio, report_value
from benchmarks.lead_import import actor_named as _actor
from benchmarks.lead_import import run_import_benchmark
from crm_core.leads.search import LeadFilter, search_leads

_PLAIN_PAGE = """
SELECT id, name, phone, no_phone, external_id, channel, campaign, region, city, customer_id,
       created_at
FROM lead WHERE merged_into_id IS NULL AND {where} {scope}
ORDER BY created_at DESC, id DESC LIMIT 50
"""
_PLAIN_COUNT = (
    "SELECT count(*) FROM (SELECT id FROM lead WHERE merged_into_id IS NULL AND {where} {scope}"
    " LIMIT 10001) AS x"
)
# The leads the reader entered that nobody has taken yet (`access.waiting_own_leads`).
_WAITING_OWN = (
    " OR id IN (SELECT c.id FROM lead c WHERE c.created_by_id = :me AND NOT EXISTS (SELECT 1"
    " FROM opportunity w WHERE w.lead_id = c.id AND (w.owner_id IS NOT NULL"
    " OR w.org_unit_id IS NOT NULL)))"
)
_PLAIN_SCOPE = {
    "all": "",
    "self": f"AND (id IN (SELECT lead_id FROM opportunity WHERE owner_id = :me){_WAITING_OWN})",
    "subtree": "AND (EXISTS (SELECT 1 FROM opportunity o"
    " WHERE o.lead_id = lead.id AND (o.owner_id = :me OR o.org_unit_id IN"
    f" (SELECT id FROM org_unit WHERE path LIKE :prefix))){_WAITING_OWN})",
}


def run_search_benchmark(ctx: BenchContext) -> None:
    with Session(ctx.engine) as session:
        leads = session.execute(text("SELECT count(*) FROM lead")).scalar_one()
        report_value("lead_search_leads", leads, "leads")
        suffix = session.execute(text("SELECT phone_suffix FROM lead WHERE id = 1")).scalar_one()
        surname = session.execute(text("SELECT name FROM lead WHERE id = 2")).scalar_one()[:1]
        for username, kind in (("boss", "all"), ("director", "subtree"), ("rep", "self")):
            actor = _actor(session, username)
            path = session.execute(
                text(
                    "SELECT u.path FROM org_unit u JOIN app_user a ON a.org_unit_id = u.id"
                    " WHERE a.id = :me"
                ),
                {"me": actor.user_id},
            ).scalar_one()
            params = {
                "me": actor.user_id,
                "prefix": f"{path}%",
                "suffix": suffix,
                "low": surname,
                "high": surname + "\U0010ffff",
            }
            for label, lead_filter, where in (
                ("suffix", LeadFilter(text=suffix), "phone_suffix = :suffix"),
                ("name", LeadFilter(text=surname), "name_key >= :low AND name_key < :high"),
            ):

                def ours(session=session, actor=actor, lead_filter=lead_filter):
                    search_leads(session, actor, lead_filter)

                def plain(session=session, where=where, kind=kind, params=params):
                    scope = _PLAIN_SCOPE[kind]
                    session.execute(text(_PLAIN_COUNT.format(where=where, scope=scope)), params)
                    ids = [
                        r[0]
                        for r in session.execute(
                            text(_PLAIN_PAGE.format(where=where, scope=scope)), params
                        )
                    ]
                    if ids:
                        marks = ", ".join(str(i) for i in ids)
                        session.execute(
                            text(
                                "SELECT o.lead_id, o.id, b.name, o.owner_id, u.full_name, o.stage,"
                                " o.pool_state FROM opportunity o JOIN business_line b"
                                " ON b.id = o.business_line_id LEFT JOIN app_user u ON u.id = o.owner_id"
                                f" WHERE o.lead_id IN ({marks})"
                            )
                        ).all()
                        session.execute(
                            text(f"SELECT lead_id, tag FROM lead_tag WHERE lead_id IN ({marks})")
                        ).all()

                report_ratio(f"lead_search_{label}_{username}", best_of(ours), best_of(plain))


def run(ctx: BenchContext) -> None:
    run_search_benchmark(ctx)
    run_import_benchmark(ctx)
