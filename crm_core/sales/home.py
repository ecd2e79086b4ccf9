"""What a user's home page shows: who they are and what their scope holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.circulation.opportunities import count_by
from crm_core.leads.search import count_leads
from crm_core.models import Opportunity, OrgUnit
from crm_core.org.access import opportunity_scope
from crm_core.org.units import unit_path_names
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class HomeSummary:
    full_name: str
    unit_path: list[str]
    role_codes: tuple[str, ...]
    scope: str
    lead_count: int | None
    opportunity_count: int | None
    open_count: int | None
    owned_by_me: int | None
    by_stage: dict[str, int] = field(default_factory=dict)
    by_pool_state: dict[str, int] = field(default_factory=dict)


def home_summary(session: Session, actor: Actor) -> HomeSummary:
    """The home page's figures for `actor`, each counted within their data scope."""
    unit = session.get(OrgUnit, actor.org_unit_id) if actor.org_unit_id else None
    lead_count = count_leads(session, actor) if actor.can(Permission.VIEW_LEADS) else None
    by_stage: dict[str, int] = {}
    by_pool: dict[str, int] = {}
    owned_by_me = None
    if actor.can(Permission.VIEW_OPPORTUNITIES):
        # One pass over the scope for both breakdowns.
        for (stage, state), count in count_by(
            session, actor, Opportunity.stage, Opportunity.pool_state
        ).items():
            by_stage[stage] = by_stage.get(stage, 0) + count
            by_pool[state] = by_pool.get(state, 0) + count
        owned_by_me = session.exec(
            select(func.count())
            .select_from(Opportunity)
            .where(
                Opportunity.owner_id == actor.user_id,
                Opportunity.pool_state == "owned",
                opportunity_scope(actor),
            )
        ).one()
    total = sum(by_pool.values()) if actor.can(Permission.VIEW_OPPORTUNITIES) else None
    open_count = (
        sum(n for state, n in by_pool.items() if state != "closed")
        if actor.can(Permission.VIEW_OPPORTUNITIES)
        else None
    )
    return HomeSummary(
        full_name=actor.full_name,
        unit_path=unit_path_names(session, unit) if unit else [],
        role_codes=actor.role_codes,
        scope=str(actor.scope),
        lead_count=lead_count,
        opportunity_count=total,
        open_count=open_count,
        owned_by_me=owned_by_me,
        by_stage=by_stage,
        by_pool_state=by_pool,
    )
