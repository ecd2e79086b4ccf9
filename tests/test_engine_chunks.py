"""The engine's long jobs in whole chunks: the recycle sweep, the warnings and dispatch commit
chunk by chunk, take back (warn, give) exactly what one transaction would, and a crash
between chunks leaves only whole chunks."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from crm_core.circulation import jobs, recycle
from crm_core.circulation.chunks import ChunkSpan
from crm_core.circulation.dispatch import dispatch_in_chunks
from crm_core.circulation.jobs import run_job
from crm_core.circulation.recycle import (
    recycle_idle_opportunities,
    sweep_idle_opportunities,
    warn_in_chunks,
)
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FlowEvent, Notice, Opportunity
from crm_core.platform import clock
from tests.factories import (
    SYSTEM,
    add_owned_opportunity,
    add_waiting_opportunities,
    build_small_company,
)
from tests.test_recycle import START, recycle_rule

OWNERS = ("rep_a1", "rep_a2", "rep_b1", "rep_a1", "rep_a2", "rep_b1")


@pytest.fixture
def company(db):
    clock.freeze(START)
    yield build_small_company(db)
    clock.reset()


def idle_floor(db, company, count: int = 12) -> list[int]:
    """`count` owned opportunities: idle, worked lately, locked, once recycled, never
    followed up; two rules apply in order."""
    recycle_rule(db, company, name="No work", priority=10, after=7, dormant_after=2)
    recycle_rule(
        db,
        company,
        name="Never called",
        priority=20,
        trigger="no_first_follow_up",
        after=48,
        in_hours=True,
        target="redispatch",
    )
    ids = []
    for n in range(count):
        opp = add_owned_opportunity(db, company, OWNERS[n % len(OWNERS)], 100 + n)
        values = {"assigned_at": START - timedelta(days=n % 4)}
        if n % 5 == 1:
            values["last_follow_up_at"] = START + timedelta(days=8)  # worked lately
            values["first_follow_up_at"] = START
        if n % 5 == 2:
            values["locked"] = True
        if n % 3 == 0:
            values["recycle_count"] = 1  # the next recycle puts it to sleep
        db.exec(update(Opportunity).where(Opportunity.id == opp.id).values(**values))
        ids.append(opp.id)
    db.commit()
    clock.advance(timedelta(days=9))
    return ids


def floor_state(db) -> tuple[list[tuple], list[tuple]]:
    db.expire_all()
    opportunities = db.exec(
        select(
            Opportunity.id,
            Opportunity.pool_state,
            Opportunity.owner_id,
            Opportunity.recycle_count,
            Opportunity.unassigned_reason,
        ).order_by(Opportunity.id)
    ).all()
    events = db.exec(
        select(FlowEvent.opportunity_id, FlowEvent.to_state, FlowEvent.rule_id).order_by(
            FlowEvent.opportunity_id
        )
    ).all()
    return [tuple(o) for o in opportunities], [tuple(e) for e in events]


def test_a_sweep_in_chunks_takes_back_what_one_transaction_does(db, company):
    idle_floor(db, company)
    whole = db.begin_nested()
    expected = recycle_idle_opportunities(db, SYSTEM)
    expected_state = floor_state(db)
    whole.rollback()
    assert expected.recycled > 3 and expected.dormant > 0  # the floor exercises both rules

    chunks = sweep_idle_opportunities(db, SYSTEM, first_span=1)
    commits = 0
    while True:
        try:
            next(chunks)
        except StopIteration as stop:
            result = stop.value
            break
        db.commit()
        commits += 1
    assert commits > 2  # it really went in several chunks
    assert (result.recycled, result.dormant) == (expected.recycled, expected.dormant)
    assert [(o.name, o.recycled, o.dormant) for o in result.rules] == [
        (o.name, o.recycled, o.dormant) for o in expected.rules
    ]
    assert floor_state(db) == expected_state


@pytest.mark.usefixtures("committed_db")  # the job commits in its own sessions
def test_a_crash_between_chunks_leaves_only_whole_chunks(db, company, engine, monkeypatch):
    ids = idle_floor(db, company)
    calls = Counter()
    real = recycle._recycle_by

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # the third chunk's first rule (two rules a chunk)
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(recycle, "_recycle_by", crashing)
    monkeypatch.setitem(
        jobs.JOBS, "recycle", lambda s, a: sweep_idle_opportunities(s, a, first_span=1)
    )
    run = run_job("recycle", engine=engine)
    assert run.status == "failed" and "disk full" in run.error
    db.expire_all()
    moved = db.exec(
        select(Opportunity.id).where(Opportunity.pool_state != "owned").order_by(Opportunity.id)
    ).all()
    events = db.exec(select(FlowEvent.opportunity_id).order_by(FlowEvent.opportunity_id)).all()
    # Two chunks were saved (ids ids[0] and ids[1]..ids[2]); each moved opportunity has its
    # one flow event, and nothing of the failed chunk is there.
    assert moved == events and set(moved) <= set(ids[:3]) and moved
    assert run.counts["recycled"] == len(moved)

    monkeypatch.setattr(recycle, "_recycle_by", real)
    again = run_job("recycle", engine=engine)
    assert again.status == "done"
    db.expire_all()
    total = db.exec(select(func.count()).select_from(FlowEvent)).one()
    assert total == len(moved) + again.counts["recycled"]
    per_opportunity = db.exec(
        select(FlowEvent.opportunity_id, func.count()).group_by(FlowEvent.opportunity_id)
    ).all()
    assert all(n == 1 for _, n in per_opportunity)


def test_warnings_in_chunks_send_each_owner_one_notice(db, company):
    recycle_rule(db, company, after=7, warn_days=2)
    for n, owner in enumerate(("rep_a1", "rep_a1", "rep_a2", "rep_b1", "rep_b1", "rep_b1")):
        opp = add_owned_opportunity(db, company, owner, 200 + n)
        db.exec(update(Opportunity).where(Opportunity.id == opp.id).values(assigned_at=START))
    db.commit()
    clock.advance(timedelta(days=5, hours=1))
    chunks = warn_in_chunks(db, SYSTEM, owners_per_chunk=1)
    yielded = 0
    while True:
        try:
            next(chunks)
        except StopIteration as stop:
            warned = stop.value
            break
        db.commit()
        yielded += 1
    assert warned == 6 and yielded == 3
    notices = db.exec(select(Notice.user_id, Notice.params).where(Notice.kind == "recycle.warning"))
    assert {user: params["count"] for user, params in notices} == {
        company.users["rep_a1"].id: 2,
        company.users["rep_a2"].id: 1,
        company.users["rep_b1"].id: 3,
    }


def test_dispatch_in_chunks_gives_each_rep_one_notice_and_stays_fair(db, company):
    save_rule(
        db,
        company.actor(db, "admin"),
        "dispatch",
        RuleDraft(
            name="All to Beijing",
            org_unit_id=company.units["hq"].id,
            action={"target_unit_id": company.units["beijing"].id},
        ),
    )
    db.commit()
    waiting = add_waiting_opportunities(db, company, 11)
    chunks = dispatch_in_chunks(db, SYSTEM, first_chunk=2)
    yielded = 0
    while True:
        try:
            next(chunks)
        except StopIteration as stop:
            result = stop.value
            break
        db.commit()
        yielded += 1
    assert yielded >= 2 and result.considered == result.assigned == len(waiting)
    given = Counter(
        db.exec(select(Opportunity.owner_id).where(col(Opportunity.id).in_(waiting))).all()
    )
    assert max(given.values()) - min(given.values()) <= 1  # round-robin across chunks
    notices = db.exec(
        select(Notice.user_id, Notice.params).where(Notice.kind == "dispatch.received")
    )
    assert {user: params["count"] for user, params in notices} == dict(given)
    assert result.per_rep == dict(given)


def test_a_chunk_is_sized_by_the_time_it_takes():
    span = ChunkSpan(1_000, smallest=100, largest=50_000)
    span.start()  # a chunk that took no time grows the next one by half, at most
    span.done()
    assert span.size == 1_500
    span.start()
    span._started -= 1.0  # a chunk of a whole second: the next takes a fifth of it
    span.done()
    assert 290 <= span.size <= 300
