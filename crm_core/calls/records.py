"""Call records from the vendor: its signed callback (one event at a time as a call
progresses) and call files (many ended calls at once) both land here, set-based.

Each event names the vendor's call id; a click-to-call also carries our id (`client_id`),
so an event that arrives before the vendor's answer to `place_call` still finds its call.
A call the console did not place (dialled from the softphone) is matched by its seat (the
user) and the customer's number (the lead; the lead's open opportunity owned by that user,
else the lead's newest open one). An ended call to a known lead becomes a follow-up call
(`channel="call"`, duration, recording) of that opportunity, which the recycle rules count;
an ended call is never counted twice, and a number that is no lead's is kept and reported.
The ended event may carry the call's summary or transcript (a vendor's speech-to-text): it
becomes the follow-up's text, flagged for QA like a note when it holds a sensitive word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, case, func, insert, update
from sqlmodel import Session, col, select

from crm_core.leads.phones import normalise_phone
from crm_core.models import (
    CALL_RESULTS,
    OPEN_STAGES,
    CallRecord,
    CallSeat,
    FollowUp,
    Lead,
    Opportunity,
)
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission
from crm_core.qa.flags import flag_written

EVENTS = ("ringing", "answered", "ended")
STATE_OF = {"ringing": "ringing", "answered": "connected", "ended": "ended"}
RANK = {"dialling": 0, "ringing": 1, "connected": 2, "ended": 3, "failed": 3}
# A follow-up's text holds at most this much (FollowUp.content); a longer transcript is cut.
MAX_SUMMARY = 4000


@dataclass
class CallReport:
    """What a batch of events did: records created and updated, follow-ups written, ended
    calls reported again, numbers that are no lead's, bad events with the reason, and the
    follow-ups flagged for QA by a sensitive word in the call's summary."""

    created: int = 0
    updated: int = 0
    follow_ups: int = 0
    repeated: int = 0
    flagged: int = 0
    unknown_numbers: list[str] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)


