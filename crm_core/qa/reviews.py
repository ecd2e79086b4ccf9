"""The inspector's queue and scoring (质检工作台): the sampled and flagged follow-ups within
the inspector's reach, one item with its opportunity's context and recording, and its score
(the weighted sum of the checklist's items), violation tags and comment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case
from sqlmodel import Session, col, select

from crm_core.leads.masking import mask_any_phone
from crm_core.models import (
    BusinessLine,
    FollowUp,
    Lead,
    Notice,
    Opportunity,
    QaChecklist,
    QaReview,
)
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.qa.checklists import check_scores, require_active, violation_codes
from crm_core.qa.scope import Author, follow_up_reach

MAX_COMMENT = 2000
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class ReviewRow:
    """One queued or scored follow-up as the workbench lists it."""

    id: int
    follow_up_id: int
    opportunity_id: int
    rep_id: int | None
    rep_name: str | None
    channel: str
    call_duration_s: int | None
    written_at: datetime
    reason: str
    flagged_words: list[str]
    status: str
    total: int | None
    passed: bool | None


@dataclass(frozen=True)
class ReviewDetail:
    """One review with what an inspector needs to score it."""

    row: ReviewRow
    content: str
    result: str | None
    recording_url: str | None
    lead_name: str
    business_line: str
    stage: str
    intention_level: str | None
    checklist_id: int | None
    scores: dict
    violation_tags: list[str]
    comment: str | None
    appeal_reason: str | None
    decision_note: str | None
    original_total: int | None


def _columns():
    return (
        QaReview.id,
        QaReview.follow_up_id,
        FollowUp.opportunity_id,
        QaReview.rep_id,
        Author.full_name,
        FollowUp.channel,
        FollowUp.call_duration_s,
        FollowUp.created_at,
        QaReview.reason,
        QaReview.flagged_words,
        QaReview.status,
        QaReview.total,
        QaReview.passed,
    )


def _reviews(actor: Actor):
    """Reviews joined to their follow-up, opportunity and author, within the actor's reach."""
    return (
        select(*_columns())
        .join(FollowUp, FollowUp.id == QaReview.follow_up_id)
        .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
        .outerjoin(Author, Author.id == FollowUp.author_id)
        .where(follow_up_reach(actor, Opportunity.org_unit_id, Author.org_unit_id))
    )


def _row(values) -> ReviewRow:
    return ReviewRow(*values[:9], list(values[9] or []), *values[10:])


def list_queue(
    session: Session, actor: Actor, *, status: str = "pending", limit: int = QUEUE_LIMIT
) -> list[ReviewRow]:
    """The reviews of `status` the inspector reaches: flagged ones first, oldest first."""
    actor.require(Permission.QA_INSPECT)
    query = (
        _reviews(actor)
        .where(QaReview.status == status)
        .order_by(
            case((QaReview.reason == "flag", 0), else_=1),
            col(QaReview.created_at),
            col(QaReview.id),
        )
        .limit(limit)
    )
    return [_row(r) for r in session.exec(query).all()]


def _load(session: Session, actor: Actor, review_id: int) -> QaReview:
    """The review if the actor reaches its follow-up, else NotFound."""
    found = session.exec(_reviews(actor).where(QaReview.id == review_id)).first()
    if found is None:
        raise NotFound(entity="qa_review", id=review_id)
    return session.get(QaReview, review_id)


def _detail(session: Session, actor: Actor, review_id: int, query) -> ReviewDetail:
    values = session.exec(query.where(QaReview.id == review_id)).first()
    if values is None:
        raise NotFound(entity="qa_review", id=review_id)
    review = session.get(QaReview, review_id)
    follow_up = session.get(FollowUp, review.follow_up_id)
    opportunity = session.get(Opportunity, follow_up.opportunity_id)
    lead = session.get(Lead, opportunity.lead_id)
    line = session.get(BusinessLine, opportunity.business_line_id)
    content = follow_up.content or ""
    if not actor.can(Permission.VIEW_FULL_PHONE):
        content = mask_any_phone(content)
    return ReviewDetail(
        row=_row(values),
        content=content,
        result=follow_up.result,
        recording_url=follow_up.recording_url,
        lead_name=lead.name if lead else "",
        business_line=line.name if line else "",
        stage=opportunity.stage,
        intention_level=opportunity.intention_level,
        checklist_id=review.checklist_id,
        scores=dict(review.scores or {}),
        violation_tags=list(review.violation_tags or []),
        comment=review.comment,
        appeal_reason=review.appeal_reason,
        decision_note=review.decision_note,
        original_total=review.original_total,
    )


def review_detail(session: Session, actor: Actor, review_id: int) -> ReviewDetail:
    """One review in the inspector's (or decider's) reach, with its follow-up's text (phone
    numbers masked for who may not see them), its recording and its opportunity."""
    if not actor.can(Permission.QA_DECIDE):
        actor.require(Permission.QA_INSPECT)
    return _detail(session, actor, review_id, _reviews(actor))


def notify(session: Session, user_id: int | None, kind: str, **params) -> None:
    """An in-app notice to the rep a review is about."""
    if user_id is not None:
        session.add(Notice(user_id=user_id, kind=kind, params=params, created_at=clock.now()))


def check_tags(session: Session, tags: list[str]) -> list[str]:
    """Violation tags must be codes of the active option list."""
    known = set(violation_codes(session))
    unknown = [tag for tag in tags if tag not in known]
    if unknown:
        raise ValidationError(N_("“{tag}” is not a violation tag."), tag=unknown[0])
    return sorted(set(tags))


def apply_scores(
    session: Session,
    review: QaReview,
    checklist_id: int | None,
    scores: dict[str, int],
    *,
    new_score: bool = False,
) -> None:
    """Set the checklist, the per-item points, the total and whether it passes. A new score
    (`new_score`) is given on a checklist in use; a decision on an appeal keeps the
    checklist the score was given on, retired or not."""
    checklist = session.get(QaChecklist, checklist_id) if checklist_id else None
    if checklist is None:
        raise ValidationError(N_("Choose a checklist."))
    if new_score:
        require_active(checklist)
    checked = check_scores(checklist, scores)
    review.checklist_id = checklist.id
    review.scores = checked
    review.total = sum(checked.values())
    review.passed = review.total >= checklist.pass_mark


def score_review(
    session: Session,
    actor: Actor,
    review_id: int,
    *,
    checklist_id: int | None,
    scores: dict[str, int],
    violation_tags: list[str] | None = None,
    comment: str | None = None,
) -> QaReview:
    """Score a queued follow-up (or score it again before it is appealed) and tell its rep."""
    actor.require(Permission.QA_INSPECT)
    review = _load(session, actor, review_id)
    if review.rep_id is not None and review.rep_id == actor.user_id:
        raise PermissionDenied(permission=Permission.QA_INSPECT.value)
    if review.status not in ("pending", "scored"):
        raise ValidationError(N_("This score is under appeal or decided; it cannot change now."))
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise ValidationError(N_("A comment has at most {limit} characters."), limit=MAX_COMMENT)
    apply_scores(session, review, checklist_id or review.checklist_id, scores, new_score=True)
    review.violation_tags = check_tags(session, violation_tags or [])
    review.comment = comment
    review.status = "scored"
    review.inspector_id = actor.user_id
    review.scored_at = clock.now()
    session.add(review)
    audit.record(
        session,
        actor,
        "qa_review.score",
        "qa_review",
        review.id,
        None,
        {"total": review.total, "tags": review.violation_tags},
    )
    notify(session, review.rep_id, "qa.scored", review=review.id, total=review.total)
    session.flush()
    return review
