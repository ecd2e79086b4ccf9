"""The demo's trial lessons agree with the opportunities' stages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from crm_core.models import Opportunity, TrialLesson, User
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.sales.workbench import workbench
from db.seed import seed_database
from tests.conftest import empty_database


@pytest.fixture
def seeded(engine):
    empty_database(engine)
    seed_database(engine, opportunities=1_200, seed=7)
    with Session(engine, expire_on_commit=False) as session:
        yield session


def test_booked_trials_lie_ahead_and_attended_ones_before_the_stage(seeded):
    now = clock.now()
    rows = seeded.exec(
        select(Opportunity, TrialLesson).join(
            TrialLesson, TrialLesson.opportunity_id == Opportunity.id
        )
    ).all()
    booked = [(o, t) for o, t in rows if t.status == "booked"]
    done = [(o, t) for o, t in rows if t.status == "done"]
    assert booked and done
    assert all(o.stage == "trial_booked" and t.booked_by_id == o.owner_id for o, t in booked)
    assert all(
        now - timedelta(minutes=5) < t.scheduled_at < now + timedelta(days=3, hours=1)
        for _, t in booked
    )
    assert all(o.stage == "trial_done" and t.done_at == o.stage_changed_at for o, t in done)
    assert len({o.id for o, _ in rows}) == len(rows)  # one trial per opportunity


def test_the_demo_rep_has_trials_on_the_workbench_within_three_days(seeded):
    rep = seeded.execute(text("SELECT id FROM app_user WHERE username = 'rep'")).scalar_one()
    actor = load_actor(seeded, rep)
    holders = seeded.execute(
        text("SELECT count(*) FROM trial_lesson WHERE booked_by_id = :rep AND status = 'booked'"),
        {"rep": rep},
    ).scalar_one()
    seen = 0
    for day in range(4):  # the booked ones fall within three days: each day shows its own
        clock.freeze(clock.now() + timedelta(days=1) if day else clock.now())
        seen += len(workbench(seeded, actor).trials_today)
    clock.reset()
    assert seen == holders
    assert seeded.get(User, rep).username == "rep"
