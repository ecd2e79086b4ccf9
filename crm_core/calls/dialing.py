"""Click-to-call: the rep presses "Call" beside the phone; the vendor rings the rep's seat and
then the customer. The number never reaches the page: the core reads it and hands it to the
vendor. Two steps, so the vendor's answer is never awaited inside a write transaction:
`start_call` records the attempt (the caller commits), `place_call` asks the vendor and
records its answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm_core.calls.providers import CallProvider, ProviderUnavailable, active_call_provider
from crm_core.calls.setup import seat_of
from crm_core.models import OPEN_STAGES, CallRecord, Lead, Opportunity
from crm_core.org.access import opportunity_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class CallStatus:
    id: int
    state: str
    result: str | None
    duration_s: int | None
    error: str | None


def start_call(session: Session, actor: Actor, opportunity_id: int) -> int:
    """Record a click-to-call attempt on an open opportunity in the actor's scope, from the
    actor's seat; its id. Refused with the reason: no phone, no seat, calling is off."""
    actor.require(Permission.WORK_OPPORTUNITIES)
    row = session.exec(
        select(Opportunity.id, Opportunity.lead_id, Lead.phone)
        .join(Lead, col(Lead.id) == col(Opportunity.lead_id))
        .where(
            Opportunity.id == opportunity_id,
            col(Opportunity.stage).in_(OPEN_STAGES),
            opportunity_scope(actor),
        )
    ).first()
    if row is None:
        raise NotFound(entity="opportunity", id=opportunity_id)
    _, lead_id, phone = row
    if not phone:
        raise ValidationError(N_("This lead has no phone number to call."))
    if active_call_provider(session) is None:
        raise ValidationError(N_("Click-to-call is off: no call-centre provider is set."))
    seat = seat_of(session, actor.user_id)
    if seat is None:
        raise ValidationError(
            N_("You have no seat on an active line: ask the call-centre administrator for one.")
        )
    record = CallRecord(
        opportunity_id=opportunity_id,
        lead_id=lead_id,
        user_id=actor.user_id,
        seat_no=seat[0].seat_no,
        customer_phone=phone,
        caller_number=seat[1].caller_number,
        state="dialling",
        started_at=clock.now(),
        source="click",
        created_at=clock.now(),
    )
    session.add(record)
    session.flush()
    # Who called whom and when; the number stays out of the log (the call record holds it).
    audit.record(
        session,
        actor,
        "call.start",
        "opportunity",
        opportunity_id,
        after={"call_id": record.id, "seat": seat[0].seat_no},
    )
    return record.id


def _own(session: Session, actor: Actor, call_id: int) -> CallRecord:
    record = session.get(CallRecord, call_id)
    if record is None or record.user_id != actor.user_id:
        raise NotFound(entity="call", id=call_id)
    return record


def place_call(
    session: Session, actor: Actor, call_id: int, *, provider: CallProvider | None = None
) -> CallStatus:
    """Ask the vendor to place the actor's recorded attempt; the call is then ringing, or
    failed with the vendor's reason (a vendor that is down or slow fails it too)."""
    actor.require(Permission.WORK_OPPORTUNITIES)
    record = _own(session, actor, call_id)
    if record.state != "dialling":
        return call_status(session, actor, call_id)
    provider = provider or active_call_provider(session)
    if provider is None:
        raise ValidationError(N_("Click-to-call is off: no call-centre provider is set."))
    try:
        receipt = provider.dial(
            client_id=str(record.id),
            seat=record.seat_no or "",
            caller=record.caller_number or "",
            callee=record.customer_phone or "",
        )
    except ProviderUnavailable as exc:
        record.state, record.error = "failed", str(exc)[:200]
    else:
        if receipt.accepted:
            record.state = "ringing"
            record.provider_call_id = record.provider_call_id or receipt.provider_call_id
        else:
            record.state, record.error = "failed", receipt.error
    if record.state == "failed":
        record.result, record.ended_at = "failed", clock.now()
    session.add(record)
    session.flush()
    return call_status(session, actor, call_id)


def call_status(session: Session, actor: Actor, call_id: int) -> CallStatus:
    """Where the actor's call is: dialling, ringing, connected, ended or failed."""
    record = _own(session, actor, call_id)
    return CallStatus(record.id, record.state, record.result, record.duration_s, record.error)


def call_readiness(session: Session, actor: Actor) -> str:
    """Whether the actor can place calls from the console: `ready` (a vendor is set and the
    actor has a seat on an active line), `no_seat` (calling is on, the actor has no seat),
    `off` (no vendor is set) or `not_allowed` (the actor works no opportunities)."""
    if not actor.can(Permission.WORK_OPPORTUNITIES):
        return "not_allowed"
    if active_call_provider(session) is None:
        return "off"
    return "ready" if seat_of(session, actor.user_id) is not None else "no_seat"


def click_to_call_ready(session: Session, actor: Actor) -> bool:
    """Whether the actor can place calls from the console (`call_readiness` is `ready`)."""
    return call_readiness(session, actor) == "ready"
