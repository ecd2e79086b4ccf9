"""The rep's side of inspection: their scored follow-ups, one appeal each with a reason,
and the decision (upheld, or a changed score) by a holder of `qa_decide` who did not give
the score; the rep is told either way."""

from __future__ import annotations

from sqlmodel import Session, col, select

from crm_core.models import FollowUp, Opportunity, QaReview
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.qa.reviews import (
    MAX_COMMENT,
    ReviewDetail,
    ReviewRow,
    _columns,
    _detail,
    _load,
    _reviews,
    _row,
    apply_scores,
    notify,
)
from crm_core.qa.scope import Author


def _own(actor: Actor):
    return (
        select(*_columns())
        .join(FollowUp, FollowUp.id == QaReview.follow_up_id)
        .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
        .outerjoin(Author, Author.id == FollowUp.author_id)
        .where(QaReview.rep_id == actor.user_id, QaReview.status != "pending")
    )


def my_results(session: Session, actor: Actor, *, limit: int = 100) -> list[ReviewRow]:
    """The actor's own scored follow-ups, newest score first."""
    if actor.user_id is None:
        return []
    query = _own(actor).order_by(col(QaReview.scored_at).desc(), col(QaReview.id).desc())
    return [_row(r) for r in session.exec(query.limit(limit)).all()]


def my_result(session: Session, actor: Actor, review_id: int) -> ReviewDetail:
    """One of the actor's own scored follow-ups, with the score per item and the comment."""
    return _detail(session, actor, review_id, _own(actor))


def appeal(session: Session, actor: Actor, review_id: int, reason: str) -> QaReview:
    """The rep contests their score, once, with a reason."""
    review = session.get(QaReview, review_id)
    if review is None or review.rep_id is None or review.rep_id != actor.user_id:
        raise NotFound(entity="qa_review", id=review_id)
    if review.appealed_at is not None:
        raise ValidationError(N_("A score can be appealed only once."))
    if review.status != "scored":
        raise ValidationError(N_("Only a score can be appealed."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Say why you appeal."))
    if len(reason) > MAX_COMMENT:
        raise ValidationError(N_("A reason has at most {limit} characters."), limit=MAX_COMMENT)
    review.appeal_reason = reason
    review.appealed_at = clock.now()
    review.status = "appealed"
    session.add(review)
    audit.record(session, actor, "qa_review.appeal", "qa_review", review.id, None, reason)
    session.flush()
    return review


def list_appeals(session: Session, actor: Actor) -> list[ReviewRow]:
    """Appeals waiting for a decision within the decider's reach, oldest first."""
    actor.require(Permission.QA_DECIDE)
    query = (
        _reviews(actor)
        .where(QaReview.status == "appealed")
        .order_by(col(QaReview.appealed_at), col(QaReview.id))
    )
    return [_row(r) for r in session.exec(query).all()]


def decide_appeal(
    session: Session,
    actor: Actor,
    review_id: int,
    *,
    scores: dict[str, int] | None = None,
    note: str | None = None,
) -> QaReview:
    """Settle an appeal: without `scores` the score is upheld, with them it is changed
    (the first total is kept). The rep is told."""
    actor.require(Permission.QA_DECIDE)
    review = _load(session, actor, review_id)
    if review.status != "appealed":
        raise ValidationError(N_("There is no open appeal on this score."))
    if actor.user_id is not None and actor.user_id in (review.inspector_id, review.rep_id):
        raise PermissionDenied(permission=Permission.QA_DECIDE.value)
    note = (note or "").strip() or None
    if note and len(note) > MAX_COMMENT:
        raise ValidationError(N_("A note has at most {limit} characters."), limit=MAX_COMMENT)
    review.original_total = review.total
    if scores is not None:
        apply_scores(session, review, review.checklist_id, scores)
    review.status = "decided"
    review.decided_by_id = actor.user_id
    review.decided_at = clock.now()
    review.decision_note = note
    session.add(review)
    changed = review.total != review.original_total
    audit.record(
        session,
        actor,
        "qa_review.decide",
        "qa_review",
        review.id,
        review.original_total,
        review.total,
    )
    notify(
        session,
        review.rep_id,
        "qa.changed" if changed else "qa.upheld",
        review=review.id,
        total=review.total,
    )
    session.flush()
    return review
