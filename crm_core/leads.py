"""The lead library, read within the actor's scope."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.access import Actor, lead_scope_parts
from crm_core.models import Lead
from crm_core.permissions import Permission


def count_leads(session: Session, actor: Actor) -> int:
    """How many leads the actor reaches: counted per disjoint part of the scope, each from
    its own index, rather than over an OR that reads the whole lead table."""
    actor.require(Permission.VIEW_LEADS)
    return sum(
        session.exec(select(func.count()).select_from(Lead).where(part)).one()
        for part in lead_scope_parts(actor)
    )
