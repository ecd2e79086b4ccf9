"""Automatic flags: a follow-up whose text holds a word of the sensitive-word list (the
SMS platform's) joins the inspection queue with the words it holds. New follow-ups are
flagged as they are written; older ones by the sampling run, for its week."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, not_, or_
from sqlmodel import Session, col, select

from crm_core.models import FollowUp, Opportunity, QaReview
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.qa.scope import Author, follow_up_reach
from crm_core.sms.words import word_keys, words_in

FLAG_SOURCE = "flag"


def flag_follow_up(session: Session, follow_up: FollowUp) -> list[str]:
    """Put a just-written follow-up in the queue if its text holds sensitive words; return
    them. Part of the writer's transaction (flushes)."""
    found = words_in(follow_up.content or "", word_keys(session))
    if found:
        session.add(
            QaReview(
                follow_up_id=follow_up.id,
                rep_id=follow_up.author_id,
                source=FLAG_SOURCE,
                reason="flag",
                flagged_words=found,
                created_at=clock.now(),
            )
        )
        session.flush()
    return found


def _insert_flags(session: Session, texts: list[tuple[int, int | None, str]], words: dict) -> int:
    """Queue, in one statement, those of `(follow-up id, author id, text)` whose text holds
    sensitive words; how many."""
    now = clock.now()
    rows = [
        {
            "follow_up_id": follow_up_id,
            "rep_id": author_id,
            "source": FLAG_SOURCE,
            "reason": "flag",
            "flagged_words": found,
            "status": "pending",
            "scores": {},
            "violation_tags": [],
            "created_at": now,
        }
        for follow_up_id, author_id, text in texts
        if (found := words_in(text or "", words))
    ]
    if rows:
        session.exec(QaReview.__table__.insert(), params=rows)
    return len(rows)


def flag_written(session: Session, written: list[tuple[int, int | None, str]]) -> int:
    """Queue the just-written follow-ups `(id, author id, text)` whose text holds sensitive
    words, in one statement (call records arrive in batches); return how many were flagged.
    Part of the writer's transaction."""
    texts = [(i, author, text) for i, author, text in written if text]
    words = word_keys(session) if texts else {}
    if not words:
        return 0
    return _insert_flags(session, texts, words)


def flag_between(session: Session, actor: Actor, since: datetime, until: datetime) -> int:
    """Flag the follow-ups written in [since, until) within the actor's reach that hold a
    sensitive word and are not flagged yet; return how many were flagged.

    The database narrows to texts containing a word (lower-cased); only those candidates
    are read and checked with the list's own comparison."""
    words = word_keys(session)
    if not words:
        return 0
    flagged = exists().where(QaReview.follow_up_id == FollowUp.id, QaReview.source == FLAG_SOURCE)
    contains = or_(
        *[
            func.lower(FollowUp.content).contains(word.lower(), autoescape=True)
            for word in words.values()
        ]
    )
    candidates = session.exec(
        select(FollowUp.id, FollowUp.author_id, FollowUp.content)
        .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
        .outerjoin(Author, Author.id == FollowUp.author_id)
        .where(
            and_(FollowUp.created_at >= since, FollowUp.created_at < until),
            follow_up_reach(actor, Opportunity.org_unit_id, Author.org_unit_id),
            contains,
            not_(flagged),
        )
        .order_by(col(FollowUp.id))
    ).all()
    return _insert_flags(session, list(candidates), words)
