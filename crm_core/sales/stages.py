"""Moving an opportunity through its stages (new -> contacted -> qualified -> trial_booked
-> trial_done -> won, or lost from any open stage).

Each stage entered is a `stage_history` row, which the funnel counts. What a stage needs
is asked for here: a trial date for `trial_booked` (the trial lesson is booked with it), a
lost reason for `lost`. Reps move forward only (skipping stages is allowed: a lead may book
a trial on the first call); managers - those who may assign opportunities by hand - may
also move an opportunity back. `won` is never chosen by hand: a paid order wins the
opportunity (`close_as_won`, called by the payment).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, update
from sqlmodel import Session, col, select

from crm_core.circulation.opportunities import lock_for_change
from crm_core.models import (
    OPEN_STAGES,
    FlowEvent,
    MetadataOption,
    Opportunity,
    SalesOrder,
    StageHistory,
    TransferRequest,
    TrialLesson,
)
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

# The stages a person may choose; `won` comes only from a paid order.
CHOOSABLE_STAGES = (*OPEN_STAGES, "lost")
# The funnel's order: the open stages, then won. Lost is beside it, not in it.
FUNNEL_STAGES: tuple[str, ...] = (*OPEN_STAGES, "won")


def funnel_rank(stage: str | None) -> int:
    """A stage's place in FUNNEL_STAGES (0 for `new`); -1 for lost or an unknown stage."""
    return FUNNEL_STAGES.index(stage) if stage in FUNNEL_STAGES else -1


def funnel_rank_sql(column) -> ColumnElement[int]:
    """`funnel_rank` as SQL."""
    return case(*((column == s, rank) for rank, s in enumerate(FUNNEL_STAGES)), else_=-1)


def refresh_furthest_stages(session: Session, where: ColumnElement[bool] | None = None) -> int:
    """Set `furthest_stage` from the stage history (and the current stage) of the
    opportunities `where` selects (all: None), in one UPDATE; for the paths that write
    stage history in bulk (the demo seed). Returns how many rows it set."""
    history = (
        select(func.max(funnel_rank_sql(StageHistory.to_stage)))
        .where(StageHistory.opportunity_id == Opportunity.id)
        .scalar_subquery()
    )
    here = funnel_rank_sql(Opportunity.stage)
    before = func.coalesce(history, -1)
    best = case((here > before, here), else_=before)
    stage = case(*((best == rank, s) for rank, s in enumerate(FUNNEL_STAGES)), else_="new")
    query = update(Opportunity).values(furthest_stage=stage)
    if where is not None:
        query = query.where(where)
    return session.exec(query.execution_options(synchronize_session=False)).rowcount


def may_move_back(actor: Actor) -> bool:
    """Whether the actor may move opportunities to an earlier stage (managers)."""
    return actor.can(Permission.ASSIGN_OPPORTUNITIES)


def next_stages(actor: Actor, current: str) -> list[str]:
    """The stages the actor may move an opportunity at `current` to, in order."""
    if current not in OPEN_STAGES:
        return []
    here = OPEN_STAGES.index(current)
    allowed = [
        s for i, s in enumerate(OPEN_STAGES) if i > here or (may_move_back(actor) and i < here)
    ]
    return [*allowed, "lost"]


def record_stage(
    session: Session, opportunity: Opportunity, to_stage: str, actor_id: int | None, at: datetime
) -> None:
    """Put `opportunity` (a locked ORM row) into `to_stage` and add its history row."""
    session.add(
        StageHistory(
            opportunity_id=opportunity.id,
            from_stage=opportunity.stage,
            to_stage=to_stage,
            changed_at=at,
            actor_id=actor_id,
        )
    )
    opportunity.stage = to_stage
    opportunity.stage_changed_at = at
    # The funnel counts an opportunity at every stage up to the furthest it reached.
    if funnel_rank(to_stage) > funnel_rank(opportunity.furthest_stage):
        opportunity.furthest_stage = to_stage
    session.add(opportunity)


def _close(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    reason: str,
    at: datetime,
    note: str | None = None,
) -> None:
    """The flow event of closing (won or lost); the owner keeps the closed opportunity, so
    it stays in their history and their revenue."""
    session.add(
        FlowEvent(
            opportunity_id=opportunity.id,
            at=at,
            from_owner_id=opportunity.owner_id,
            to_owner_id=opportunity.owner_id,
            from_state=opportunity.pool_state,
            to_state="closed",
            reason=reason,
            actor_id=actor.user_id,
            note=note,
        )
    )
    opportunity.pool_state = "closed"
    opportunity.closed_at = at
    opportunity.unassigned_reason = None
    opportunity.next_follow_up_at = None
    # Requests to move it have nothing left to move.
    session.exec(
        update(TransferRequest)
        .where(
            TransferRequest.opportunity_id == opportunity.id,
            TransferRequest.status == "pending",
        )
        .values(status="withdrawn", decided_at=at, decision_note=reason)
        .execution_options(synchronize_session=False)
    )


def lost_reasons(session: Session) -> list[str]:
    """The codes of the active lost reasons (an option list)."""
    return list(
        session.exec(
            select(MetadataOption.code).where(
                MetadataOption.category == "lost_reason",
                col(MetadataOption.business_line_id).is_(None),
                MetadataOption.active,
            )
        ).all()
    )


