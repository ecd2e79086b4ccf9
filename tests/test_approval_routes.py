"""Approval flows on the routes beside the plain ones: a rep's transfer request approved to
another unit, a discount flow's notices and its withdrawal, a selection split between moves
made at once and moves sent for approval."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.approvals.entry import decide_transfer_routed, request_or_assign
from crm_core.approvals.listing import list_requests
from crm_core.approvals.requests import decide_request, withdraw_request
from crm_core.commerce.orders import create_order
from crm_core.models import ApprovalRequest, Notice, Opportunity, SalesOrder, TransferRequest
from crm_core.platform.errors import ValidationError
from crm_core.sales.transfers import request_transfer
from tests.approval_world import flow, notices, sales_company
from tests.factories import add_owned_opportunity


@pytest.fixture
def company(db):
    return sales_company(db)


def uid(company, name):
    return company.users[name].id


def fresh(db, model, key):
    db.expire_all()
    return db.get(model, key)


def asked(db, company, tail):
    opp = add_owned_opportunity(db, company, "rep_a1", tail)
    transfer = request_transfer(db, company.actor(db, "rep_a1"), opp.id, "Moving city")
    db.commit()
    return opp, transfer


def test_a_transfer_request_approved_to_another_unit_waits_and_stays_open(db, company):
    flow(db, "transfer", ["admin"])
    opp, transfer = asked(db, company, 31)
    manager = company.actor(db, "bj_manager")
    routed = decide_transfer_routed(
        db, manager, transfer.id, approve=True, to_user_id=uid(company, "rep_b1")
    )
    db.commit()
    assert routed.sent == 1
    assert fresh(db, TransferRequest, transfer.id).status == "pending"
    assert fresh(db, Opportunity, opp.id).owner_id == uid(company, "rep_a1")
    decide_request(db, company.actor(db, "admin"), routed.request_ids[0], True)
    db.commit()
    assert fresh(db, Opportunity, opp.id).owner_id == uid(company, "rep_b1")
    closed = fresh(db, TransferRequest, transfer.id)
    assert (closed.status, closed.decided_by_id) == ("approved", uid(company, "bj_manager"))
    told = db.exec(select(Notice.user_id).where(Notice.kind == "transfer.approved")).all()
    assert told == [uid(company, "rep_a1")]


def test_a_rejected_move_rejects_the_reps_transfer_request(db, company):
    flow(db, "transfer", ["admin"])
    opp, transfer = asked(db, company, 32)
    routed = decide_transfer_routed(
        db,
        company.actor(db, "bj_manager"),
        transfer.id,
        approve=True,
        to_user_id=uid(company, "rep_b1"),
    )
    decide_request(db, company.actor(db, "admin"), routed.request_ids[0], False)
    db.commit()
    assert fresh(db, TransferRequest, transfer.id).status == "rejected"
    assert fresh(db, Opportunity, opp.id).owner_id == uid(company, "rep_a1")


def test_a_transfer_decided_meanwhile_makes_the_approval_fail(db, company):
    flow(db, "transfer", ["admin"])
    opp, transfer = asked(db, company, 33)
    manager = company.actor(db, "bj_manager")
    routed = decide_transfer_routed(
        db, manager, transfer.id, approve=True, to_user_id=uid(company, "rep_b1")
    )
    db.commit()
    # Within the unit no approval is needed: the manager moves it at once.
    again = decide_transfer_routed(
        db, manager, transfer.id, approve=True, to_user_id=uid(company, "rep_a2")
    )
    db.commit()
    assert again.done == 1
    decide_request(db, company.actor(db, "admin"), routed.request_ids[0], True)
    db.commit()
    failed = fresh(db, ApprovalRequest, routed.request_ids[0])
    assert failed.state == "failed"
    assert fresh(db, Opportunity, opp.id).owner_id == uid(company, "rep_a2")


def test_without_a_transfer_flow_decisions_stay_as_they_were(db, company):
    opp, transfer = asked(db, company, 34)
    routed = decide_transfer_routed(
        db,
        company.actor(db, "bj_manager"),
        transfer.id,
        approve=True,
        to_user_id=uid(company, "rep_b1"),
    )
    db.commit()
    assert (routed.done, routed.sent) == (1, 0)
    assert fresh(db, Opportunity, opp.id).owner_id == uid(company, "rep_b1")


def test_a_selection_moves_within_the_unit_at_once_and_sends_the_rest(db, company):
    flow(db, "transfer", ["admin"])
    inside = add_owned_opportunity(db, company, "rep_a2", 41)
    across = add_owned_opportunity(db, company, "rep_b1", 42)
    routed = request_or_assign(
        db, company.actor(db, "bj_manager"), [inside.id, across.id], uid(company, "rep_a1")
    )
    db.commit()
    assert (routed.done, routed.sent) == (1, 1)
    assert fresh(db, Opportunity, inside.id).owner_id == uid(company, "rep_a1")
    assert fresh(db, Opportunity, across.id).owner_id == uid(company, "rep_b1")
    [request] = db.exec(select(ApprovalRequest)).all()
    assert request.opportunity_id == across.id


def test_a_threshold_above_the_expected_amount_lets_the_move_happen(db, company):
    flow(db, "transfer", ["admin"], "5000")
    opp = add_owned_opportunity(db, company, "rep_a1", 43)
    routed = request_or_assign(
        db, company.actor(db, "bj_manager"), [opp.id], uid(company, "rep_b1")
    )
    assert (routed.done, routed.sent) == (1, 0)


def test_each_step_of_a_discount_flow_tells_its_approvers(db, company):
    flow(db, "discount", ["team_lead", "sales_manager"])
    opp = add_owned_opportunity(db, company, "rep_a1", 51)
    create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, "8000")
    db.commit()
    [request] = list_requests(db, company.actor(db, "rep_a1"), "mine")
    assert notices(db, "approval.requested") == [(uid(company, "lead_a"), request.id)]
    decide_request(db, company.actor(db, "lead_a"), request.id, True)
    db.commit()
    assert notices(db, "approval.requested") == [
        (uid(company, "bj_manager"), request.id),
        (uid(company, "lead_a"), request.id),
    ]


def test_withdrawing_a_discount_request_cancels_the_order(db, company):
    flow(db, "discount", ["sales_manager"])
    opp = add_owned_opportunity(db, company, "rep_a1", 52)
    order = create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, "8000")
    db.commit()
    [request] = list_requests(db, company.actor(db, "rep_a1"), "mine")
    withdraw_request(db, company.actor(db, "rep_a1"), request.id)
    db.commit()
    assert fresh(db, SalesOrder, order.id).status == "cancelled"
    with pytest.raises(ValidationError):
        withdraw_request(db, company.actor(db, "rep_a1"), request.id)


def test_a_discount_within_the_limit_never_meets_the_flow(db, company):
    flow(db, "discount", ["sales_manager"])
    opp = add_owned_opportunity(db, company, "rep_a1", 53)
    order = create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, "9500")
    db.commit()
    assert order.approval == "none"
    assert db.exec(select(ApprovalRequest)).all() == []


def test_many_requests_open_in_a_handful_of_statements(db, company):
    from sqlalchemy import update

    from crm_core.approvals.entry import request_or_reactivate
    from tests.test_lead_card import counting_queries

    flow(db, "reactivation", ["admin"])

    def dormant_ones(count, start):
        ids = [add_owned_opportunity(db, company, "rep_a1", start + i).id for i in range(count)]
        db.exec(
            update(Opportunity)
            .where(Opportunity.id.in_(ids))
            .values(pool_state="dormant", owner_id=None)
        )
        db.commit()
        return ids

    manager = company.actor(db, "bj_manager")
    few, many = dormant_ones(2, 600), dormant_ones(40, 700)
    with counting_queries(db) as small:
        request_or_reactivate(db, manager, few)
    with counting_queries(db) as large:
        routed = request_or_reactivate(db, manager, many)
    db.commit()
    assert routed.sent == 40
    assert len(large) <= len(small) + 3
    told = db.exec(select(Notice).where(Notice.kind == "approval.requested")).all()
    assert {n.user_id for n in told} == {uid(company, "admin")} and len(told) == 42
