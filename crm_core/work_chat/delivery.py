"""The push job: queue the notices users asked to have pushed, then hand queued pushes to
each unit's robot at the robot's rate (`push.per_minute`; WeCom allows 20 a minute),
retrying refusals with a growing wait up to `push.max_attempts`. A robot that is down or
slow keeps its pushes queued. The notices are only read: a push never changes one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from crm_core.models import (
    Notice,
    OrgUnit,
    User,
    WorkChatDelivery,
    WorkChatOptIn,
    WorkChatRobot,
    path_ids,
)
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.errors import CrmError
from crm_core.platform.permissions import Permission
from crm_core.platform.provider_http import ProviderUnavailable
from crm_core.platform.settings import get_setting
from crm_core.work_chat.kinds import PUSH_KINDS, push_text
from crm_core.work_chat.robots import PushMessage
from crm_core.work_chat.setup import adapter_of

QUEUE_BATCH = 5_000
NO_ROBOT = "no robot for the user's unit"
TOO_OLD = "waited too long: the notice is older than push.max_age_hours"
UNREADABLE = "the stored webhook cannot be read with this key: enter it again"


def queue_pushes(session: Session, actor: Actor) -> int:
    """Queue one push per new notice of a kind its user opted into (since they opted in, and
    not older than `push.max_age_hours`), to the robot of the user's unit or its nearest
    ancestor with one. A user whose units have no robot gets a failed entry saying so. The
    count queued."""
    actor.require(Permission.RUN_JOBS)
    now = clock.now()
    oldest = now - timedelta(hours=get_setting(session, "push.max_age_hours"))
    rows = session.exec(
        select(Notice.id, Notice.user_id, OrgUnit.path)
        .join(
            WorkChatOptIn,
            (WorkChatOptIn.user_id == Notice.user_id) & (WorkChatOptIn.kind == Notice.kind),
        )
        .join(User, User.id == Notice.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id)
        .where(
            col(Notice.kind).in_(list(PUSH_KINDS)),
            Notice.created_at >= WorkChatOptIn.since,
            Notice.created_at >= oldest,
            User.status == "active",
            col(User.enabled).is_(True),
            ~select(WorkChatDelivery.id).where(WorkChatDelivery.notice_id == Notice.id).exists(),
        )
        .order_by(Notice.id)
        .limit(QUEUE_BATCH)
    ).all()
    if not rows:
        return 0
    robots = {
        unit_id: (robot_id, kind)
        for robot_id, unit_id, kind in session.exec(
            select(WorkChatRobot.id, WorkChatRobot.org_unit_id, WorkChatRobot.kind)
        ).all()
    }
    entries = []
    for notice_id, user_id, path in rows:
        unit = next((u for u in reversed(path_ids(path or "")) if u in robots), None)
        robot_id, kind = robots[unit] if unit is not None else (None, "none")
        entries.append(
            {
                "notice_id": notice_id,
                "user_id": user_id,
                "robot_id": robot_id,
                "channel": kind,
                "state": "queued" if robot_id else "failed",
                "attempts": 0,
                "last_error": None if robot_id else NO_ROBOT,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    session.exec(WorkChatDelivery.__table__.insert(), params=entries)
    session.flush()
    return sum(1 for e in entries if e["robot_id"])


@dataclass
class PushRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0
    robots_down: int = 0


def _sent_last_minute(session: Session, since) -> dict[int, int]:
    return dict(
        session.exec(
            select(WorkChatDelivery.robot_id, func.count())
            .where(WorkChatDelivery.sent_at >= since)
            .group_by(WorkChatDelivery.robot_id)
        ).all()
    )


def deliver_pushes(session: Session, actor: Actor) -> PushRun:
    """Hand due queued pushes to their robots, at most `push.per_minute` per robot in any
    minute. Every robot is called before anything is written, so no robot's answer waits
    inside a write transaction."""
    actor.require(Permission.RUN_JOBS)
    run = PushRun()
    now = clock.now()
    per_minute = get_setting(session, "push.per_minute")
    max_attempts = get_setting(session, "push.max_attempts")
    retry = timedelta(minutes=get_setting(session, "push.retry_minutes"))
    timeout = get_setting(session, "push.timeout_seconds")
    robots = {
        r.id: r for r in session.exec(select(WorkChatRobot).where(col(WorkChatRobot.enabled)))
    }
    budget = {
        rid: per_minute - n
        for rid, n in _sent_last_minute(session, now - timedelta(minutes=1)).items()
    }
    due = session.exec(
        select(
            WorkChatDelivery.id,
            WorkChatDelivery.notice_id,
            WorkChatDelivery.robot_id,
            WorkChatDelivery.attempts,
        )
        .where(
            WorkChatDelivery.state == "queued",
            WorkChatDelivery.next_attempt_at <= now,
            one_of(session, WorkChatDelivery.robot_id, list(robots)),
        )
        .order_by(WorkChatDelivery.id)
        .limit(per_minute * max(len(robots), 1))
    ).all()
    by_robot: dict[int, list] = defaultdict(list)
    for row in due:
        if len(by_robot[row[2]]) < budget.get(row[2], per_minute):
            by_robot[row[2]].append(row)
    picked = [row for rows in by_robot.values() for row in rows]
    notices = {
        n.id: n
        for n in session.exec(
            select(Notice).where(one_of(session, Notice.id, [r[1] for r in picked]))
        )
    }
    people = {
        uid: (name, lang)
        for uid, name, lang in session.exec(
            select(User.id, User.full_name, User.language).where(
                one_of(session, User.id, list({n.user_id for n in notices.values()}))
            )
        ).all()
    }
    changes = []
    for robot_id, rows in by_robot.items():
        try:
            adapter = adapter_of(robots[robot_id], timeout)
        except CrmError:  # the deployment's key changed: the robot must be entered again
            changes += [_later(r[0], r[3], UNREADABLE, now + retry) for r in rows]
            run.robots_down += 1
            continue
        for index, (delivery_id, notice_id, _robot, attempts) in enumerate(rows):
            notice = notices[notice_id]
            name, lang = people[notice.user_id]
            try:
                answer = adapter.push(PushMessage(*push_text(notice, name, lang)))
            except ProviderUnavailable as exc:
                # Down or slow: this and the robot's other pushes wait, no attempt spent.
                changes += [_later(r[0], r[3], str(exc), now + retry) for r in rows[index:]]
                run.robots_down += 1
                break
            if answer.accepted:
                changes.append(_row(delivery_id, "sent", attempts + 1, None, now, now))
                run.sent += 1
            elif answer.rate_limited:
                changes += [
                    _later(r[0], r[3], answer.error, now + timedelta(minutes=1))
                    for r in rows[index:]
                ]
                break
            elif attempts + 1 >= max_attempts:
                changes.append(_row(delivery_id, "failed", attempts + 1, answer.error, now, None))
                run.failed += 1
            else:
                wait = retry * (2**attempts)
                changes.append(
                    _row(delivery_id, "queued", attempts + 1, answer.error, now + wait, None)
                )
                run.retrying += 1
    if changes:
        table = WorkChatDelivery.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("did"))
            .values(
                state=bindparam("state"),
                attempts=bindparam("tries"),
                last_error=bindparam("error"),
                next_attempt_at=bindparam("due"),
                sent_at=bindparam("sent"),
            ),
            changes,
        )
    # A push that waited past `push.max_age_hours` (its robot off or down all that time)
    # would only be stale news: it fails, and the notice is still in the app.
    oldest = now - timedelta(hours=get_setting(session, "push.max_age_hours"))
    run.failed += session.exec(
        update(WorkChatDelivery)
        .where(WorkChatDelivery.state == "queued", WorkChatDelivery.created_at < oldest)
        .values(state="failed", last_error=TOO_OLD)
    ).rowcount
    session.flush()
    run.waiting = session.exec(select(func.count()).where(WorkChatDelivery.state == "queued")).one()
    return run


def _row(did: int, state: str, tries: int, error: str | None, due, sent) -> dict:
    return {"did": did, "state": state, "tries": tries, "error": error, "due": due, "sent": sent}


def _later(did: int, tries: int, error: str | None, due) -> dict:
    return _row(did, "queued", tries, (error or "")[:300] or None, due, None)


def run_push(session: Session, actor: Actor) -> dict:
    """One run of the push job; its counts for the job log. Delivery first: it calls the
    robots before it writes; then this run's new notices are queued for the next run."""
    delivered = deliver_pushes(session, actor)
    queued = queue_pushes(session, actor)
    return {
        "queued": queued,
        "sent": delivered.sent,
        "retrying": delivered.retrying,
        "failed": delivered.failed,
        "waiting": delivered.waiting + queued,
        "robots_down": delivered.robots_down,
    }
