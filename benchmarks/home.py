"""The home page's scope counts (leads and opportunities in scope, by stage and pool state)
for a rep, a sales manager and the executive, beside hand-written SQL doing the same
counting."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select

from benchmarks.common import BenchContext, best_of, report_ratio
from crm_core.models import OrgUnit, User
from crm_core.org.access import load_actor
from crm_core.sales.home import home_summary

# The leads the reader entered that nobody has taken yet (`access.waiting_own_leads`).
WAITING_OWN = (
    "(SELECT c.id FROM lead c WHERE c.created_by_id = :me AND NOT EXISTS (SELECT 1 FROM"
    " opportunity w WHERE w.lead_id = c.id AND (w.owner_id IS NOT NULL"
    " OR w.org_unit_id IS NOT NULL)))"
)
SUBTREE = "(SELECT id FROM org_unit WHERE path LIKE :prefix)"
PLAIN = {
    "self": (
        "SELECT count(*) FROM lead WHERE id IN"
        " (SELECT lead_id FROM opportunity WHERE owner_id = :me) OR id IN " + WAITING_OWN,
        "SELECT stage, pool_state, count(*) FROM opportunity WHERE owner_id = :me"
        " GROUP BY stage, pool_state",
        "SELECT count(*) FROM opportunity WHERE owner_id = :me AND pool_state = 'owned'",
    ),
    # The same disjoint parts the core counts (the units of the subtree, then what the reader
    # owns outside it), not one OR that defeats both indexes.
    "subtree": (
        "SELECT count(*) FROM lead WHERE id IN (SELECT lead_id FROM opportunity WHERE"
        " org_unit_id IN " + SUBTREE + " UNION SELECT lead_id FROM opportunity WHERE"
        " owner_id = :me UNION " + WAITING_OWN[1:-1] + ")",
        "SELECT stage, pool_state, count(*) FROM (SELECT stage, pool_state FROM opportunity"
        " WHERE org_unit_id IN " + SUBTREE + " UNION ALL SELECT stage, pool_state FROM"
        " opportunity WHERE owner_id = :me AND (org_unit_id IS NULL OR org_unit_id NOT IN "
        + SUBTREE
        + ")) parts GROUP BY stage, pool_state",
        "SELECT count(*) FROM opportunity WHERE owner_id = :me AND pool_state = 'owned'",
    ),
    "all": (
        "SELECT count(*) FROM lead",
        "SELECT stage, pool_state, count(*) FROM opportunity GROUP BY stage, pool_state",
        "SELECT count(*) FROM opportunity WHERE owner_id = :me AND pool_state = 'owned'",
    ),
}


def run(ctx: BenchContext) -> None:
    for username, kind in (("rep", "self"), ("director", "subtree"), ("boss", "all")):
        with Session(ctx.engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            unit = session.get(OrgUnit, user.org_unit_id)
            actor = load_actor(session, user.id)
            params = {"me": user.id, "prefix": f"{unit.path}%"}

            def ours(session=session, actor=actor):
                home_summary(session, actor)

            def plain(session=session, params=params, kind=kind):
                for statement in PLAIN[kind]:
                    session.execute(text(statement), params).all()

            report_ratio(f"home_scope_{username}", best_of(ours), best_of(plain))
