"""Automatic notices: the day before a booked trial lesson, from the set hour (company time)
on, the lead gets the reminder template. Each trial is reminded once (the message's event
key), however often the job runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import String, cast, literal
from sqlmodel import Session, col, select

from crm_core.models import Opportunity, SmsMessage, SmsTemplate, TrialLesson
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, day_start_in, to_local
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting
from crm_core.sms.recipients import plan_messages
from crm_core.sms.sending import queue_messages


def queue_trial_reminders(session: Session, actor: Actor) -> int:
    """Queue tomorrow's trial reminders once the reminder hour has come; the count queued.
    Nothing when no reminder template is set or it is not approved."""
    actor.require(Permission.RUN_JOBS)
    template_id = get_setting(session, "sms.reminder_template_id")
    template = session.get(SmsTemplate, template_id) if template_id else None
    if template is None or template.state != "approved":
        return 0
    zone = company_zone(session)
    local = to_local(clock.now(), zone)
    if local.hour < get_setting(session, "sms.reminder_hour"):
        return 0
    tomorrow = local.date() + timedelta(days=1)
    start = day_start_in(zone, tomorrow)
    end = day_start_in(zone, tomorrow + timedelta(days=1))
    key = literal("trial:", String) + cast(TrialLesson.id, String)
    rows = session.exec(
        select(TrialLesson.id, Opportunity.lead_id, TrialLesson.scheduled_at)
        .join(Opportunity, col(Opportunity.id) == col(TrialLesson.opportunity_id))
        .where(
            TrialLesson.status == "booked",
            TrialLesson.scheduled_at >= start,
            TrialLesson.scheduled_at < end,
            ~select(SmsMessage.id).where(SmsMessage.event_key == key).exists(),
        )
        .order_by(TrialLesson.scheduled_at, TrialLesson.id)
    ).all()
    trial_at: dict[int, object] = {}
    events: dict[int, str] = {}
    for trial_id, lead_id, at in rows:
        if lead_id not in trial_at:  # a lead's second trial of the day waits for the next run
            trial_at[lead_id] = at
            events[lead_id] = f"trial:{trial_id}"
    if not trial_at:
        return 0
    plan = plan_messages(session, Actor.system(), template.body, list(trial_at), trial_at=trial_at)
    queue_messages(session, None, template, plan.recipients, event_keys=events)
    session.flush()
    return len(plan.recipients)
