"""The write locks every path that moves opportunities takes first, so that engine runs,
claims and a manager's hand never write onto counts another one is changing."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, col, select

from crm_core.models import Opportunity


def hold_opportunity_writes(session: Session) -> None:
    """Make the caller the only writer of opportunities until its transaction ends.

    Engine runs read (candidates, caps, exclusions) and then write; nobody may change an
    opportunity in between, or a count they rely on would be stale. Readers are never
    blocked. PostgreSQL: a table lock that conflicts only with other writers. SQLite: an
    empty write takes the database's single write lock (writers wait, readers go on)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("LOCK TABLE opportunity IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.exec(text("UPDATE opportunity SET id = id WHERE 0"))


def hold_owned_chunk(session: Session, chunk_ids) -> None:
    """Make the caller the only writer of the owned opportunities among `chunk_ids` (a
    subquery of ids) until its transaction ends: a recycle chunk.

    PostgreSQL: those rows only (`FOR NO KEY UPDATE`), not the table: a table lock taken
    anew for each of hundreds of chunks waits each time up to a second for autovacuum,
    which the sweep's own changes keep calling, to be cancelled - and every writer queues
    behind it. An opportunity of the range that becomes owned meanwhile is not locked, but
    it was just assigned and is not idle. SQLite: the database's single write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(
            select(Opportunity.id)
            .where(col(Opportunity.id).in_(chunk_ids), Opportunity.pool_state == "owned")
            .with_for_update(key_share=True)
        ).all()
    else:
        hold_opportunity_writes(session)


def lock_users(session: Session, user_ids: list[int]) -> None:
    """Serialise actions on the same reps' counts (claims) on PostgreSQL by locking their
    rows; on SQLite the database write lock does it. `NO KEY UPDATE`, not `UPDATE`: an
    engine run writing flow events and notices that point at these users takes key-share
    locks on them, and must not wait for a claim that itself waits for the engine run."""
    if not user_ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.exec(
            text(
                "SELECT id FROM app_user WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE"
            ).bindparams(ids=sorted(user_ids))
        )
    else:
        session.exec(text("UPDATE opportunity SET id = id WHERE 0"))
