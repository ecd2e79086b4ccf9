"""Sending: to one lead (a rep, from the opportunity) or to the leads of a library filter
(bulk senders), always through an approved template. A preview shows how many leads get a
message, who is left out and why, the segments and the cost, and a masked sample; the send
queues exactly what the preview showed, in the caller's transaction, for the delivery job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session, col, select

from crm_core.leads.masking import mask_phone
from crm_core.leads.search import LeadFilter, lead_conditions
from crm_core.leads.tags import filter_for_audit
from crm_core.models import Lead, SmsMessage, SmsOptOut, SmsTemplate
from crm_core.org.access import lead_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting
from crm_core.sms.recipients import Plan, Recipient, plan_messages
from crm_core.sms.templates import approved_template
from crm_core.sms.texts import cost

SAMPLES = 3


@dataclass(frozen=True)
class SendPreview:
    template_id: int
    matched: int
    sendable: int
    excluded: dict[str, int]
    segments: int
    cost: Decimal
    # (masked phone, text) of the first few messages: the page never holds a full number.
    samples: list[tuple[str, str]] = field(default_factory=list)
    blocked_words: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    batch_id: str | None
    queued: int
    excluded: dict[str, int]
    cost: Decimal


def _price(session: Session) -> Decimal:
    return Decimal(str(get_setting(session, "sms.price_per_segment")))


def _filter_ids(session: Session, actor: Actor, lead_filter: LeadFilter) -> list[int]:
    actor.require(Permission.BULK_SMS)
    limit = get_setting(session, "sms.max_per_send")
    ids = list(
        session.exec(
            select(Lead.id).where(*lead_conditions(actor, lead_filter)).limit(limit + 1)
        ).all()
    )
    if len(ids) > limit:
        raise ValidationError(
            N_("This search finds more than {limit} leads, the most one send reaches: narrow it."),
            limit=limit,
        )
    return ids


def _one_lead(session: Session, actor: Actor, lead_id: int) -> list[int]:
    actor.require(Permission.SEND_SMS)
    found = session.exec(
        select(Lead.id).where(
            Lead.id == lead_id,
            col(Lead.merged_into_id).is_(None),
            lead_scope(actor, per_lead=True, shared=False),
        )
    ).first()
    if found is None:
        raise NotFound(entity="lead", id=lead_id)
    return [found]


def _targets(
    session: Session, actor: Actor, lead_filter: LeadFilter | None, lead_id: int | None
) -> list[int]:
    if (lead_filter is None) == (lead_id is None):
        raise ValidationError(N_("Choose one lead or a search to send to."))
    if lead_id is not None:
        return _one_lead(session, actor, lead_id)
    return _filter_ids(session, actor, lead_filter)


def _preview(session: Session, template: SmsTemplate, matched: int, plan: Plan) -> SendPreview:
    total = sum(r.segments for r in plan.recipients)
    return SendPreview(
        template_id=template.id,
        matched=matched,
        sendable=len(plan.recipients),
        excluded={k: v for k, v in plan.excluded.items() if v},
        segments=total,
        cost=cost(total, _price(session)),
        samples=[(mask_phone(r.phone), r.text) for r in plan.recipients[:SAMPLES]],
        blocked_words=sorted(plan.blocked_words),
    )


def preview_send(
    session: Session,
    actor: Actor,
    template_id: int,
    *,
    lead_filter: LeadFilter | None = None,
    lead_id: int | None = None,
) -> SendPreview:
    """What sending `template_id` to one lead or to a search's leads would do; nothing is
    written."""
    ids = _targets(session, actor, lead_filter, lead_id)
    template = approved_template(session, template_id)
    plan = plan_messages(session, actor, template.body, ids)
    return _preview(session, template, len(ids), plan)


def queue_messages(
    session: Session,
    actor: Actor | None,
    template: SmsTemplate,
    recipients: list[Recipient],
    *,
    event_keys: dict[int, str] | None = None,
) -> str | None:
    """Insert one queued message per recipient (one statement per thousand); the batch id."""
    if not recipients:
        return None
    price = _price(session)
    batch = uuid.uuid4().hex
    now = clock.now()
    rows = [
        {
            "lead_id": r.lead_id,
            "template_id": template.id,
            "purpose": template.purpose,
            "phone": r.phone,
            "body": r.text,
            "segments": r.segments,
            "cost": cost(r.segments, price),
            "status": "queued",
            "batch_id": batch,
            "event_key": (event_keys or {}).get(r.lead_id),
            "sent_by_id": actor.user_id if actor else None,
            "created_at": now,
        }
        for r in recipients
    ]
    for start in range(0, len(rows), 1000):
        session.execute(insert(SmsMessage), rows[start : start + 1000])
    return batch


def send_sms(
    session: Session,
    actor: Actor,
    template_id: int,
    *,
    lead_filter: LeadFilter | None = None,
    lead_id: int | None = None,
    expected: int | None = None,
) -> SendResult:
    """Queue `template_id` for one lead or a search's leads. `expected`: the count the sender
    saw on the preview; when the leads changed since, nothing is sent and the sender is asked
    to look again."""
    ids = _targets(session, actor, lead_filter, lead_id)
    template = approved_template(session, template_id)
    plan = plan_messages(session, actor, template.body, ids)
    if expected is not None and expected != len(plan.recipients):
        raise ValidationError(
            N_("The leads changed since the preview ({then} then, {now} now): preview again."),
            then=expected,
            now=len(plan.recipients),
        )
    if not plan.recipients:
        raise ValidationError(N_("None of these leads can get this message."))
    batch = queue_messages(session, actor, template, plan.recipients)
    total = cost(sum(r.segments for r in plan.recipients), _price(session))
    excluded = {k: v for k, v in plan.excluded.items() if v}
    audit.record(
        session,
        actor,
        "sms.send",
        "sms_template",
        template.id,
        filter_for_audit(lead_filter) if lead_filter is not None else {"lead_id": lead_id},
        {"batch": batch, "queued": len(plan.recipients), "excluded": excluded, "cost": str(total)},
    )
    session.flush()
    return SendResult(batch, len(plan.recipients), excluded, total)


def opt_out(session: Session, actor: Actor, lead_id: int) -> bool:
    """Record that a lead in reach wants no more messages (told to a rep); False when they
    had already asked."""
    actor.require(Permission.SEND_SMS)
    _one_lead(session, actor, lead_id)
    if session.get(SmsOptOut, lead_id) is not None:
        return False
    session.add(
        SmsOptOut(lead_id=lead_id, source="rep", recorded_by_id=actor.user_id, at=clock.now())
    )
    audit.record(session, actor, "sms.opt_out", "lead", lead_id)
    session.flush()
    return True


def opt_in(session: Session, actor: Actor, lead_id: int) -> bool:
    """Take back a lead's opt-out (they asked for messages again); False when there was none."""
    actor.require(Permission.SEND_SMS)
    _one_lead(session, actor, lead_id)
    row = session.get(SmsOptOut, lead_id)
    if row is None:
        return False
    session.delete(row)
    audit.record(session, actor, "sms.opt_in", "lead", lead_id)
    session.flush()
    return True


def is_opted_out(session: Session, actor: Actor, lead_id: int) -> bool:
    """Whether a lead in reach asked for no more messages."""
    actor.require(Permission.SEND_SMS)
    _one_lead(session, actor, lead_id)
    return session.get(SmsOptOut, lead_id) is not None
