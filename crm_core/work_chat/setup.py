"""The robots: one WeCom or DingTalk group robot per org unit, set by administrators. The
webhook address (it carries the robot's key) and the signing secret are stored encrypted and
never shown again, only replaced; pages learn only that one is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import update
from sqlmodel import Session, select

from crm_core.models import OrgUnit, WorkChatDelivery, WorkChatRobot
from crm_core.models.work_chat import ROBOT_KINDS
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.provider_http import ProviderUnavailable
from crm_core.platform.secrets import decrypt, encrypt
from crm_core.platform.settings import get_setting
from crm_core.work_chat.robots import PushAnswer, PushMessage, Robot, robot_for


@dataclass(frozen=True)
class RobotView:
    org_unit_id: int
    unit_name: str
    kind: str
    has_webhook: bool
    has_secret: bool
    enabled: bool
    updated_at: datetime


def list_robots(session: Session, actor: Actor) -> list[RobotView]:
    """Every unit's robot, without its address or secret (administrators)."""
    actor.require(Permission.MANAGE_SETTINGS)
    rows = session.exec(
        select(WorkChatRobot, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == WorkChatRobot.org_unit_id)
        .order_by(OrgUnit.path)
    ).all()
    return [
        RobotView(
            r.org_unit_id,
            name,
            r.kind,
            bool(r.webhook_encrypted),
            bool(r.secret_encrypted),
            r.enabled,
            r.updated_at,
        )
        for r, name in rows
    ]


def _view(robot: WorkChatRobot) -> dict:
    # What the audit log keeps: never the address or the secret.
    return {
        "org_unit_id": robot.org_unit_id,
        "kind": robot.kind,
        "has_secret": bool(robot.secret_encrypted),
        "enabled": robot.enabled,
    }


def save_robot(
    session: Session,
    actor: Actor,
    *,
    org_unit_id: int,
    kind: str,
    webhook: str | None = None,
    secret: str | None = None,
    enabled: bool = True,
) -> RobotView:
    """Set the robot of a unit; `webhook` or `secret` None keeps the stored one. A WeCom
    robot has no secret (its key is in the address). Audited without address or secret."""
    actor.require(Permission.MANAGE_SETTINGS)
    unit = session.get(OrgUnit, org_unit_id)
    if unit is None:
        raise NotFound(N_("Org unit not found."))
    if kind not in ROBOT_KINDS:
        raise ValidationError(N_("Unknown robot kind {kind}."), kind=kind)
    robot = session.exec(
        select(WorkChatRobot).where(WorkChatRobot.org_unit_id == org_unit_id)
    ).first()
    before = _view(robot) if robot is not None else None
    webhook = (webhook or "").strip()
    if webhook:
        parsed = urlparse(webhook)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError(N_("Give the robot's webhook address, starting with https://."))
    elif robot is None:
        raise ValidationError(N_("Give the robot's webhook address, starting with https://."))
    robot = robot or WorkChatRobot(org_unit_id=org_unit_id, kind=kind, webhook_encrypted="")
    robot.kind = kind
    if webhook:
        robot.webhook_encrypted = encrypt(webhook)
    if kind == "wecom":
        robot.secret_encrypted = None
    elif secret and secret.strip():
        robot.secret_encrypted = encrypt(secret.strip())
    robot.enabled = bool(enabled)
    robot.updated_at = clock.now()
    robot.updated_by_id = actor.user_id
    session.add(robot)
    session.flush()
    audit.record(session, actor, "work_chat.robot", "org_unit", org_unit_id, before, _view(robot))
    session.flush()
    return next(r for r in list_robots(session, actor) if r.org_unit_id == org_unit_id)


def remove_robot(session: Session, actor: Actor, org_unit_id: int) -> None:
    """Remove a unit's robot. Its queued pushes fail ("robot removed"); the log keeps them."""
    actor.require(Permission.MANAGE_SETTINGS)
    robot = session.exec(
        select(WorkChatRobot).where(WorkChatRobot.org_unit_id == org_unit_id)
    ).first()
    if robot is None:
        raise NotFound(N_("This unit has no robot."))
    session.exec(
        update(WorkChatDelivery)
        .where(WorkChatDelivery.robot_id == robot.id, WorkChatDelivery.state == "queued")
        .values(state="failed", last_error="robot removed")
    )
    session.exec(
        update(WorkChatDelivery).where(WorkChatDelivery.robot_id == robot.id).values(robot_id=None)
    )
    audit.record(session, actor, "work_chat.robot_remove", "org_unit", org_unit_id, _view(robot))
    session.delete(robot)
    session.flush()


def adapter_of(robot: WorkChatRobot, timeout: float = 5.0) -> Robot:
    """The adapter of a stored robot, its address and secret decrypted (never for a page)."""
    secret = decrypt(robot.secret_encrypted) if robot.secret_encrypted else None
    return robot_for(robot.kind, decrypt(robot.webhook_encrypted), secret, timeout)


def send_test_push(session: Session, actor: Actor, org_unit_id: int, text: str) -> PushAnswer:
    """Send `text` through a unit's robot now (the page's test button); the answer, or the
    error when the robot cannot be reached. Audited after the call, which holds no write."""
    actor.require(Permission.MANAGE_SETTINGS)
    robot = session.exec(
        select(WorkChatRobot).where(WorkChatRobot.org_unit_id == org_unit_id)
    ).first()
    if robot is None:
        raise NotFound(N_("This unit has no robot."))
    adapter = adapter_of(robot, get_setting(session, "push.timeout_seconds"))
    try:
        answer = adapter.push(PushMessage("CRM", text))
    except ProviderUnavailable as exc:
        answer = PushAnswer(False, error=str(exc))
    audit.record(
        session,
        actor,
        "work_chat.test",
        "org_unit",
        org_unit_id,
        None,
        {"accepted": answer.accepted, "error": answer.error},
    )
    session.flush()
    return answer
