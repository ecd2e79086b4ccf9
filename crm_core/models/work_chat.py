"""Work-chat notices (WeCom / DingTalk group robots): one robot per org unit, each user's
choice of which in-app notices are pushed to it, and the delivery log of every push."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

ROBOT_KINDS = ("wecom", "dingtalk")
PUSH_STATES = ("queued", "sent", "failed")


class WorkChatRobot(SQLModel, table=True):
    """The group robot of one org unit. Its webhook address carries the robot's key, so the
    address is kept encrypted like the signing secret; neither is shown again once stored."""

    __tablename__ = "work_chat_robot"

    id: int | None = Field(default=None, primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", unique=True)
    kind: str = Field(max_length=20)  # wecom | dingtalk
    webhook_encrypted: str = Field(max_length=1000)
    secret_encrypted: str | None = Field(default=None, max_length=1000)
    enabled: bool = True
    updated_at: datetime = created_at_field()
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class WorkChatOptIn(SQLModel, table=True):
    """A user wants notices of `kind` pushed to their unit's robot, from `since` on (older
    notices are not pushed when someone opts in)."""

    __tablename__ = "work_chat_opt_in"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    kind: str = Field(max_length=40, primary_key=True)
    since: datetime = created_at_field()


class WorkChatDelivery(SQLModel, table=True):
    """One push of one in-app notice to a robot: queued, sent or failed, with its attempts.
    The notice itself is never changed by a push."""

    __tablename__ = "work_chat_delivery"
    __table_args__ = (
        Index("ix_work_chat_delivery_state_due", "state", "next_attempt_at"),
        Index("ix_work_chat_delivery_robot_sent", "robot_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", unique=True)
    user_id: int = Field(foreign_key="app_user.id")
    robot_id: int | None = Field(default=None, foreign_key="work_chat_robot.id")
    channel: str = Field(max_length=20)  # the robot's kind when queued
    state: str = Field(default="queued", max_length=20)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=300)
    next_attempt_at: datetime = created_at_field()
    created_at: datetime = created_at_field()
    sent_at: datetime | None = datetime_field()
