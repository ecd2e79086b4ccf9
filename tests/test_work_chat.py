"""Work-chat notices: robots per org unit (address and secret kept encrypted, never shown),
users' opt-in, the push job through a fake WeCom / DingTalk robot on 127.0.0.1 (accepting,
refusing with an errcode, rate-limiting, slow, down; DingTalk's signature checked), the rate
per robot, retries with a growing wait, and the delivery log. The in-app notice is never
changed by a push."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from crm_core.models import AuditLog, Notice, WorkChatDelivery, WorkChatRobot
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.notices import send_counts
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import set_setting
from crm_core.work_chat.delivery import NO_ROBOT, TOO_OLD, deliver_pushes, queue_pushes, run_push
from crm_core.work_chat.kinds import mask_numbers
from crm_core.work_chat.log import list_deliveries, state_counts
from crm_core.work_chat.opt_in import my_push_kinds, set_my_push_kinds
from crm_core.work_chat.setup import list_robots, remove_robot, save_robot, send_test_push
from tests.factories import SYSTEM, build_small_company
from tests.fake_work_chat import FakeRobot

SECRET = "SECd1ngtalk-signing"


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    db.commit()
    yield company
    clock.reset()


@pytest.fixture
def robots(db, company):
    """A WeCom robot on Beijing (Teams A and B below it) and a signed DingTalk robot on
    Team B; Shanghai has none."""
    wecom, dingtalk = FakeRobot(), FakeRobot(secret=SECRET)
    admin = company.actor(db, "admin")
    save_robot(
        db, admin, org_unit_id=company.units["beijing"].id, kind="wecom", webhook=wecom.start()
    )
    save_robot(
        db,
        admin,
        org_unit_id=company.units["team_b"].id,
        kind="dingtalk",
        webhook=dingtalk.start(),
        secret=SECRET,
    )
    db.commit()
    yield wecom, dingtalk
    wecom.stop()
    dingtalk.stop()


def _notify(db, company, kind: str, counts: dict[str, int]) -> None:
    send_counts(db, kind, {company.users[u].id: n for u, n in counts.items()}, clock.now())
    db.commit()


def _opt_in(db, company, *usernames: str, kinds=("dispatch.received", "recycle.warning")):
    for name in usernames:
        set_my_push_kinds(db, company.actor(db, name), set(kinds))
    db.commit()


def test_robot_address_and_secret_are_encrypted_and_never_shown(db, company, robots):
    admin = company.actor(db, "admin")
    stored = db.exec(select(WorkChatRobot)).all()
    assert all("127.0.0.1" not in r.webhook_encrypted for r in stored)
    assert all(SECRET not in (r.secret_encrypted or "") for r in stored)
    views = {v.unit_name: v for v in list_robots(db, admin)}
    assert views["Beijing"].kind == "wecom" and not views["Beijing"].has_secret
    assert views["Team B"].has_secret and "127.0.0.1" not in repr(views)
    # Saving without an address or secret keeps the stored ones.
    save_robot(db, admin, org_unit_id=company.units["team_b"].id, kind="dingtalk", enabled=False)
    assert {v.unit_name: v for v in list_robots(db, admin)}["Team B"].has_secret
    audit = db.exec(select(AuditLog).where(AuditLog.action == "work_chat.robot")).all()
    assert len(audit) == 3 and all("127.0.0.1" not in str(a.after) for a in audit)
    assert all(SECRET not in str(a.after) for a in audit)
    with pytest.raises(ValidationError):
        save_robot(db, admin, org_unit_id=company.units["shanghai"].id, kind="wecom")
    with pytest.raises(ValidationError):
        save_robot(
            db, admin, org_unit_id=company.units["shanghai"].id, kind="slack", webhook="https://x"
        )
    with pytest.raises(ValidationError):
        save_robot(
            db, admin, org_unit_id=company.units["shanghai"].id, kind="wecom", webhook="ftp://x"
        )


@pytest.mark.parametrize("username", ["bj_manager", "lead_a", "rep_a1", "boss"])
def test_only_administrators_manage_robots_and_read_the_log(db, company, robots, username):
    someone = company.actor(db, username)
    unit = company.units["team_a"].id
    for call in (
        lambda: list_robots(db, someone),
        lambda: save_robot(db, someone, org_unit_id=unit, kind="wecom", webhook="https://x"),
        lambda: remove_robot(db, someone, company.units["beijing"].id),
        lambda: send_test_push(db, someone, company.units["beijing"].id, "hi"),
        lambda: list_deliveries(db, someone),
        lambda: state_counts(db, someone),
    ):
        with pytest.raises(PermissionDenied):
            call()
    # The job itself is for whoever may run the engine (managers press "run now").
    if not someone.can(Permission.RUN_JOBS):
        for call in (lambda: queue_pushes(db, someone), lambda: deliver_pushes(db, someone)):
            with pytest.raises(PermissionDenied):
                call()


def test_opt_in_is_off_by_default_and_per_user(db, company):
    rep = company.actor(db, "rep_a1")
    assert my_push_kinds(db, rep) == set()
    set_my_push_kinds(db, rep, {"dispatch.received"})
    assert my_push_kinds(db, rep) == {"dispatch.received"}
    assert my_push_kinds(db, company.actor(db, "rep_a2")) == set()
    with pytest.raises(ValidationError):
        set_my_push_kinds(db, rep, {"qa.scored"})
    set_my_push_kinds(db, rep, set())
    assert my_push_kinds(db, rep) == set()


def test_notices_go_to_the_nearest_robot_naming_the_user(db, company, robots):
    wecom, dingtalk = robots
    _opt_in(db, company, "rep_a1", "rep_b1", "rep_c1")
    _notify(db, company, "dispatch.received", {"rep_a1": 3, "rep_b1": 1, "rep_c1": 2, "rep_a2": 1})
    _notify(db, company, "qa.scored", {"rep_a1": 1})  # not a pushed kind
    assert queue_pushes(db, SYSTEM) == 2
    db.commit()
    run = deliver_pushes(db, SYSTEM)
    db.commit()
    assert (run.sent, run.failed, run.waiting) == (2, 0, 0)
    # Team A has no robot: Beijing's WeCom robot; Team B its own DingTalk robot, signed.
    assert len(wecom.texts()) == 1 and "@Rep A1" in wecom.texts()[0]
    assert wecom.received[0]["msgtype"] == "markdown"
    assert len(dingtalk.texts()) == 1 and "@Rep B1" in dingtalk.texts()[0]
    assert dingtalk.bad_signatures == 0 and dingtalk.received[0]["msgtype"] == "markdown"
    # The user's language (zh by default) words the message.
    assert "3" in wecom.texts()[0] and "商机" in wecom.texts()[0]
    # Shanghai has no robot: the log says so; rep_a2 did not opt in.
    log = {r.user_name: r for r in list_deliveries(db, company.actor(db, "admin"))}
    assert set(log) == {"Rep A1", "Rep B1", "Rep C1"}
    assert log["Rep C1"].state == "failed" and log["Rep C1"].last_error == NO_ROBOT
    assert log["Rep A1"].state == "sent" and log["Rep A1"].unit_name == "Beijing"
    assert log["Rep B1"].channel == "dingtalk"
    # The in-app notices are untouched and nothing is pushed twice.
    assert all(n.read_at is None for n in db.exec(select(Notice)).all())
    assert queue_pushes(db, SYSTEM) == 0 and deliver_pushes(db, SYSTEM).sent == 0


def test_only_notices_since_the_opt_in_are_pushed(db, company, robots):
    _notify(db, company, "dispatch.received", {"rep_a1": 1})
    clock.freeze(clock.now() + timedelta(minutes=1))
    _opt_in(db, company, "rep_a1")
    assert queue_pushes(db, SYSTEM) == 0
    clock.freeze(clock.now() + timedelta(minutes=1))
    _notify(db, company, "recycle.warning", {"rep_a1": 2})
    assert queue_pushes(db, SYSTEM) == 1


def test_a_wrong_dingtalk_secret_is_refused_and_retried_then_failed(db, company, robots):
    wecom, dingtalk = robots
    admin = company.actor(db, "admin")
    save_robot(db, admin, org_unit_id=company.units["team_b"].id, kind="dingtalk", secret="wrong")
    set_setting(db, admin, "push.max_attempts", 2)
    _opt_in(db, company, "rep_b1")
    _notify(db, company, "dispatch.received", {"rep_b1": 1})
    queue_pushes(db, SYSTEM)
    db.commit()
    first = deliver_pushes(db, SYSTEM)
    db.commit()
    assert (first.sent, first.retrying, first.failed) == (0, 1, 0)
    assert dingtalk.bad_signatures == 1
    row = db.exec(select(WorkChatDelivery)).one()
    assert row.state == "queued" and row.attempts == 1 and "310000" in row.last_error
    # Not due again before the wait (push.retry_minutes, 5 by default) is over.
    assert deliver_pushes(db, SYSTEM).retrying == 0 and dingtalk.bad_signatures == 1
    clock.freeze(clock.now() + timedelta(minutes=5))
    second = deliver_pushes(db, SYSTEM)
    db.commit()
    assert second.failed == 1
    db.refresh(row)
    assert row.state == "failed" and row.attempts == 2
    assert state_counts(db, admin) == {"queued": 0, "sent": 0, "failed": 1}


def test_refusals_wait_longer_each_time(db, company, robots):
    wecom, _ = robots
    wecom.mode = "refuse"
    _opt_in(db, company, "rep_a1")
    _notify(db, company, "dispatch.received", {"rep_a1": 1})
    queue_pushes(db, SYSTEM)
    deliver_pushes(db, SYSTEM)
    row = db.exec(select(WorkChatDelivery)).one()
    assert row.next_attempt_at == clock.now() + timedelta(minutes=5)
    clock.freeze(row.next_attempt_at)
    deliver_pushes(db, SYSTEM)
    db.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + timedelta(minutes=10)
    assert "93000" in row.last_error


def test_a_robot_is_fed_at_its_rate(db, company, robots):
    wecom, _ = robots
    admin = company.actor(db, "admin")
    set_setting(db, admin, "push.per_minute", 2)
    for name in ("rep_a1", "rep_a2", "lead_a", "bj_manager"):
        _opt_in(db, company, name)
    _notify(
        db, company, "dispatch.received", {"rep_a1": 1, "rep_a2": 1, "lead_a": 1, "bj_manager": 1}
    )
    assert queue_pushes(db, SYSTEM) == 4
    assert deliver_pushes(db, SYSTEM).sent == 2
    assert deliver_pushes(db, SYSTEM).sent == 0  # the same minute: nothing more
    clock.freeze(clock.now() + timedelta(seconds=61))
    run = deliver_pushes(db, SYSTEM)
    assert (run.sent, run.waiting) == (2, 0)
    assert len(wecom.received) == 4


def test_rate_limited_answers_wait_a_minute_without_spending_an_attempt(db, company, robots):
    wecom, _ = robots
    wecom.mode = "rate_limited"
    _opt_in(db, company, "rep_a1", "rep_a2")
    _notify(db, company, "dispatch.received", {"rep_a1": 1, "rep_a2": 1})
    queue_pushes(db, SYSTEM)
    run = deliver_pushes(db, SYSTEM)
    assert (run.sent, run.retrying, run.failed, run.waiting) == (0, 0, 0, 2)
    rows = db.exec(select(WorkChatDelivery)).all()
    assert all(r.attempts == 0 and r.state == "queued" for r in rows)
    wecom.mode = "accept"
    clock.freeze(clock.now() + timedelta(minutes=1))
    assert deliver_pushes(db, SYSTEM).sent == 2


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_a_robot_down_or_slow_keeps_its_pushes_queued(db, company, robots, trouble):
    wecom, dingtalk = robots
    if trouble == "down":
        wecom.stop()
        wecom.stop = lambda: None
    else:
        set_setting(db, company.actor(db, "admin"), "push.timeout_seconds", 1)
        wecom.mode, wecom.delay = "slow", 3.0
    _opt_in(db, company, "rep_a1", "rep_a2", "rep_b1")
    _notify(db, company, "dispatch.received", {"rep_a1": 1, "rep_a2": 1, "rep_b1": 1})
    queue_pushes(db, SYSTEM)
    db.commit()
    run = deliver_pushes(db, SYSTEM)
    db.commit()
    # The other robot is not held up by the one in trouble.
    assert (run.sent, run.robots_down, run.waiting) == (1, 1, 2)
    assert len(dingtalk.received) == 1
    waiting = db.exec(select(WorkChatDelivery).where(WorkChatDelivery.state == "queued")).all()
    assert all(r.attempts == 0 and r.last_error for r in waiting)
    # A push that cannot go out for longer than push.max_age_hours (24) fails as too old;
    # its notice stays in the app, unread.
    if trouble == "down":
        clock.freeze(clock.now() + timedelta(hours=25))
        assert deliver_pushes(db, SYSTEM).failed == 2
        assert {r.last_error for r in db.exec(select(WorkChatDelivery)).all()} == {None, TOO_OLD}
        assert len(db.exec(select(Notice).where(col(Notice.read_at).is_(None))).all()) == 3


def test_run_push_is_the_job(db, company, robots):
    wecom, _ = robots
    _opt_in(db, company, "rep_a1")
    _notify(db, company, "dispatch.received", {"rep_a1": 1})
    counts = run_push(db, SYSTEM)
    assert counts["queued"] == 1 and counts["sent"] == 0 and counts["waiting"] == 1
    assert run_push(db, SYSTEM)["sent"] == 1 and len(wecom.received) == 1


def test_test_push_and_removal(db, company, robots):
    wecom, _ = robots
    admin = company.actor(db, "admin")
    answer = send_test_push(db, admin, company.units["beijing"].id, "ping")
    assert answer.accepted and "ping" in wecom.texts()[0]
    wecom.mode = "refuse"
    answer = send_test_push(db, admin, company.units["beijing"].id, "ping")
    assert not answer.accepted and "93000" in answer.error
    _opt_in(db, company, "rep_a1")
    _notify(db, company, "dispatch.received", {"rep_a1": 1})
    queue_pushes(db, SYSTEM)
    remove_robot(db, admin, company.units["beijing"].id)
    row = db.exec(select(WorkChatDelivery)).one()
    assert row.state == "failed" and row.robot_id is None
    with pytest.raises(NotFound):
        send_test_push(db, admin, company.units["beijing"].id, "ping")
    actions = {a.action for a in db.exec(select(AuditLog)).all()}
    assert {"work_chat.test", "work_chat.robot_remove"} <= actions


def test_pushed_text_masks_phone_numbers():
    assert mask_numbers("call +86 138 0013 8000 now") == "call 138****8000 now"
    assert mask_numbers("opportunity #12345") == "opportunity #12345"
