"""Approval flows: configuring them, and requests through their steps - who may decide each
step, thresholds, history, notices, nothing done before the last approval, the re-check when
it is applied - for refunds, re-activations, transfers across units and discounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.approvals.entry import (
    request_or_assign,
    request_or_reactivate,
    request_refund,
)
from crm_core.approvals.flows import delete_flow, flow_for, list_flows, save_flow
from crm_core.approvals.listing import count_waiting, list_requests, request_history
from crm_core.approvals.requests import decide_request, withdraw_request
from crm_core.commerce.refunds import refund_order
from crm_core.models import ApprovalRequest, Opportunity, SalesOrder
from crm_core.org.users import role_by_code
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from tests.approval_world import dormant, flow, notices, paid_order, sales_company
from tests.factories import SYSTEM, add_owned_opportunity


@pytest.fixture
def company(db):
    return sales_company(db)


def fresh(db, model, key):
    """A row as the database holds it (set-based writes bypass the session's copies)."""
    db.expire_all()
    return db.get(model, key)


def uid(company, name):
    return company.users[name].id


# --- configuring flows -----------------------------------------------------------------


def test_only_holders_of_manage_approval_flows_configure_them(db, company):
    manager = role_by_code(db, "sales_manager").id
    for name in ("bj_manager", "fin", "rep_a1", "boss"):
        with pytest.raises(PermissionDenied):
            save_flow(db, company.actor(db, name), "refund", None, [manager])
        with pytest.raises(PermissionDenied):
            list_flows(db, company.actor(db, name))
    admin = company.actor(db, "admin")
    made = save_flow(db, admin, "refund", "5000", [manager])
    db.commit()
    assert [(f.kind, f.min_amount, f.steps) for f in list_flows(db, admin)] == [
        ("refund", Decimal("5000.00"), [manager])
    ]
    assert made.updated_by_id == uid(company, "admin")


def test_a_flow_is_refused_without_valid_steps_or_with_a_bad_threshold(db, company):
    admin = company.actor(db, "admin")
    manager = role_by_code(db, "sales_manager").id
    cases = [
        ("refund", None, [], "A flow needs at least one approver role."),
        ("refund", None, [manager, manager], "A role appears twice in the steps."),
        ("refund", None, [manager, 99999], "Role #{id} does not exist."),
        ("refund", "-5", [manager], "The threshold cannot be negative."),
        ("payday", None, [manager], "Unknown approval kind {kind}."),
    ]
    for kind, floor, steps, key in cases:
        with pytest.raises(ValidationError) as refused:
            save_flow(db, admin, kind, floor, steps)
        assert refused.value.key == key
    save_flow(db, admin, "refund", "1000", [manager])
    with pytest.raises(ValidationError) as twice:
        save_flow(db, admin, "refund", "1000.00", [manager])
    assert twice.value.key == "This kind already has a flow from {amount}."
    save_flow(db, admin, "discount", "1000", [manager])  # another kind may share it


def test_the_highest_threshold_not_above_the_amount_applies(db, company):
    low = flow(db, "refund", ["sales_manager"])
    high = flow(db, "refund", ["sales_manager", "admin"], "5000")
    assert flow_for(db, "refund", Decimal("100")).id == low.id
    assert flow_for(db, "refund", Decimal("4999.99")).id == low.id
    assert flow_for(db, "refund", Decimal("5000")).id == high.id
    assert flow_for(db, "reactivation", None) is None
    delete_flow(db, company.actor(db, "admin"), low.id)
    db.commit()
    assert flow_for(db, "refund", Decimal("100")) is None


# --- refunds ----------------------------------------------------------------------------


def test_without_a_flow_a_refund_happens_at_once(db, company):
    order = paid_order(db, company)
    routed = request_refund(db, company.actor(db, "fin"), order.id, "Changed mind")
    db.commit()
    assert (routed.done, routed.request_ids) == (1, [])
    assert db.get(SalesOrder, order.id).status == "refunded"


def test_a_refund_goes_through_every_step_in_order_before_it_happens(db, company):
    flow(db, "refund", ["sales_manager", "admin"])
    order = paid_order(db, company)
    fin = company.actor(db, "fin")
    routed = request_refund(db, fin, order.id, "Changed mind")
    db.commit()
    [request_id] = routed.request_ids
    assert db.get(SalesOrder, order.id).status == "paid"
    # Step 1 (a sales manager reaching the opportunity): Beijing's, not Shanghai's.
    assert notices(db, "approval.requested") == [(uid(company, "bj_manager"), request_id)]
    assert [r.id for r in list_requests(db, company.actor(db, "bj_manager"))] == [request_id]
    assert list_requests(db, company.actor(db, "sh_manager")) == []
    assert list_requests(db, company.actor(db, "admin")) == []  # not the admin's step yet
    assert count_waiting(db, company.actor(db, "bj_manager")) == 1
    with pytest.raises(NotFound):
        decide_request(db, company.actor(db, "sh_manager"), request_id, True)
    with pytest.raises(PermissionDenied):
        decide_request(db, company.actor(db, "admin"), request_id, True)
    with pytest.raises(NotFound):  # finance reaches it but holds no step's role ... nor own
        decide_request(db, company.actor(db, "rep_c1"), request_id, True)
    db.rollback()
    decide_request(db, company.actor(db, "bj_manager"), request_id, True, "ok")
    db.commit()
    assert db.get(SalesOrder, order.id).status == "paid"  # one step is not enough
    assert (uid(company, "admin"), request_id) in notices(db, "approval.requested")
    decide_request(db, company.actor(db, "admin"), request_id, True)
    db.commit()
    refunded = db.get(SalesOrder, order.id)
    assert (refunded.status, refunded.refunded_by_id) == ("refunded", uid(company, "fin"))
    assert db.get(ApprovalRequest, request_id).state == "approved"
    assert notices(db, "approval.approved") == [(uid(company, "fin"), request_id)]
    history = request_history(db, fin, request_id)
    assert [(h.decision, h.who, h.step) for h in history] == [
        ("requested", "Fin", 0),
        ("approved", "Bj Manager", 0),
        ("approved", "Admin", 1),
        ("applied", "Admin", 2),
    ]
    assert history[1].note == "ok"


def test_a_small_refund_below_the_threshold_needs_no_approval(db, company):
    flow(db, "refund", ["sales_manager"], "20000")
    order = paid_order(db, company)
    assert request_refund(db, company.actor(db, "fin"), order.id, "Small").done == 1


def test_nobody_approves_their_own_request(db, company):
    flow(db, "reactivation", ["sales_manager"])
    opp = dormant(db, company)
    manager = company.actor(db, "bj_manager")
    [request_id] = request_or_reactivate(db, manager, [opp.id]).request_ids
    db.commit()
    with pytest.raises(PermissionDenied):
        decide_request(db, manager, request_id, True)
    assert notices(db, "approval.requested") == []  # the only manager reaching it asked


def test_a_rejection_ends_the_request_and_nothing_happens(db, company):
    flow(db, "refund", ["sales_manager", "admin"])
    order = paid_order(db, company)
    [request_id] = request_refund(db, company.actor(db, "fin"), order.id, "Why").request_ids
    decide_request(db, company.actor(db, "bj_manager"), request_id, False, "No")
    db.commit()
    assert db.get(SalesOrder, order.id).status == "paid"
    assert db.get(ApprovalRequest, request_id).state == "rejected"
    assert notices(db, "approval.rejected") == [(uid(company, "fin"), request_id)]
    with pytest.raises(ValidationError):
        decide_request(db, company.actor(db, "admin"), request_id, True)


def test_a_refund_no_longer_possible_when_approved_fails_with_its_reason(db, company):
    flow(db, "refund", ["sales_manager"])
    order = paid_order(db, company)
    fin = company.actor(db, "fin")
    [request_id] = request_refund(db, fin, order.id, "Why").request_ids
    db.commit()
    with pytest.raises(ValidationError):  # one pending request per order
        request_refund(db, fin, order.id, "Again")
    db.rollback()
    refund_order(db, company.actor(db, "admin"), order.id, "Refunded by hand")
    db.commit()
    decide_request(db, company.actor(db, "bj_manager"), request_id, True)
    db.commit()
    request = db.get(ApprovalRequest, request_id)
    assert request.state == "failed"
    assert request.outcome == "Only a paid order can be refunded; order {order} is not paid."
    assert db.get(SalesOrder, order.id).refund_reason == "Refunded by hand"
    assert notices(db, "approval.failed") == [(uid(company, "fin"), request_id)]
    assert request_history(db, fin, request_id)[-1].decision == "failed"


def test_a_running_request_keeps_the_steps_it_was_asked_with(db, company):
    made = flow(db, "refund", ["sales_manager", "admin"])
    order = paid_order(db, company)
    [request_id] = request_refund(db, company.actor(db, "fin"), order.id, "Why").request_ids
    save_flow(db, SYSTEM, "refund", None, [role_by_code(db, "admin").id], flow_id=made.id)
    db.commit()
    decide_request(db, company.actor(db, "bj_manager"), request_id, True)
    db.commit()
    assert db.get(ApprovalRequest, request_id).state == "pending"  # admin's step remains


# --- re-activation ----------------------------------------------------------------------


def test_reactivation_waits_for_approval_and_is_rechecked(db, company):
    flow(db, "reactivation", ["admin"])
    first, second = dormant(db, company), dormant(db, company)
    manager = company.actor(db, "bj_manager")
    routed = request_or_reactivate(db, manager, [first.id, second.id])
    db.commit()
    assert (routed.done, routed.sent) == (0, 2)
    assert {fresh(db, Opportunity, i).pool_state for i in (first.id, second.id)} == {"dormant"}
    admin = company.actor(db, "admin")
    decide_request(db, admin, routed.request_ids[0], True)
    db.commit()
    assert fresh(db, Opportunity, first.id).pool_state == "unassigned"
    row = fresh(db, Opportunity, second.id)
    row.pool_state = "public"  # no longer dormant by the time it is approved
    db.add(row)
    db.commit()
    decide_request(db, admin, routed.request_ids[1], True)
    db.commit()
    assert db.get(ApprovalRequest, routed.request_ids[1]).state == "failed"
    assert fresh(db, Opportunity, second.id).pool_state == "public"


def test_the_requester_may_withdraw_and_nobody_else(db, company):
    flow(db, "reactivation", ["admin"])
    opp = dormant(db, company)
    [request_id] = request_or_reactivate(db, company.actor(db, "bj_manager"), [opp.id]).request_ids
    db.commit()
    for other in ("admin", "rep_a1"):
        with pytest.raises(NotFound):
            withdraw_request(db, company.actor(db, other), request_id)
    withdraw_request(db, company.actor(db, "bj_manager"), request_id)
    db.commit()
    assert db.get(ApprovalRequest, request_id).state == "withdrawn"
    assert fresh(db, Opportunity, opp.id).pool_state == "dormant"
    assert list_requests(db, company.actor(db, "admin")) == []
    mine = list_requests(db, company.actor(db, "bj_manager"), "mine")
    assert [(r.id, r.state) for r in mine] == [(request_id, "withdrawn")]


# --- transfers across units -------------------------------------------------------------


def test_only_a_move_to_another_unit_waits_for_a_transfer_flow(db, company):
    flow(db, "transfer", ["admin"])
    same = add_owned_opportunity(db, company, "rep_a1", 11)
    across = add_owned_opportunity(db, company, "rep_a1", 12)
    manager = company.actor(db, "bj_manager")
    done = request_or_assign(db, manager, [same.id], uid(company, "rep_a2"))
    routed = request_or_assign(db, manager, [across.id], uid(company, "rep_b1"))
    db.commit()
    assert (done.done, done.sent, routed.done, routed.sent) == (1, 0, 0, 1)
    assert fresh(db, Opportunity, same.id).owner_id == uid(company, "rep_a2")
    assert fresh(db, Opportunity, across.id).owner_id == uid(company, "rep_a1")
    decide_request(db, company.actor(db, "admin"), routed.request_ids[0], True)
    db.commit()
    moved = fresh(db, Opportunity, across.id)
    assert (moved.owner_id, moved.org_unit_id) == (
        uid(company, "rep_b1"),
        company.units["team_b"].id,
    )


# --- discounts --------------------------------------------------------------------------


def test_a_discount_flow_replaces_the_single_approver(db, company):
    from crm_core.commerce.orders import create_order, decide_discount

    flow(db, "discount", ["team_lead", "sales_manager"])
    opp = add_owned_opportunity(db, company, "rep_a1", 21)
    order = create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, "8000")
    db.commit()
    assert order.approval == "requested"
    assert notices(db, "order.discount_requested") == []
    [request] = list_requests(db, company.actor(db, "lead_a"))
    assert request.order_id == order.id
    from crm_core.commerce.order_listing import discount_requests

    assert discount_requests(db, company.actor(db, "bj_manager")).rows == []
    with pytest.raises(ValidationError):
        decide_discount(db, company.actor(db, "bj_manager"), order.id, True)
    db.rollback()
    decide_request(db, company.actor(db, "lead_a"), request.id, True)
    db.commit()
    assert db.get(SalesOrder, order.id).approval == "requested"
    decide_request(db, company.actor(db, "bj_manager"), request.id, True)
    db.commit()
    approved = db.get(SalesOrder, order.id)
    assert (approved.approval, approved.approved_by_id) == ("approved", uid(company, "bj_manager"))


