"""Who a send reaches and what each message says: the leads of a filter or a list, in the
sender's reach, each with the values of the template's variables, read set-based (a few
queries per thousand leads), and the reason for each lead that gets nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.models import (
    OPEN_STAGES,
    BusinessLine,
    Lead,
    Opportunity,
    SmsMessage,
    SmsOptOut,
    TrialLesson,
    User,
)
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, local_day_start, to_local
from crm_core.platform.i18n import N_
from crm_core.platform.settings import get_setting
from crm_core.sms.texts import render, segments, variables_of
from crm_core.sms.words import word_keys, words_in

CHUNK = 1000
# Why a lead of the send gets no message.
EXCLUSIONS = {
    "opted_out": N_("asked for no more messages"),
    "no_phone": N_("no phone number"),
    "daily_cap": N_("reached today's message limit"),
    "missing_value": N_("a variable has no value for this lead"),
    "sensitive": N_("the message would hold sensitive words"),
}


@dataclass(frozen=True)
class Recipient:
    lead_id: int
    phone: str
    text: str  # signature included
    segments: int


@dataclass
class Plan:
    recipients: list[Recipient]
    excluded: dict[str, int]
    blocked_words: set[str]


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _latest_open(session: Session, actor: Actor, ids: list[int]) -> dict[int, tuple]:
    """lead -> (rep name, line name) of the lead's newest open opportunity in reach."""
    rows = session.exec(
        select(Opportunity.lead_id, Opportunity.id, User.full_name, BusinessLine.name)
        .join(User, col(User.id) == col(Opportunity.owner_id), isouter=True)
        .join(BusinessLine, col(BusinessLine.id) == col(Opportunity.business_line_id))
        .where(
            col(Opportunity.lead_id).in_(ids),
            col(Opportunity.stage).in_(OPEN_STAGES),
            opportunity_scope(actor, shared=False),
        )
        .order_by(Opportunity.lead_id, col(Opportunity.id).desc())
    ).all()
    found: dict[int, tuple] = {}
    for lead_id, _, rep, line in rows:
        found.setdefault(lead_id, (rep, line))
    return found


def _next_trials(session: Session, ids: list[int], now: datetime) -> dict[int, datetime]:
    rows = session.exec(
        select(Opportunity.lead_id, func.min(TrialLesson.scheduled_at))
        .join(Opportunity, col(Opportunity.id) == col(TrialLesson.opportunity_id))
        .where(
            col(Opportunity.lead_id).in_(ids),
            TrialLesson.status == "booked",
            TrialLesson.scheduled_at >= now,
        )
        .group_by(Opportunity.lead_id)
    ).all()
    return dict(rows)


def _sent_today(session: Session, ids: list[int], day_start: datetime) -> dict[int, int]:
    rows = session.exec(
        select(SmsMessage.lead_id, func.count())
        .where(col(SmsMessage.lead_id).in_(ids), SmsMessage.created_at >= day_start)
        .group_by(SmsMessage.lead_id)
    ).all()
    return dict(rows)


def plan_messages(
    session: Session, actor: Actor, body: str, lead_ids: Sequence[int], *, trial_at=None
) -> Plan:
    """The message each lead of `lead_ids` (already in the actor's reach) would get, and the
    count of leads left out by reason. `trial_at`: lead -> the trial lesson a notice is about
    (otherwise each lead's next booked trial)."""
    now = clock.now()
    zone = company_zone(session)
    signature = get_setting(session, "sms.signature")
    company = get_setting(session, "company.name")
    cap = get_setting(session, "sms.per_lead_per_day")
    day_start = local_day_start(session, now)
    words = word_keys(session)
    wanted = set(variables_of(body))
    plan = Plan([], dict.fromkeys(EXCLUSIONS, 0), set())
    for ids in _chunks(sorted(set(lead_ids))):
        leads = session.exec(
            select(Lead.id, Lead.name, Lead.phone).where(col(Lead.id).in_(ids))
        ).all()
        opted = set(
            session.exec(select(SmsOptOut.lead_id).where(col(SmsOptOut.lead_id).in_(ids))).all()
        )
        sent = _sent_today(session, ids, day_start)
        owners = _latest_open(session, actor, ids) if wanted & {"rep", "line"} else {}
        trials = trial_at or (_next_trials(session, ids, now) if "trial_time" in wanted else {})
        for lead_id, name, phone in leads:
            if lead_id in opted:
                plan.excluded["opted_out"] += 1
                continue
            if not phone:
                plan.excluded["no_phone"] += 1
                continue
            if sent.get(lead_id, 0) >= cap:
                plan.excluded["daily_cap"] += 1
                continue
            rep, line = owners.get(lead_id, (None, None))
            trial = trials.get(lead_id)
            values = {
                "name": name,
                "rep": rep,
                "line": line,
                "company": company,
                "trial_time": to_local(trial, zone).strftime("%Y-%m-%d %H:%M") if trial else None,
            }
            text = render(body, values)
            if text is None:
                plan.excluded["missing_value"] += 1
                continue
            text = f"{signature}{text}" if signature else text
            found = words_in(text, words)
            if found:
                plan.excluded["sensitive"] += 1
                plan.blocked_words.update(found)
                continue
            plan.recipients.append(Recipient(lead_id, phone, text, segments(text)))
    return plan
