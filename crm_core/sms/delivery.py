"""Delivery: the job that hands queued messages to the provider at the configured rate,
and the provider's callbacks (delivery reports, and replies such as 退订 that opt a lead
out). Reports for unknown or already settled messages are counted and answered, not lost."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from crm_core.leads.phones import normalise_phone
from crm_core.models import Lead, SmsMessage, SmsOptOut
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.metadata import fold
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting
from crm_core.sms.provider_config import active_provider
from crm_core.sms.providers import OutgoingSms, ProviderUnavailable, SmsProvider

BATCH = 100
# Replies that mean "no more messages" (China's 退订/TD convention, and the English ones).
OPT_OUT_WORDS = frozenset({"td", "t", "退订", "退", "stop", "unsubscribe"})


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    error: str | None = None


def deliver_queued(
    session: Session, actor: Actor, *, provider: SmsProvider | None = None, limit: int | None = None
) -> DeliveryRun:
    """Hand at most `limit` (setting `sms.per_minute`) queued messages, oldest first, to the
    provider. A provider that is down leaves them queued for the next run; a message the
    provider refuses fails with its reason."""
    actor.require(Permission.RUN_JOBS)
    run = DeliveryRun()
    provider = provider or active_provider(session)
    limit = limit or get_setting(session, "sms.per_minute")
    if provider is None:
        run.waiting = _queued(session)
        return run
    rows = session.exec(
        select(SmsMessage.id, SmsMessage.phone, SmsMessage.body)
        .where(SmsMessage.status == "queued")
        .order_by(SmsMessage.created_at, SmsMessage.id)
        .limit(limit)
    ).all()
    now = clock.now()
    settled = "sent" if provider.reports_delivery else "delivered"
    # Every batch is handed over before anything is written: the provider's answers never
    # wait inside a write transaction that holds others' writes back.
    changes = []
    for start in range(0, len(rows), BATCH):
        batch = [OutgoingSms(*row) for row in rows[start : start + BATCH]]
        try:
            receipts = provider.send(batch)
        except ProviderUnavailable as exc:
            run.error = str(exc)
            break
        changes += [
            {
                "mid": r.id,
                "status": settled if r.accepted else "failed",
                "pid": r.provider_message_id,
                "error": r.error,
                "sent": now,
                "settled": None if r.accepted and provider.reports_delivery else now,
            }
            for r in receipts
        ]
        run.sent += sum(1 for r in receipts if r.accepted)
        run.failed += sum(1 for r in receipts if not r.accepted)
    if changes:
        table = SmsMessage.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("mid"))
            .values(
                status=bindparam("status"),
                provider_message_id=bindparam("pid"),
                error=bindparam("error"),
                sent_at=bindparam("sent"),
                settled_at=bindparam("settled"),
            ),
            changes,
        )
    session.flush()
    run.waiting = _queued(session)
    return run


def _queued(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.status == "queued")
    ).one()


@dataclass
class ReportResult:
    settled: int = 0
    repeated: int = 0
    unknown: list[str] = field(default_factory=list)
    bad: int = 0


def record_reports(session: Session, actor: Actor, reports: Iterable[Mapping]) -> ReportResult:
    """Settle messages from the provider's delivery reports: `{"message_id", "status":
    "delivered"|"failed", "error"?}`. Called by the provider's signed callback (the API checks
    the signature, and acts as the system); a report for a message already settled counts as
    repeated."""
    actor.require(Permission.MANAGE_SMS)
    result = ReportResult()
    wanted: dict[str, tuple[str, str | None]] = {}
    for report in reports:
        pid = str(report.get("message_id") or "").strip()
        status = str(report.get("status") or "").strip().lower()
        if not pid or status not in ("delivered", "failed"):
            result.bad += 1
            continue
        wanted[pid] = (status, (str(report.get("error") or "") or None))
    if not wanted:
        return result
    known = dict(
        session.exec(
            select(SmsMessage.provider_message_id, SmsMessage.status).where(
                col(SmsMessage.provider_message_id).in_(list(wanted))
            )
        ).all()
    )
    now = clock.now()
    changes = []
    for pid, (status, error) in wanted.items():
        if pid not in known:
            result.unknown.append(pid)
        elif known[pid] in ("delivered", "failed"):
            result.repeated += 1
        else:
            changes.append({"pid": pid, "status": status, "error": error, "at": now})
    if changes:
        table = SmsMessage.__table__
        session.execute(
            update(table)
            .where(table.c.provider_message_id == bindparam("pid"))
            .values(
                status=bindparam("status"), error=bindparam("error"), settled_at=bindparam("at")
            ),
            changes,
        )
        result.settled = len(changes)
    session.flush()
    return result


def record_replies(session: Session, actor: Actor, replies: Iterable[Mapping]) -> int:
    """Opt out the leads who replied with an opt-out word (`{"from", "text"}`); the count of
    leads newly opted out. Called by the provider's signed callback, as the system."""
    actor.require(Permission.MANAGE_SMS)
    phones = set()
    for reply in replies:
        if fold(str(reply.get("text") or "")) in OPT_OUT_WORDS:
            phone = normalise_phone(str(reply.get("from") or ""))
            if phone:
                phones.add(phone)
    if not phones:
        return 0
    leads = session.exec(
        select(Lead.id).where(
            col(Lead.phone).in_(sorted(phones)),
            ~select(SmsOptOut.lead_id).where(SmsOptOut.lead_id == Lead.id).exists(),
        )
    ).all()
    now: datetime = clock.now()
    for lead_id in leads:
        session.add(SmsOptOut(lead_id=lead_id, at=now, source="reply"))
    session.flush()
    return len(leads)
