"""API keys in the core: created with a secret shown once and stored hashed, scoped,
listed with their last use, rotated and revoked - by administrators only, every change
audited; and dispatch on arrival within the rules' caps."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from sqlmodel import select

from crm_core.circulation.dispatch import dispatch_arrivals
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.leads.api_keys import (
    KeyRefused,
    authenticate_key,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    rotate_api_key,
)
from crm_core.models import ApiKey, AuditLog, Opportunity, User
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied, ValidationError
from tests.factories import SYSTEM, add_waiting_opportunities, build_small_company


@pytest.fixture
def company(db):
    clock.freeze(datetime(2027, 3, 2, 2, 0))
    yield build_small_company(db)
    clock.reset()


def test_a_key_is_shown_once_and_stored_hashed(db, company):
    admin = company.actor(db, "admin")
    key, token = create_api_key(db, admin, "Website form", ["Landing-page form"], [company.line.id])
    assert token.startswith(f"crm_{key.prefix}_") and len(token) > 50
    stored = db.get(ApiKey, key.id)
    assert stored.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored.model_dump())
    assert stored.channels == ["form"]  # a label is stored as its code
    grant = authenticate_key(db, token)
    assert grant.channels == {"form"} and grant.business_line_ids == {company.line.id}
    assert grant.actor.permissions == {"create_leads"} and grant.actor.user_id is None


def test_only_administrators_manage_keys(db, company):
    manager = company.actor(db, "bj_manager")
    with pytest.raises(PermissionDenied):
        create_api_key(db, manager, "Mine", ["form"], [company.line.id])
    with pytest.raises(PermissionDenied):
        list_api_keys(db, manager)


def test_a_key_needs_a_name_and_a_scope(db, company):
    admin = company.actor(db, "admin")
    with pytest.raises(ValidationError):
        create_api_key(db, admin, " ", ["form"], [company.line.id])
    with pytest.raises(ValidationError):
        create_api_key(db, admin, "Form", ["telegram"], [company.line.id])
    with pytest.raises(ValidationError):
        create_api_key(db, admin, "Form", ["form"], [])


def test_rotate_and_revoke_are_audited_and_refuse_the_old_secret(db, company):
    admin = company.actor(db, "admin")
    key, first = create_api_key(db, admin, "Chat", ["chat"], [company.line.id])
    second = rotate_api_key(db, admin, key.id)
    with pytest.raises(KeyRefused):
        authenticate_key(db, first)
    assert authenticate_key(db, second).key_id == key.id
    revoke_api_key(db, admin, key.id)
    with pytest.raises(KeyRefused):
        authenticate_key(db, second)
    with pytest.raises(ValidationError):
        rotate_api_key(db, admin, key.id)
    actions = db.exec(
        select(AuditLog.action).where(AuditLog.target_type == "api_key").order_by(AuditLog.id)
    ).all()
    assert list(actions) == ["api_key.create", "api_key.rotate", "api_key.revoke"]
    listed = list_api_keys(db, admin)
    assert [(k.name, k.active, k.business_lines) for k in listed] == [("Chat", False, ["kaoyan"])]


@pytest.mark.parametrize("token", [None, "", "crm_", "crm_abc", "bearer x", "crm_nope_secret"])
def test_malformed_keys_are_refused(db, company, token):
    with pytest.raises(KeyRefused):
        authenticate_key(db, token)


def test_dispatch_on_arrival_takes_only_the_arrivals_within_caps(db, company):
    save_rule(
        db,
        company.actor(db, "admin"),
        "dispatch",
        RuleDraft(
            name="Team A",
            priority=10,
            org_unit_id=company.units["hq"].id,
            conditions={},
            action={"target_unit_id": company.units["team_a"].id},
        ),
    )
    for user in db.exec(select(User).where(User.org_unit_id == company.units["team_a"].id)):
        user.daily_cap = 1
        db.add(user)
    db.commit()
    waiting_before = add_waiting_opportunities(db, company, 2)
    arrivals = add_waiting_opportunities(db, company, 5)
    result = dispatch_arrivals(db, SYSTEM, arrivals)
    db.commit()
    assert result.considered == 5 and result.assigned == 3  # three reps, one each today
    states = dict(
        db.exec(
            select(Opportunity.id, Opportunity.pool_state).where(Opportunity.id.in_(arrivals))
        ).all()
    )
    assert sorted(states.values()) == ["owned"] * 3 + ["unassigned"] * 2
    untouched = db.exec(
        select(Opportunity.pool_state).where(Opportunity.id.in_(waiting_before))
    ).all()
    assert set(untouched) == {"unassigned"}
    with pytest.raises(PermissionDenied):
        dispatch_arrivals(db, company.actor(db, "rep_a1"), arrivals)
