"""Transfer requests: a rep asks, the managers above are told, a manager decides."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from crm_core.models import FlowEvent, Notice, Opportunity, TransferRequest
from crm_core.org.access import load_actor
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.transfers import (
    colleagues,
    count_pending_transfers,
    decide_transfer,
    list_transfer_requests,
    request_transfer,
    requests_of_opportunity,
    withdraw_transfer,
)
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company

NOW = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def notices(db, username, company) -> list[tuple[str, dict]]:
    return [
        (n.kind, n.params)
        for n in db.exec(
            select(Notice).where(Notice.user_id == company.users[username].id).order_by(Notice.id)
        ).all()
    ]


def test_a_request_tells_the_managers_above_and_only_them(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    request_transfer(
        db, rep, opp.id, "Lives in Shanghai", suggested_owner_id=company.users["rep_a2"].id
    )
    db.commit()
    told = {"opportunity": opp.id, "name": "Rep A1"}
    assert notices(db, "lead_a", company) == [("transfer.requested", told)]
    assert notices(db, "bj_manager", company) == [("transfer.requested", told)]
    assert notices(db, "rep_a2", company) == []  # a colleague holds no assign permission
    assert count_pending_transfers(db, company.actor(db, "bj_manager")) == 1
    [row] = list_transfer_requests(db, company.actor(db, "bj_manager"))
    assert (row.reason, row.requested_by, row.suggested_owner) == (
        "Lives in Shanghai",
        "Rep A1",
        "Rep A2",
    )


def test_refusals(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as empty:
        request_transfer(db, rep, opp.id, "  ")
    assert empty.value.key == "Say why the opportunity should move."
    with pytest.raises(ValidationError) as stranger:
        request_transfer(db, rep, opp.id, "why", suggested_owner_id=company.users["rep_c1"].id)
    assert stranger.value.key == "Suggest a colleague of your own team who receives opportunities."
    request_transfer(db, rep, opp.id, "Too far")
    with pytest.raises(ValidationError) as twice:
        request_transfer(db, rep, opp.id, "Again")
    assert twice.value.key == "A transfer of this opportunity is already waiting for a decision."
    theirs = add_owned_opportunity(db, company, "rep_a2", 2)
    with pytest.raises(NotFound):
        request_transfer(db, rep, theirs.id, "Not mine")
    with pytest.raises(PermissionDenied):
        list_transfer_requests(db, rep)


def test_approving_moves_the_opportunity_and_tells_the_rep(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    request = request_transfer(db, company.actor(db, "rep_a1"), opp.id, "Friend of mine")
    db.commit()
    manager = company.actor(db, "lead_a")
    assert (
        decide_transfer(
            db, manager, request.id, approve=True, to_user_id=company.users["rep_a2"].id
        )
        == 1
    )
    db.commit()
    row = db.get(Opportunity, opp.id, populate_existing=True)
    assert row.owner_id == company.users["rep_a2"].id
    event = db.exec(select(FlowEvent)).one()
    assert (event.reason, event.actor_id) == ("transfer", company.users["lead_a"].id)
    assert notices(db, "rep_a1", company) == [("transfer.approved", {"opportunity": opp.id})]
    with pytest.raises(ValidationError):
        decide_transfer(db, manager, request.id, approve=False)
    rows = requests_of_opportunity(db, company.actor(db, "rep_a2"), opp.id)
    assert [(r.status, r.decided_by) for r in rows] == [("approved", "Lead A")]


def test_approving_to_the_pool_rejecting_and_withdrawing(db, company):
    first = add_owned_opportunity(db, company, "rep_a1", 1)
    second = add_owned_opportunity(db, company, "rep_a1", 2)
    third = add_owned_opportunity(db, company, "rep_a1", 3)
    rep = company.actor(db, "rep_a1")
    manager = company.actor(db, "bj_manager")
    r1 = request_transfer(db, rep, first.id, "a")
    r2 = request_transfer(db, rep, second.id, "b")
    r3 = request_transfer(db, rep, third.id, "c")
    db.commit()
    decide_transfer(db, manager, r1.id, approve=True)
    decide_transfer(db, manager, r2.id, approve=False, note="Keep trying")
    withdraw_transfer(db, rep, r3.id)
    db.commit()
    assert db.get(Opportunity, first.id, populate_existing=True).pool_state == "public"
    assert db.get(Opportunity, second.id, populate_existing=True).owner_id == rep.user_id
    statuses = dict(db.exec(select(TransferRequest.id, TransferRequest.status)).all())
    assert statuses == {r1.id: "approved", r2.id: "rejected", r3.id: "withdrawn"}
    with pytest.raises(NotFound):
        withdraw_transfer(db, company.actor(db, "rep_a2"), r2.id)


def test_a_manager_outside_the_unit_cannot_decide(db, company):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    request = request_transfer(db, company.actor(db, "rep_a1"), opp.id, "x")
    sh = create_user(
        db,
        SYSTEM,
        username="sh_manager",
        full_name="SH Manager",
        employee_no="E0099",
        password=PASSWORD,
        org_unit_id=company.units["shanghai"].id,
        role_codes=["sales_manager"],
    )
    db.commit()
    outsider = load_actor(db, sh.id)
    with pytest.raises(NotFound):
        decide_transfer(db, outsider, request.id, approve=True)
    assert list_transfer_requests(db, outsider) == []
    assert db.exec(select(Notice).where(Notice.user_id == sh.id)).all() == []


def test_closing_the_opportunity_withdraws_its_request(db, company):
    from crm_core.sales.stages import change_stage

    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    request_transfer(db, rep, opp.id, "x")
    change_stage(db, rep, opp.id, "lost", lost_reason="timing")
    db.commit()
    assert db.exec(select(TransferRequest.status)).one() == "withdrawn"
    # Colleagues a rep may suggest: the team's other dispatch receivers, team lead included.
    assert colleagues(db, rep) == [
        (company.users["lead_a"].id, "Lead A"),
        (company.users["rep_a2"].id, "Rep A2"),
    ]