def _instant(value) -> datetime | None:
    """An ISO time (with its offset; none: UTC) as a naive UTC instant."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        at = value
    else:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


@dataclass
class _Event:
    index: int
    call_id: str
    client_id: int | None
    kind: str
    seat: str | None
    caller: str | None
    callee: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    result: str | None
    recording_url: str | None
    summary: str | None = None


def _parse(index: int, raw: Mapping) -> _Event | str:
    call_id = str(raw.get("call_id") or "").strip()[:80]
    kind = str(raw.get("event") or "").strip().lower()
    if not call_id:
        return "no call_id"
    if kind not in EVENTS:
        return f"unknown event {kind!r}"
    try:
        started, answered, ended = (
            _instant(raw.get(k)) for k in ("started_at", "answered_at", "ended_at")
        )
        duration = raw.get("duration")
        duration = None if duration in (None, "") else max(0, int(float(duration)))
    except (TypeError, ValueError):
        return "a time or the duration cannot be read"
    result = str(raw.get("result") or "").strip().lower() or None
    if result is not None and result not in CALL_RESULTS:
        return f"unknown result {result!r}"
    client = str(raw.get("client_id") or "").strip()
    url = str(raw.get("recording_url") or "").strip() or None
    if url is not None and not url.startswith(("https://", "http://")):
        return "the recording link is not an http(s) address"
    # Vendors name the text either way: a summary, or the raw transcript.
    summary = str(raw.get("summary") or raw.get("transcript") or "").strip()[:MAX_SUMMARY]
    return _Event(
        index,
        call_id,
        int(client) if client.isdigit() else None,
        kind,
        str(raw.get("seat") or "").strip() or None,
        normalise_phone(str(raw.get("caller") or "")) or None,
        normalise_phone(str(raw.get("callee") or "")) or None,
        started,
        answered,
        ended or (clock.now() if kind == "ended" else None),
        duration,
        result,
        url[:400] if url else None,
        summary or None,
    )


def _lookups(session: Session, events: list[_Event]):
    """The records, seats, leads and opportunities the batch names, read in a few queries."""
    by_call = {
        r.provider_call_id: r
        for r in session.exec(
            select(CallRecord).where(
                col(CallRecord.provider_call_id).in_({e.call_id for e in events})
            )
        ).all()
    }
    clients = {e.client_id for e in events if e.client_id is not None}
    by_client = (
        {r.id: r for r in session.exec(select(CallRecord).where(col(CallRecord.id).in_(clients)))}
        if clients
        else {}
    )
    seats = dict(
        session.exec(
            select(CallSeat.seat_no, CallSeat.user_id).where(
                col(CallSeat.seat_no).in_({e.seat for e in events if e.seat})
            )
        ).all()
    )
    phones = {e.callee for e in events if e.callee}
    leads = dict(
        session.exec(
            select(Lead.phone, Lead.id).where(
                col(Lead.phone).in_(phones), col(Lead.merged_into_id).is_(None)
            )
        ).all()
    )
    opportunities: dict[int, list[tuple[int, int | None]]] = {}
    for opp_id, lead_id, owner in session.exec(
        select(Opportunity.id, Opportunity.lead_id, Opportunity.owner_id)
        .where(
            col(Opportunity.lead_id).in_(set(leads.values())),
            col(Opportunity.stage).in_(OPEN_STAGES),
        )
        .order_by(col(Opportunity.id).desc())
    ).all():
        opportunities.setdefault(lead_id, []).append((opp_id, owner))
    return by_call, by_client, seats, leads, opportunities


def _opportunity_for(options: list[tuple[int, int | None]], user_id: int | None) -> int | None:
    for opp_id, owner in options:
        if owner is not None and owner == user_id:
            return opp_id
    return options[0][0] if options else None


def record_call_events(
    session: Session, actor: Actor, events: Iterable[Mapping], *, source: str = "callback"
) -> CallReport:
    """Apply the vendor's call events (see the module's docstring) as the vendor's callback
    (the system, after the shell checked the signature) or a call-centre administrator's
    file; flushed, not committed."""
    actor.require(Permission.MANAGE_CALL_CENTER)
    report = CallReport()
    parsed: list[_Event] = []
    for index, raw in enumerate(events):
        event = _parse(index, raw)
        if isinstance(event, str):
            report.bad.append((index, event))
        else:
            parsed.append(event)
    if not parsed:
        return report
    by_call, by_client, seats, leads, opportunities = _lookups(session, parsed)
    now = clock.now()
    touched: dict[int, CallRecord] = {}
    ended_now: list[CallRecord] = []
    summaries: dict[int, str] = {}  # id(record) -> the summary its ending event carried
    for e in parsed:
        record = by_call.get(e.call_id)
        if record is None and e.client_id is not None:
            known = by_client.get(e.client_id)
            if known is not None and known.provider_call_id in (None, e.call_id):
                record = known
        if record is None:
            user_id = seats.get(e.seat) if e.seat else None
            lead_id = leads.get(e.callee) if e.callee else None
            if lead_id is None:
                report.unknown_numbers.append(e.callee or "")
            record = CallRecord(
                provider_call_id=e.call_id,
                user_id=user_id,
                lead_id=lead_id,
                opportunity_id=_opportunity_for(opportunities.get(lead_id, []), user_id),
                seat_no=e.seat,
                customer_phone=e.callee,
                caller_number=e.caller,
                state="dialling",
                source=source,
                created_at=now,
            )
            session.add(record)
            report.created += 1
        elif record.id is not None and record.id not in touched:
            report.updated += 1
        by_call[e.call_id] = record
        if record.state in ("ended", "failed"):
            report.repeated += 1
            continue
        record.provider_call_id = record.provider_call_id or e.call_id
        if RANK[STATE_OF[e.kind]] >= RANK[record.state]:
            record.state = STATE_OF[e.kind]
        record.started_at = e.started_at or record.started_at or now
        record.answered_at = e.answered_at or record.answered_at
        if e.kind == "ended":
            record.ended_at = e.ended_at
            record.duration_s = e.duration_s if e.duration_s is not None else _seconds(record)
            answered = record.answered_at is not None or bool(record.duration_s)
            record.result = e.result or ("answered" if answered else "no_answer")
            record.recording_url = e.recording_url or record.recording_url
            ended_now.append(record)
            if e.summary:
                summaries[id(record)] = e.summary
        touched[id(record)] = record
    session.flush()
    report.follow_ups, report.flagged = _follow_ups(
        session, [r for r in ended_now if r.opportunity_id], summaries
    )
    return report


def _seconds(record: CallRecord) -> int:
    if record.answered_at and record.ended_at:
        return max(0, int((record.ended_at - record.answered_at).total_seconds()))
    return 0


# A call's result as a follow-up result of the option list (its labels are the company's).
FOLLOW_UP_RESULT = {
    "answered": "connected",
    "no_answer": "no_answer",
    "busy": "busy",
    "rejected": "hung_up",
    "failed": "no_answer",
}


def _follow_ups(
    session: Session, records: list[CallRecord], summaries: dict[int, str]
) -> tuple[int, int]:
    """One follow-up call per ended call (its text the call's summary), the opportunities'
    follow-up times moved on, and the summaries holding sensitive words flagged: a few
    statements for the batch. Returns the follow-ups written and flagged."""
    if not records:
        return 0, 0
    ids = session.scalars(
        insert(FollowUp).returning(FollowUp.id, sort_by_parameter_order=True),
        [
            {
                "opportunity_id": r.opportunity_id,
                "author_id": r.user_id,
                "channel": "call",
                "content": summaries.get(id(r), ""),
                "result": FOLLOW_UP_RESULT.get(r.result or ""),
                "call_duration_s": r.duration_s,
                "recording_url": r.recording_url,
                "created_at": r.ended_at,
            }
            for r in records
        ],
    ).all()
    flagged = flag_written(
        session,
        [
            (follow_up_id, r.user_id, summaries[id(r)])
            for follow_up_id, r in zip(ids, records, strict=True)
            if id(r) in summaries
        ],
    )
    latest: dict[int, datetime] = {}
    for r in records:
        latest[r.opportunity_id] = max(latest.get(r.opportunity_id, r.ended_at), r.ended_at)
    table = Opportunity.__table__
    at = bindparam("at")
    session.execute(
        update(table)
        .where(table.c.id == bindparam("oid"))
        .values(
            first_follow_up_at=func.coalesce(table.c.first_follow_up_at, at),
            last_follow_up_at=case(
                (table.c.last_follow_up_at.is_(None), at),
                (table.c.last_follow_up_at < at, at),
                else_=table.c.last_follow_up_at,
            ),
        ),
        [{"oid": oid, "at": when} for oid, when in latest.items()],
    )
    session.flush()
    return len(records), flagged
