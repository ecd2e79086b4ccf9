"""The send log: messages to the leads in the reader's reach, newest first, numbers masked
unless the reader may see them in full; and the counts by status of a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.leads.masking import display_phone
from crm_core.models import Lead, SmsMessage, SmsTemplate, User
from crm_core.org.access import lead_scope
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.permissions import Permission

MAX_ROWS = 500


@dataclass(frozen=True)
class MessageRow:
    id: int
    lead_id: int
    lead_name: str
    phone: str  # as the reader may see it
    template: str | None
    body: str
    segments: int
    cost: Decimal
    status: str
    error: str | None
    sent_by: str | None
    created_at: datetime
    settled_at: datetime | None


def _require_reader(actor: Actor) -> None:
    if not any(
        actor.can(p) for p in (Permission.SEND_SMS, Permission.BULK_SMS, Permission.MANAGE_SMS)
    ):
        raise PermissionDenied(permission=Permission.SEND_SMS.value)


def _where(actor: Actor, status: str | None, lead_id: int | None, since: datetime | None):
    conditions = [lead_scope(actor, per_lead=lead_id is not None)]
    if status:
        conditions.append(SmsMessage.status == status)
    if lead_id is not None:
        conditions.append(SmsMessage.lead_id == lead_id)
    if since is not None:
        conditions.append(SmsMessage.created_at >= since)
    return conditions


def list_messages(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    lead_id: int | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[MessageRow]:
    """The newest messages to leads in the actor's reach (at most `limit`, capped)."""
    _require_reader(actor)
    rows = session.exec(
        select(SmsMessage, Lead.name, SmsTemplate.name, User.full_name)
        .join(Lead, col(Lead.id) == col(SmsMessage.lead_id))
        .join(SmsTemplate, col(SmsTemplate.id) == col(SmsMessage.template_id), isouter=True)
        .join(User, col(User.id) == col(SmsMessage.sent_by_id), isouter=True)
        .where(*_where(actor, status, lead_id, since))
        .order_by(col(SmsMessage.created_at).desc(), col(SmsMessage.id).desc())
        .limit(min(limit, MAX_ROWS))
    ).all()
    return [
        MessageRow(
            m.id,
            m.lead_id,
            lead_name,
            display_phone(actor, m.phone),
            template,
            m.body,
            m.segments,
            m.cost,
            m.status,
            m.error,
            sender,
            m.created_at,
            m.settled_at,
        )
        for m, lead_name, template, sender in rows
    ]


def status_counts(
    session: Session, actor: Actor, *, since: datetime | None = None
) -> dict[str, tuple[int, Decimal]]:
    """status -> (messages, cost) of the messages to leads in reach since `since`."""
    _require_reader(actor)
    rows = session.exec(
        select(SmsMessage.status, func.count(), func.coalesce(func.sum(SmsMessage.cost), 0))
        .join(Lead, col(Lead.id) == col(SmsMessage.lead_id))
        .where(*_where(actor, None, None, since))
        .group_by(SmsMessage.status)
    ).all()
    return {status: (count, Decimal(str(total))) for status, count, total in rows}
