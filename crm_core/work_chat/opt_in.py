"""Each user's own choice of which notices are pushed to their unit's work-chat robot.
Nothing is pushed until a user opts in (the in-app notice is always there)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from crm_core.models import WorkChatOptIn
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.work_chat.kinds import PUSH_KINDS


def my_push_kinds(session: Session, actor: Actor) -> set[str]:
    """The notice kinds the actor has pushed to work chat."""
    if actor.user_id is None:
        return set()
    return set(
        session.exec(select(WorkChatOptIn.kind).where(WorkChatOptIn.user_id == actor.user_id))
    )


def set_my_push_kinds(session: Session, actor: Actor, kinds: set[str]) -> set[str]:
    """Push exactly `kinds` of the actor's own notices from now on (a kind kept keeps its
    start; a new one starts now, so older notices are not pushed)."""
    if actor.user_id is None:
        raise PermissionDenied()
    unknown = set(kinds) - set(PUSH_KINDS)
    if unknown:
        raise ValidationError(N_("Unknown notice kind {kind}."), kind=sorted(unknown)[0])
    held = my_push_kinds(session, actor)
    gone = held - set(kinds)
    if gone:
        session.exec(
            delete(WorkChatOptIn).where(
                WorkChatOptIn.user_id == actor.user_id, col(WorkChatOptIn.kind).in_(sorted(gone))
            )
        )
    now = clock.now()
    for kind in sorted(set(kinds) - held):
        session.add(WorkChatOptIn(user_id=actor.user_id, kind=kind, since=now))
    session.flush()
    return set(kinds)
