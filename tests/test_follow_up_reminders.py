"""Planned follow-ups that fell overdue: the warnings job tells each owner once, in their
language, and the push job may carry it to work chat."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.circulation.jobs import run_job
from crm_core.models import Notice
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.i18n import ntranslate
from crm_core.platform.i18n.labels import NOTICE_PLURALS
from crm_core.sales.follow_up_reminders import KIND, notify_overdue_follow_ups
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up, set_next_follow_up
from crm_core.work_chat.kinds import PUSH_KINDS, notice_message
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

pytestmark = pytest.mark.usefixtures("committed_db")

START = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def company(db):
    clock.freeze(START)
    company = build_small_company(db)
    db.commit()
    yield company
    clock.reset()


def plan(db, company, owner: str, tail: int, hours: int) -> int:
    """An opportunity of `owner` whose next follow-up is planned `hours` from now."""
    opportunity = add_owned_opportunity(db, company, owner, tail)
    set_next_follow_up(
        db, company.actor(db, owner), opportunity.id, clock.now() + timedelta(hours=hours)
    )
    db.commit()
    return opportunity.id


def told(db) -> dict[int, list[int]]:
    db.expire_all()
    found: dict[int, list[int]] = {}
    for user_id, params in db.exec(
        select(Notice.user_id, Notice.params).where(Notice.kind == KIND)
    ):
        found.setdefault(user_id, []).append(params["count"])
    return found


def test_each_overdue_follow_up_is_told_once_to_its_owner(db, company, engine):
    a1, c1 = company.users["rep_a1"].id, company.users["rep_c1"].id
    plan(db, company, "rep_a1", 1, 2)
    plan(db, company, "rep_a1", 2, 3)
    done = plan(db, company, "rep_a1", 3, 2)
    plan(db, company, "rep_c1", 4, 30)
    assert run_job("warnings", engine=engine).status == "done"
    assert told(db) == {}  # nothing due yet

    clock.freeze(START + timedelta(hours=4))
    # Followed up in time for one of them: its next follow-up moved on, nothing to tell.
    log_follow_up(
        db,
        company.actor(db, "rep_a1"),
        done,
        FollowUpInput(
            channel="call", content="Called", next_follow_up_at=clock.now() + timedelta(days=2)
        ),
    )
    db.commit()
    run = run_job("warnings", engine=engine)
    assert run.status == "done" and run.counts["follow_ups_overdue"] == 2
    assert told(db) == {a1: [2]}

    clock.freeze(START + timedelta(hours=5))
    assert run_job("warnings", engine=engine).counts["follow_ups_overdue"] == 0
    assert told(db) == {a1: [2]}  # still overdue, but told already

    clock.freeze(START + timedelta(hours=31))
    assert run_job("warnings", engine=engine).counts["follow_ups_overdue"] == 1
    assert told(db) == {a1: [2], c1: [1]}


def test_without_an_earlier_run_the_last_day_is_looked_at(db, company):
    plan(db, company, "rep_a1", 1, 1)
    plan(db, company, "rep_a1", 2, 2)
    clock.freeze(START + timedelta(hours=25, minutes=30))
    # Due 24.5 and 23.5 hours ago: the older one falls before the day looked at.
    assert notify_overdue_follow_ups(db, SYSTEM) == 1
    clock.freeze(START + timedelta(hours=30))
    assert notify_overdue_follow_ups(db, SYSTEM, since=START) == 2


def test_a_rep_does_not_run_it(db, company):
    with pytest.raises(PermissionDenied):
        notify_overdue_follow_ups(db, company.actor(db, "rep_a1"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_notice_reads_its_count_and_may_be_pushed(db, company, lang):
    plan(db, company, "rep_a1", 1, 1)
    clock.freeze(START + timedelta(hours=2))
    notify_overdue_follow_ups(db, SYSTEM, since=START)
    notice = db.exec(select(Notice).where(Notice.kind == KIND)).one()
    assert notice_message(notice, lang) == ntranslate(*NOTICE_PLURALS[KIND], 1, lang)
    assert "1" in notice_message(notice, lang)
    assert KIND in PUSH_KINDS
