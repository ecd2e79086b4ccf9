"""In-app notices (站内通知): what dispatch gave a rep, which opportunities are about to be
recycled. Each user reads and clears only their own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from crm_core.models import Notice
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of


def send_counts(session: Session, kind: str, counts: dict[int, int], at: datetime) -> None:
    """One notice of `kind` per user, saying their count; one executemany."""
    if counts:
        session.exec(
            Notice.__table__.insert(),
            params=[
                {"user_id": user_id, "kind": kind, "params": {"count": n}, "created_at": at}
                for user_id, n in counts.items()
            ],
        )


def add_counts(
    session: Session, kind: str, counts: dict[int, int], at: datetime, after_id: int
) -> None:
    """Like `send_counts`, but a user who still has an unread notice of `kind` newer than
    `after_id` (one a run in chunks sent in an earlier chunk) has its count raised instead
    of getting a second notice. One read and two executemany."""
    if not counts:
        return
    unread = session.exec(
        select(Notice.id, Notice.user_id, Notice.params).where(
            Notice.kind == kind,
            Notice.id > after_id,
            col(Notice.read_at).is_(None),
            one_of(session, Notice.user_id, list(counts)),
        )
    ).all()
    raised = {}
    for notice_id, user_id, params in unread:
        if user_id not in raised:
            total = int((params or {}).get("count", 0)) + counts[user_id]
            raised[user_id] = {"notice_id": notice_id, "raised": {**(params or {}), "count": total}}
    if raised:
        table = Notice.__table__
        session.connection().execute(
            table.update()
            .where(table.c.id == bindparam("notice_id"))
            .values(params=bindparam("raised")),
            list(raised.values()),
        )
    send_counts(session, kind, {u: n for u, n in counts.items() if u not in raised}, at)


def unread_count(session: Session, actor: Actor) -> int:
    """How many notices the actor has not read."""
    if actor.user_id is None:
        return 0
    return session.exec(
        select(func.count()).where(Notice.user_id == actor.user_id, col(Notice.read_at).is_(None))
    ).one()


def list_notices(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 20
) -> list[Notice]:
    """The actor's newest notices."""
    if actor.user_id is None:
        return []
    query = select(Notice).where(Notice.user_id == actor.user_id)
    if unread_only:
        query = query.where(col(Notice.read_at).is_(None))
    return list(
        session.exec(
            query.order_by(col(Notice.created_at).desc(), col(Notice.id).desc()).limit(limit)
        ).all()
    )


def mark_read(session: Session, actor: Actor, notice_ids: list[int] | None = None) -> int:
    """Mark the actor's notices read (`notice_ids`, or all of them)."""
    if actor.user_id is None:
        return 0
    query = update(Notice).where(Notice.user_id == actor.user_id, col(Notice.read_at).is_(None))
    if notice_ids is not None:
        query = query.where(col(Notice.id).in_(notice_ids))
    return session.exec(query.values(read_at=clock.now())).rowcount