def test_a_rejected_discount_under_a_flow_cancels_the_order(db, company):
    from crm_core.commerce.orders import create_order

    flow(db, "discount", ["sales_manager"])
    opp = add_owned_opportunity(db, company, "rep_a1", 22)
    order = create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, "8000")
    db.commit()
    [request] = list_requests(db, company.actor(db, "bj_manager"))
    decide_request(db, company.actor(db, "bj_manager"), request.id, False)
    db.commit()
    cancelled = db.get(SalesOrder, order.id)
    assert (cancelled.status, cancelled.approval) == ("cancelled", "rejected")
    assert fresh(db, Opportunity, opp.id).amount is None


def test_two_asking_at_once_open_one_request(db, company, monkeypatch):
    """The second asker's check ran before the first's request was stored: the unique index
    keeps one waiting request, and the second is refused naming it, their transaction still
    usable."""
    from crm_core.approvals import requests as approval_requests

    flow(db, "reactivation", ["admin"])
    opportunity = dormant(db, company)
    manager = company.actor(db, "bj_manager")
    first = request_or_reactivate(db, manager, [opportunity.id])
    db.commit()
    checks = []
    real_check = approval_requests._refuse_waiting

    def saw_nothing_the_first_time(session, asks):
        checks.append(len(checks))
        if len(checks) > 1:
            real_check(session, asks)

    monkeypatch.setattr(approval_requests, "_refuse_waiting", saw_nothing_the_first_time)
    with pytest.raises(ValidationError) as refused:
        request_or_reactivate(db, company.actor(db, "lead_a"), [opportunity.id])
    assert refused.value.params["request"] == first.request_ids[0]
    assert checks == [0, 1]
    db.commit()
    waiting = db.exec(
        select(ApprovalRequest.id).where(
            ApprovalRequest.opportunity_id == opportunity.id, ApprovalRequest.state == "pending"
        )
    ).all()
    assert waiting == first.request_ids
