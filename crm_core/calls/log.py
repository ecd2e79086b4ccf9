"""The call log: calls on opportunities in the reader's scope and the reader's own calls,
newest first, numbers masked unless the reader may see them; calls to numbers that are no
lead's, for call-centre administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from crm_core.leads.masking import display_phone
from crm_core.models import CallRecord, Lead, Opportunity, User
from crm_core.org.access import opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission

MAX_ROWS = 500


@dataclass(frozen=True)
class CallRow:
    id: int
    opportunity_id: int | None
    lead_name: str | None
    phone: str
    user_name: str | None
    state: str
    result: str | None
    started_at: datetime | None
    duration_s: int | None
    recording_url: str | None
    source: str


def list_calls(
    session: Session,
    actor: Actor,
    *,
    opportunity_id: int | None = None,
    unknown_numbers: bool = False,
    since: datetime | None = None,
    limit: int = 200,
) -> list[CallRow]:
    """Calls in reach, newest first (at most `limit`, capped); `unknown_numbers`: the calls
    that matched no lead (call-centre administrators only)."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    query = (
        select(CallRecord, Lead.name, User.full_name)
        .join(Opportunity, col(Opportunity.id) == col(CallRecord.opportunity_id), isouter=True)
        .join(Lead, col(Lead.id) == col(CallRecord.lead_id), isouter=True)
        .join(User, col(User.id) == col(CallRecord.user_id), isouter=True)
    )
    if unknown_numbers:
        actor.require(Permission.MANAGE_CALL_CENTER)
        query = query.where(col(CallRecord.lead_id).is_(None))
    else:
        query = query.where(
            or_(
                CallRecord.user_id == actor.user_id,
                col(CallRecord.opportunity_id).is_not(None) & opportunity_scope(actor),
            )
        )
    if opportunity_id is not None:
        query = query.where(CallRecord.opportunity_id == opportunity_id)
    if since is not None:
        query = query.where(CallRecord.started_at >= since)
    rows = session.exec(
        query.order_by(col(CallRecord.created_at).desc(), col(CallRecord.id).desc()).limit(
            min(limit, MAX_ROWS)
        )
    ).all()
    return [
        CallRow(
            r.id,
            r.opportunity_id,
            lead,
            display_phone(actor, r.customer_phone),
            user,
            r.state,
            r.result,
            r.started_at,
            r.duration_s,
            r.recording_url,
            r.source,
        )
        for r, lead, user in rows
    ]
