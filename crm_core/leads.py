"""The lead library, read within the actor's scope."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.access import Actor, lead_scope
from crm_core.models import Lead
from crm_core.permissions import Permission


def count_leads(session: Session, actor: Actor) -> int:
    """How many leads the actor reaches."""
    actor.require(Permission.VIEW_LEADS)
    return session.exec(select(func.count()).select_from(Lead).where(lead_scope(actor))).one()
