"""Managers told before a big recycle: the warnings job counts per team what the recycle
rules take back within a day, and each manager of a team over `recycle.warn_over` gets one
notice a day; the rule editor's dry run shows the per-team counts against the threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm_core.circulation.chunks import drain
from crm_core.circulation.dry_run import preview_rule
from crm_core.circulation.jobs import JOBS
from crm_core.circulation.recycle_teams import KIND, team_managers, warn_team_managers
from crm_core.circulation.rules import RuleDraft
from crm_core.models import Notice
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.settings import set_setting
from tests.factories import SYSTEM
from tests.test_recycle import START, owned, recycle_rule


@pytest.fixture
def company(db):
    from tests.factories import build_small_company

    clock.freeze(START)
    company = build_small_company(db)
    set_setting(db, company.actor(db, "admin"), "recycle.warn_over", 2)
    db.commit()
    yield company
    clock.reset()


def team_a_idle(db, company, count=3):
    for tail in range(1, count + 1):
        owned(db, company, "rep_a1" if tail % 2 else "rep_a2", tail)
    owned(db, company, "rep_b1", 50)


def notices(db) -> list[tuple[int, dict]]:
    return sorted(db.exec(select(Notice.user_id, Notice.params).where(Notice.kind == KIND)).all())


def test_the_managers_of_a_team_over_the_threshold_are_told_a_day_ahead(db, company):
    recycle_rule(db, company, after=7)
    team_a_idle(db, company)
    clock.advance(timedelta(days=5))
    assert warn_team_managers(db, SYSTEM) == 0  # due in two days: not yet
    clock.advance(timedelta(days=1, hours=1))  # due within the day
    result = drain(JOBS["warnings"](db, SYSTEM))
    db.commit()
    assert result["managers_told"] == 2
    users = company.users
    team_a = company.units["team_a"].id
    told = notices(db)
    assert [user for user, _ in told] == sorted([users["lead_a"].id, users["bj_manager"].id])
    assert told[0][1] == {"count": 3, "unit": "Team A", "unit_id": team_a, "limit": 2}
    # Team B (one due) is under the threshold; an hour later nobody is told twice.
    clock.advance(timedelta(hours=1))
    assert warn_team_managers(db, SYSTEM) == 0
    # Nothing was recycled by the warning.
    clock.advance(timedelta(days=1))
    assert warn_team_managers(db, SYSTEM) == 2  # a day later, still over: told again


def test_the_threshold_zero_tells_nobody_and_a_rep_may_not_run_it(db, company):
    set_setting(db, company.actor(db, "admin"), "recycle.warn_over", 0)
    recycle_rule(db, company, after=7)
    team_a_idle(db, company)
    clock.advance(timedelta(days=7))
    assert warn_team_managers(db, SYSTEM) == 0
    with pytest.raises(PermissionDenied):
        warn_team_managers(db, company.actor(db, "rep_a1"))


def test_team_managers_are_the_head_and_the_managers_reaching_the_team(db, company):
    units = company.units
    managers = team_managers(db, [units["team_a"].id, units["team_c"].id])
    assert managers[units["team_a"].id] == {
        company.users["lead_a"].id,
        company.users["bj_manager"].id,
    }
    assert managers[units["team_c"].id] == set()  # Shanghai has no manager here; admin is not one


def test_the_dry_run_shows_the_per_team_counts_against_the_threshold(db, company):
    team_a_idle(db, company)
    owned(db, company, "rep_c1", 90)
    clock.advance(timedelta(days=8))
    draft = RuleDraft(
        name="Idle a week",
        priority=10,
        org_unit_id=company.units["hq"].id,
        conditions={"trigger": "no_follow_up", "after": 7},
        action={},
    )
    admin = preview_rule(db, company.actor(db, "admin"), "recycle", draft)
    units = company.units
    assert admin.per_team == {
        units["team_a"].id: 3,
        units["team_b"].id: 1,
        units["team_c"].id: 1,
    }
    assert admin.warn_over == 2 and admin.team_names[units["team_a"].id] == "Team A"
    draft_bj = RuleDraft(
        name="Idle a week",
        priority=10,
        org_unit_id=units["beijing"].id,
        conditions={"trigger": "no_follow_up", "after": 7},
        action={},
    )
    manager = preview_rule(db, company.actor(db, "bj_manager"), "recycle", draft_bj)
    assert manager.per_team == {units["team_a"].id: 3, units["team_b"].id: 1}
    assert units["team_c"].id not in manager.team_names
