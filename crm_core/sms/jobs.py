"""The SMS job the worker runs: hand queued messages to the provider, then queue the trial
reminders that are due (sent by the next run)."""

from __future__ import annotations

from dataclasses import asdict

from sqlmodel import Session

from crm_core.platform.actor import Actor
from crm_core.sms.delivery import deliver_queued
from crm_core.sms.reminders import queue_trial_reminders


def run_sms(session: Session, actor: Actor) -> dict:
    """One run of the SMS job; its counts for the job log."""
    # Delivery first: it calls the provider before it writes (see deliver_queued).
    delivery = asdict(deliver_queued(session, actor))
    reminders = queue_trial_reminders(session, actor)
    return {"reminders": reminders, **{k: v for k, v in delivery.items() if v is not None}}
