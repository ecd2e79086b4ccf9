"""Logging a follow-up (跟进): one contact with the lead - a call, WeChat, SMS, visit or note -
with what came of it, the intention level and when to follow up next.

A follow-up is what the recycle rules read: it sets the opportunity's first and last
follow-up times, so an opportunity that is worked is not taken back. The next follow-up
time is required unless the same act closes the opportunity (marks it lost). A stage move
may ride along, checked by the same rules as a stage change on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from crm_core.circulation.opportunities import lock_for_change
from crm_core.models import FOLLOW_UP_CHANNELS, FollowUp, MetadataOption
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.option_values import require_intention_level
from crm_core.qa.flags import flag_follow_up
from crm_core.sales.stages import apply_stage

MAX_CONTENT = 4000
MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class FollowUpInput:
    """What the follow-up form holds."""

    channel: str
    content: str = ""
    result: str | None = None
    intention_level: str | None = None
    next_follow_up_at: datetime | None = None
    call_duration_s: int | None = None
    # A stage move made with the follow-up, with what that stage needs.
    stage: str | None = None
    trial_at: datetime | None = None
    trial_course: str | None = None
    lost_reason: str | None = None

    @property
    def closes(self) -> bool:
        return self.stage == "lost"


def follow_up_results(session: Session) -> list[str]:
    """The codes of the active follow-up results (an option list)."""
    return list(
        session.exec(
            select(MetadataOption.code)
            .where(
                MetadataOption.category == "follow_up_result",
                col(MetadataOption.business_line_id).is_(None),
                MetadataOption.active,
            )
            .order_by(MetadataOption.sort_order)
        ).all()
    )


def check_follow_up(session: Session, entry: FollowUpInput, now: datetime) -> None:
    """Refuse a follow-up that is incomplete or contradicts itself, naming the field."""
    if entry.channel not in FOLLOW_UP_CHANNELS:
        raise ValidationError(N_("“{channel}” is not a follow-up channel."), channel=entry.channel)
    content = (entry.content or "").strip()
    if not content and not entry.result:
        raise ValidationError(N_("Write what was said, or choose a result."))
    if len(content) > MAX_CONTENT:
        raise ValidationError(
            N_("The note is longer than {maximum} characters."), maximum=MAX_CONTENT
        )
    if entry.result and entry.result not in follow_up_results(session):
        raise ValidationError(
            N_("“{result}” is not one of the follow-up results."), result=entry.result
        )
    if entry.intention_level:
        require_intention_level(session, entry.intention_level)
    if entry.call_duration_s is not None and entry.call_duration_s < 0:
        raise ValidationError(N_("A call cannot last less than nothing."))
    if entry.closes:
        return
    if entry.next_follow_up_at is None:
        raise ValidationError(N_("Set the next follow-up (or mark the opportunity lost)."))
    if entry.next_follow_up_at <= now:
        raise ValidationError(N_("The next follow-up must be in the future."))
    if entry.next_follow_up_at > now + MAX_AHEAD:
        raise ValidationError(N_("The next follow-up must be within a year."))


def log_follow_up(
    session: Session, actor: Actor, opportunity_id: int, entry: FollowUpInput
) -> FollowUp:
    """Log a follow-up on an open opportunity in the actor's scope (work_opportunities), and
    with it the intention level, the next follow-up time and an optional stage move, all in
    the caller's transaction (flushed, not committed)."""
    now = clock.now()
    check_follow_up(session, entry, now)
    opportunity = lock_for_change(session, actor, opportunity_id, shared_access="follow_up")
    if entry.stage and entry.stage != opportunity.stage:
        # A collaborator logs the contact; moving the stage stays with the owner's side.
        lock_for_change(session, actor, opportunity_id)
        apply_stage(
            session,
            actor,
            opportunity,
            entry.stage,
            trial_at=entry.trial_at,
            trial_course=entry.trial_course,
            lost_reason=entry.lost_reason,
            at=now,
        )
    follow_up = FollowUp(
        opportunity_id=opportunity.id,
        author_id=actor.user_id,
        channel=entry.channel,
        content=(entry.content or "").strip(),
        result=entry.result or None,
        intention_level=entry.intention_level or None,
        next_follow_up_at=None if entry.closes else entry.next_follow_up_at,
        call_duration_s=entry.call_duration_s if entry.channel == "call" else None,
        created_at=now,
    )
    session.add(follow_up)
    if opportunity.first_follow_up_at is None:
        opportunity.first_follow_up_at = now
    opportunity.last_follow_up_at = now
    opportunity.next_follow_up_at = None if entry.closes else entry.next_follow_up_at
    if entry.intention_level:
        opportunity.intention_level = entry.intention_level
    session.add(opportunity)
    session.flush()
    # A note holding a sensitive word goes to quality inspection as it is written.
    flag_follow_up(session, follow_up)
    return follow_up


def set_next_follow_up(
    session: Session, actor: Actor, opportunity_id: int, at: datetime | None
) -> None:
    """Move (or clear, with None) the next follow-up of an open opportunity in scope.
    Not a follow-up: the recycle rules still see the opportunity as unworked."""
    now = clock.now()
    if at is not None and at <= now:
        raise ValidationError(N_("The next follow-up must be in the future."))
    if at is not None and at > now + MAX_AHEAD:
        raise ValidationError(N_("The next follow-up must be within a year."))
    opportunity = lock_for_change(session, actor, opportunity_id, shared_access="follow_up")
    opportunity.next_follow_up_at = at
    session.add(opportunity)
    session.flush()


def set_intention(session: Session, actor: Actor, opportunity_id: int, level: str) -> None:
    """Set the intention level (意向度) of one open opportunity in scope."""
    require_intention_level(session, level)
    opportunity = lock_for_change(session, actor, opportunity_id, shared_access="follow_up")
    opportunity.intention_level = level
    session.add(opportunity)
    session.flush()
