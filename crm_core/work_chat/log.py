"""The delivery log of pushed notices (administrators): who, which notice, which robot,
its state, attempts and last error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from crm_core.models import Notice, OrgUnit, User, WorkChatDelivery, WorkChatRobot
from crm_core.models.work_chat import PUSH_STATES
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    notice_id: int
    notice_kind: str
    user_name: str
    unit_name: str | None
    channel: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def list_deliveries(
    session: Session, actor: Actor, *, state: str | None = None, limit: int = 200
) -> list[DeliveryRow]:
    """The newest pushes, of one state or all (administrators: the robots are the
    company's, and the log names only users and notice kinds)."""
    actor.require(Permission.MANAGE_SETTINGS)
    if state is not None and state not in PUSH_STATES:
        raise ValidationError(N_("Unknown delivery state {state}."), state=state)
    unit = aliased(OrgUnit)
    query = (
        select(WorkChatDelivery, Notice.kind, User.full_name, unit.name)
        .join(Notice, Notice.id == WorkChatDelivery.notice_id)
        .join(User, User.id == WorkChatDelivery.user_id)
        .outerjoin(WorkChatRobot, WorkChatRobot.id == WorkChatDelivery.robot_id)
        .outerjoin(unit, unit.id == WorkChatRobot.org_unit_id)
    )
    if state is not None:
        query = query.where(WorkChatDelivery.state == state)
    rows = session.exec(query.order_by(col(WorkChatDelivery.id).desc()).limit(limit)).all()
    return [
        DeliveryRow(
            d.id,
            d.notice_id,
            kind,
            name,
            unit_name,
            d.channel,
            d.state,
            d.attempts,
            d.last_error,
            d.created_at,
            d.sent_at,
        )
        for d, kind, name, unit_name in rows
    ]


def state_counts(session: Session, actor: Actor) -> dict[str, int]:
    """How many pushes are in each state (administrators)."""
    actor.require(Permission.MANAGE_SETTINGS)
    counts = dict(
        session.exec(
            select(WorkChatDelivery.state, func.count()).group_by(WorkChatDelivery.state)
        ).all()
    )
    return {s: counts.get(s, 0) for s in PUSH_STATES}