def check_stage_move(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    to_stage: str,
    *,
    trial_at: datetime | None,
    lost_reason: str | None,
) -> None:
    """Refuse a move the rules do not allow, naming the reason."""
    if to_stage == "won":
        raise ValidationError(
            N_("An opportunity is won by a paid order, not by choosing the stage.")
        )
    if to_stage not in CHOOSABLE_STAGES:
        raise ValidationError(N_("“{stage}” is not a stage you can choose."), stage=to_stage)
    if to_stage == opportunity.stage:
        raise ValidationError(N_("The opportunity is already at this stage."))
    if to_stage != "lost" and to_stage not in next_stages(actor, opportunity.stage):
        raise ValidationError(
            N_("Stages move forward from “{stage}”; only a manager may move an opportunity back."),
            stage=opportunity.stage,
        )
    if to_stage == "trial_booked" and trial_at is None:
        raise ValidationError(N_("A booked trial needs its date and time."))
    if to_stage == "trial_done" and _trial_still_ahead(session, opportunity.id):
        raise ValidationError(
            N_(
                "A trial lesson is still booked for later: mark it attended once it has happened, or cancel it first."
            )
        )
    if to_stage == "lost":
        if not lost_reason:
            raise ValidationError(N_("Choose why the opportunity was lost."))
        if lost_reason not in lost_reasons(session):
            raise ValidationError(
                N_("“{reason}” is not one of the lost reasons."), reason=lost_reason
            )


def _trial_still_ahead(session: Session, opportunity_id: int) -> bool:
    """Whether a booked trial of the opportunity lies in the future: "trial done" before the
    lesson would count a trial nobody attended."""
    return (
        session.exec(
            select(TrialLesson.id).where(
                TrialLesson.opportunity_id == opportunity_id,
                TrialLesson.status == "booked",
                TrialLesson.scheduled_at > clock.now(),
            )
        ).first()
        is not None
    )


def change_stage(
    session: Session,
    actor: Actor,
    opportunity_id: int,
    to_stage: str,
    *,
    trial_at: datetime | None = None,
    trial_course: str | None = None,
    lost_reason: str | None = None,
) -> Opportunity:
    """Move an open opportunity in the actor's scope to `to_stage`, with what that stage
    needs; flushes, the caller commits. `lost` closes it and cancels its unpaid orders."""
    opportunity = lock_for_change(session, actor, opportunity_id)
    apply_stage(
        session,
        actor,
        opportunity,
        to_stage,
        trial_at=trial_at,
        trial_course=trial_course,
        lost_reason=lost_reason,
    )
    session.flush()
    return opportunity


def apply_stage(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    to_stage: str,
    *,
    trial_at: datetime | None = None,
    trial_course: str | None = None,
    lost_reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """`change_stage` on a row the caller has locked (the follow-up form moves the stage in
    the same transaction as the follow-up)."""
    check_stage_move(
        session, actor, opportunity, to_stage, trial_at=trial_at, lost_reason=lost_reason
    )
    now = at or clock.now()
    if to_stage == "trial_booked":
        add_trial(session, actor, opportunity, trial_at, trial_course, now)
    record_stage(session, opportunity, to_stage, actor.user_id, now)
    if to_stage == "lost":
        opportunity.lost_reason = lost_reason
        _close(session, actor, opportunity, "lost", now, note=lost_reason)
        session.exec(
            update(SalesOrder)
            .where(SalesOrder.opportunity_id == opportunity.id, SalesOrder.status == "pending")
            .values(status="cancelled", cancelled_at=now)
            .execution_options(synchronize_session=False)
        )


def close_as_won(
    session: Session, actor: Actor, opportunity: Opportunity, amount: Decimal, at: datetime
) -> None:
    """Win `opportunity` (a row the caller has locked) with a paid order of `amount`.

    An opportunity that is already won (a second paid order) keeps its stage and adds the
    amount. A lost one is won all the same: the customer paid."""
    if opportunity.stage == "won":
        opportunity.amount = (opportunity.amount or Decimal(0)) + amount
        session.add(opportunity)
        return
    record_stage(session, opportunity, "won", actor.user_id, at)
    opportunity.amount = amount
    opportunity.lost_reason = None
    if opportunity.pool_state == "closed":
        opportunity.closed_at = at
    else:
        _close(session, actor, opportunity, "won", at)


# A trial may be entered shortly after it was agreed on, not weeks later.
_LATE = timedelta(hours=12)


def add_trial(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    scheduled_at: datetime | None,
    course: str | None,
    now: datetime,
) -> TrialLesson:
    """Book a trial on a locked opportunity; a booked one is rescheduled (cancelled)."""
    if scheduled_at is None:
        raise ValidationError(N_("A booked trial needs its date and time."))
    if scheduled_at < now - _LATE:
        raise ValidationError(N_("The trial lesson cannot be in the past."))
    if scheduled_at > now + timedelta(days=366):
        raise ValidationError(N_("The trial lesson must be within a year."))
    session.exec(
        update(TrialLesson)
        .where(TrialLesson.opportunity_id == opportunity.id, TrialLesson.status == "booked")
        .values(status="cancelled", done_at=now, note="rescheduled")
        .execution_options(synchronize_session=False)
    )
    trial = TrialLesson(
        opportunity_id=opportunity.id,
        scheduled_at=scheduled_at,
        course=(course or "").strip()[:200] or None,
        booked_by_id=actor.user_id,
        created_at=now,
    )
    session.add(trial)
    return trial
