"""The rule service: what cannot work is refused with the reason, every save is a version,
managers edit only their units' rules, and a dry run shows a draft's effect."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from crm_core.circulation.dry_run import preview_rule
from crm_core.circulation.rules import (
    RuleDraft,
    list_rules,
    move_rule,
    rule_versions,
    save_rule,
    set_rule_enabled,
)
from crm_core.models import DispatchRule, FlowEvent, Opportunity, RecycleRule, User
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.factories import add_waiting_opportunities, build_small_company


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    yield build_small_company(db)
    clock.reset()


def draft(company, name="Rule", unit="beijing", **action) -> RuleDraft:
    action.setdefault("target_unit_id", company.units["team_a"].id)
    return RuleDraft(name=name, org_unit_id=company.units[unit].id, action=action)


def refused(call) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value


@pytest.mark.parametrize(
    ("conditions", "action", "key"),
    [
        ({"trigger": "no_follow_up", "after": 0}, {}, "{field}: must be at least {minimum}."),
        ({"trigger": "no_follow_up", "after": -3}, {}, "{field}: must be at least {minimum}."),
        (
            {"trigger": "no_follow_up", "after": 5},
            {"dormant_after": 0},
            "{field}: must be at least {minimum}.",
        ),
        (
            {"trigger": "no_follow_up", "after": 3},
            {"warn_days": 3},
            "The warning must come before the recycle (trigger after {after}).",
        ),
        ({"trigger": "sometime", "after": 3}, {}, "{field}: “{value}” is not one of the choices."),
        ({"trigger": "no_follow_up", "after": "x"}, {}, "{field}: expected a whole number."),
        (
            {"trigger": "no_follow_up", "after": 3},
            {"target": "team"},
            "Choose the team that recycled opportunities go to.",
        ),
        (
            {"trigger": "no_follow_up", "after": 3, "exempt_from_stage": "won"},
            {},
            "{field}: “{value}” is not one of the choices.",
        ),
    ],
)
def test_recycle_rules_that_cannot_work_are_refused(db, company, conditions, action, key):
    manager = company.actor(db, "bj_manager")
    error = refused(
        lambda: save_rule(
            db,
            manager,
            "recycle",
            RuleDraft(
                name="R",
                org_unit_id=company.units["beijing"].id,
                conditions=conditions,
                action=action,
            ),
        )
    )
    assert error.key == key
    db.rollback()
    assert db.exec(select(func.count()).select_from(RecycleRule)).one() == 0


def test_a_target_unit_with_no_active_reps_is_refused(db, company):
    db.exec(
        update(User).where(User.org_unit_id == company.units["team_b"].id).values(status="on_leave")
    )
    db.commit()
    error = refused(
        lambda: save_rule(
            db,
            company.actor(db, "bj_manager"),
            "dispatch",
            draft(company, target_unit_id=company.units["team_b"].id),
        )
    )
    assert (
        error.key == "{field}: {unit} has no active reps: the rule could give nothing."
        and error.params["unit"] == "Team B"
    )


@pytest.mark.parametrize(
    ("conditions", "action", "key"),
    [
        (
            {},
            {"target_unit_id": None},
            "Choose a target unit or named reps: the rule has nobody to give to.",
        ),
        ({"hours_from": "09:00"}, {}, "Give both the start and the end of the hours, or neither."),
        (
            {"hours_from": "09:00", "hours_to": "09:00"},
            {},
            "The hours start and end at the same time: the rule would never run.",
        ),
        (
            {"hours_from": "9am", "hours_to": "18:00"},
            {},
            "{field}: “{value}” is not a time like 09:30.",
        ),
        ({"intention_levels": ["Z"]}, {}, "{field}: “{value}” is not one of the choices."),
        ({}, {"strategy": "random"}, "{field}: “{value}” is not one of the choices."),
        ({}, {"no_return_days": 0}, "{field}: must be at least {minimum}."),
        (
            {},
            {"skill_tag": "ielts", "skill_required": True},
            "No active target rep has the skill tag “{tag}”.",
        ),
    ],
)
def test_dispatch_rules_that_cannot_work_are_refused(db, company, conditions, action, key):
    action.setdefault("target_unit_id", company.units["team_a"].id)
    error = refused(
        lambda: save_rule(
            db,
            company.actor(db, "bj_manager"),
            "dispatch",
            RuleDraft(
                name="D",
                org_unit_id=company.units["beijing"].id,
                conditions=conditions,
                action=action,
            ),
        )
    )
    assert error.key == key


def test_named_reps_must_be_active_and_in_scope(db, company):
    manager = company.actor(db, "bj_manager")
    error = refused(
        lambda: save_rule(
            db,
            manager,
            "dispatch",
            draft(company, target_unit_id=None, target_user_ids=[company.users["rep_c1"].id]),
        )
    )
    assert error.key == "Reps not found or outside your scope: {ids}."
    db.exec(update(User).where(User.id == company.users["rep_a1"].id).values(status="resigned"))
    db.commit()
    error = refused(
        lambda: save_rule(
            db,
            manager,
            "dispatch",
            draft(company, target_unit_id=None, target_user_ids=[company.users["rep_a1"].id]),
        )
    )
    assert error.key == "These reps are not active: {names}."


def test_overlapping_priorities_are_refused(db, company):
    manager = company.actor(db, "bj_manager")
    save_rule(db, manager, "dispatch", draft(company, name="First"))
    error = refused(lambda: save_rule(db, manager, "dispatch", draft(company, name="Second")))
    assert (
        error.key
        == "Priority {priority} is already used by rule “{rule}” on the same business line: choose another so the order is clear."
        and error.params["rule"] == "First"
    )
    paused = save_rule(
        db,
        manager,
        "dispatch",
        RuleDraft(
            name="Paused",
            org_unit_id=company.units["beijing"].id,
            enabled=False,
            action={"target_unit_id": company.units["team_a"].id},
        ),
    )
    assert refused(lambda: set_rule_enabled(db, manager, "dispatch", paused.id, True)).key == (
        "Priority {priority} is already used by rule “{rule}” on the same business line: choose another so the order is clear."
    )


def test_every_save_is_a_version_with_who_and_what(db, company):
    manager = company.actor(db, "bj_manager")
    rule = save_rule(db, manager, "dispatch", draft(company))
    save_rule(db, manager, "dispatch", draft(company, name="Renamed", strategy="weighted"), rule.id)
    set_rule_enabled(db, manager, "dispatch", rule.id, False)
    db.commit()
    versions = rule_versions(db, manager, "dispatch", rule.id)
    assert [(v.version, v.change) for v in versions] == [
        (3, "disable"),
        (2, "update"),
        (1, "create"),
    ]
    assert versions[1].snapshot["name"] == "Renamed"
    assert versions[1].snapshot["action"]["strategy"] == "weighted"
    assert all(v.changed_by_id == manager.user_id for v in versions)


def test_managers_change_only_their_units_rules(db, company):
    admin = company.actor(db, "admin")
    shanghai = save_rule(
        db,
        admin,
        "dispatch",
        RuleDraft(
            name="SH",
            org_unit_id=company.units["shanghai"].id,
            action={"target_unit_id": company.units["team_c"].id},
        ),
    )
    company_wide = save_rule(
        db,
        admin,
        "dispatch",
        RuleDraft(name="All", priority=500, action={"target_unit_id": company.units["team_c"].id}),
    )
    db.commit()
    manager = company.actor(db, "bj_manager")
    assert [r.name for r in list_rules(db, manager, "dispatch")] == ["All"]
    with pytest.raises(NotFound):
        set_rule_enabled(db, manager, "dispatch", shanghai.id, False)
    with pytest.raises(PermissionDenied):
        set_rule_enabled(db, manager, "dispatch", company_wide.id, False)
    with pytest.raises(PermissionDenied):
        list_rules(db, company.actor(db, "rep_a1"), "dispatch")
    error = refused(
        lambda: save_rule(
            db,
            manager,
            "dispatch",
            RuleDraft(name="No unit", action={"target_unit_id": company.units["team_a"].id}),
        )
    )
    assert error.key == "Choose the unit the rule belongs to."


def test_moving_a_rule_swaps_its_place(db, company):
    manager = company.actor(db, "bj_manager")
    first = save_rule(db, manager, "dispatch", draft(company, name="First"))
    second = save_rule(
        db,
        manager,
        "dispatch",
        RuleDraft(
            name="Second",
            priority=200,
            org_unit_id=company.units["beijing"].id,
            action={"target_unit_id": company.units["team_b"].id},
        ),
    )
    move_rule(db, manager, "dispatch", second.id, -1)
    db.commit()
    assert [r.name for r in list_rules(db, manager, "dispatch")] == ["Second", "First"]
    assert (first.priority, second.priority) == (200, 100)


def test_a_dry_run_of_a_draft_shows_its_effect_and_stores_nothing(db, company):
    manager = company.actor(db, "bj_manager")
    add_waiting_opportunities(db, company, 4)
    result = preview_rule(db, manager, "dispatch", draft(company))
    assert result.assigned == 4 and sum(result.per_rep.values()) == 4
    assert {r.name for r in result.rules} == {"Rule"}
    db.commit()
    assert db.exec(select(func.count()).select_from(DispatchRule)).one() == 0
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 0
    assert db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one() == 0
    with pytest.raises(ValidationError):
        preview_rule(db, manager, "dispatch", draft(company, target_unit_id=None))


def test_names_of_rules_and_people_outside_the_scope_are_shown_not_their_rules(db, company):
    from crm_core.circulation.rules import rule_names
    from crm_core.org.users import staff_names

    admin = company.actor(db, "admin")
    shanghai = save_rule(
        db,
        admin,
        "dispatch",
        RuleDraft(
            name="SH",
            org_unit_id=company.units["shanghai"].id,
            action={"target_unit_id": company.units["team_c"].id},
        ),
    )
    assert rule_names(db, "dispatch") == {shanghai.id: "SH"}
    assert staff_names(db)[company.users["admin"].id] == "Admin"
