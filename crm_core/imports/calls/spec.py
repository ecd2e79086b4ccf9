"""The call-record file as an import spec: the vendor's export of calls (or a softphone's
log), each row one ended call, recorded like the vendor's callback reports it
(`crm_core.calls.records.record_call_events`): matched to its lead by number and to its user
by seat, a follow-up call of the opportunity, counted once however often the file comes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm_core.calls.records import MAX_SUMMARY, record_call_events
from crm_core.imports.engine import FieldSpec, Findings, Preview, RowReader, WriteOutcome
from crm_core.models import CALL_RESULTS, CallRecord, CallSeat, Lead
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_

CHUNK = 2000
MAX_ROWS = 50_000
CATEGORIES = ("record", "already")
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "call_id",
        ("call id", "call no", "record id", "id", "通话id", "通话编号", "话单id", "呼叫id"),
        required=True,
        max_length=80,
        messages={"missing": N_("A call record needs the vendor's call id.")},
    ),
    FieldSpec("seat", ("seat", "seat no", "agent", "坐席", "坐席号", "工号"), max_length=40),
    FieldSpec(
        "callee",
        ("callee", "customer number", "called number", "to", "被叫", "被叫号码", "客户号码"),
        kind="phone",
    ),
    FieldSpec(
        "caller", ("caller", "caller number", "from", "主叫", "主叫号码", "外显号码"), kind="phone"
    ),
    FieldSpec(
        "started_at", ("start", "started at", "start time", "开始时间", "呼叫时间"), kind="datetime"
    ),
    FieldSpec("answered_at", ("answered at", "answer time", "接通时间"), kind="datetime"),
    FieldSpec("ended_at", ("end", "ended at", "end time", "结束时间", "挂断时间"), kind="datetime"),
    FieldSpec(
        "duration",
        ("duration", "seconds", "talk time", "通话时长", "时长", "通话秒数"),
        kind="number",
    ),
    FieldSpec("result", ("result", "status", "outcome", "通话结果", "结果", "状态"), max_length=20),
    FieldSpec(
        "recording_url",
        ("recording", "recording url", "录音", "录音地址", "录音链接"),
        max_length=400,
    ),
    # The vendor's summary or speech-to-text of the call: the follow-up's text, flagged for
    # QA when it holds a sensitive word.
    FieldSpec(
        "summary",
        (
            "summary",
            "transcript",
            "call summary",
            "notes",
            "通话摘要",
            "通话小结",
            "摘要",
            "小结",
            "通话内容",
            "转写文本",
            "录音转写",
        ),
        max_length=MAX_SUMMARY,
    ),
)


@dataclass(frozen=True)
class CallRow:
    row: int
    call_id: str
    seat: str | None
    callee: str | None
    caller: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration: int | None
    result: str | None
    recording_url: str | None
    summary: str | None = None
    category: str = "record"


# How vendors spell a result, folded: -> ours.
RESULT_WORDS = {
    **{r: r for r in CALL_RESULTS},
    "connected": "answered",
    "接通": "answered",
    "已接通": "answered",
    "已接听": "answered",
    "noanswer": "no_answer",
    "no answer": "no_answer",
    "未接通": "no_answer",
    "未接听": "no_answer",
    "占线": "busy",
    "拒接": "rejected",
    "失败": "failed",
}


def read_call(reader: RowReader) -> CallRow:
    """One ended call; a result or a recording link that cannot be read is a reason."""
    result = reader["result"]
    if result is not None:
        result = RESULT_WORDS.get(
            result.strip().lower().replace("_", " ").replace(" ", "_"),
            RESULT_WORDS.get(result.strip().lower()),
        )
        if result is None:
            reader.bad(
                "result", N_("“{value}” is not a call result."), value=reader.texts["result"]
            )
    url = reader["recording_url"]
    if url is not None and not url.startswith(("https://", "http://")):
        reader.bad("recording_url", N_("The recording link must start with https://."))
        url = None
    duration = reader["duration"]
    if duration is not None and duration < 0:
        reader.bad("duration", N_("The duration cannot be negative."))
        duration = None
    return CallRow(
        reader.number,
        reader["call_id"],
        reader["seat"],
        reader["callee"],
        reader["caller"],
        reader["started_at"],
        reader["answered_at"],
        reader["ended_at"],
        None if duration is None else int(duration),
        result,
        url,
        reader["summary"],
    )


def check_calls(session: Session, actor: Actor, rows: list[CallRow], found: Findings):
    """A call the console has already recorded is `already` (the same file twice adds
    nothing); a number that is no lead's and a seat that is nobody's are warned about and
    kept."""
    ids = [r.call_id for r in rows]
    phones = sorted({r.callee for r in rows if r.callee})
    seats = sorted({r.seat for r in rows if r.seat})
    ended: set[str] = set()
    leads: set[str] = set()
    known_seats: set[str] = set()
    for start in range(0, max(len(ids), len(phones), len(seats)), CHUNK):
        ended.update(
            session.exec(
                select(CallRecord.provider_call_id).where(
                    col(CallRecord.provider_call_id).in_(ids[start : start + CHUNK]),
                    col(CallRecord.state).in_(("ended", "failed")),
                )
            ).all()
        )
        leads.update(
            session.exec(
                select(Lead.phone).where(col(Lead.phone).in_(phones[start : start + CHUNK]))
            )
        )
        known_seats.update(
            session.exec(
                select(CallSeat.seat_no).where(
                    col(CallSeat.seat_no).in_(seats[start : start + CHUNK])
                )
            )
        )
    checked = []
    for row in rows:
        if row.callee and row.callee not in leads:
            found.warn(
                row.row, "callee", N_("The number is no lead's: the call is kept without one.")
            )
        if row.seat and row.seat not in known_seats:
            found.warn(
                row.row,
                "seat",
                N_("Seat {seat} is nobody's: the call is kept without a user."),
                seat=row.seat,
            )
        checked.append(row if row.call_id not in ended else _already(row))
    return checked


def _already(row: CallRow) -> CallRow:
    return CallRow(
        *(getattr(row, f) for f in CallRow.__dataclass_fields__ if f != "category"),
        category="already",
    )


def write_calls(session: Session, actor: Actor, preview: Preview) -> WriteOutcome:
    """Record the new calls as ended calls, in one batch."""
    rows = list(preview.rows_in("record"))
    report = record_call_events(
        session,
        actor,
        [
            {
                "call_id": r.call_id,
                "event": "ended",
                "seat": r.seat,
                "callee": r.callee,
                "caller": r.caller,
                "started_at": r.started_at,
                "answered_at": r.answered_at,
                "ended_at": r.ended_at,
                "duration": r.duration,
                "result": r.result,
                "recording_url": r.recording_url,
                "summary": r.summary,
            }
            for r in rows
        ],
        source="import",
    )
    counts = preview.counts
    return WriteOutcome(
        {
            "recorded": report.created + report.updated - report.repeated,
            "follow_ups": report.follow_ups,
            "unknown_numbers": len(report.unknown_numbers),
            "already": counts["already"] + report.repeated,
            "rejected": counts["rejected"],
            "flagged": report.flagged,
        }
    )
