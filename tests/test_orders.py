"""Orders: the price adjustment each role may give, discount approval, cancelling, the
lists the pages show, and scope (nobody orders on or sees what they do not reach)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.commerce.order_listing import (
    OrderFilter,
    discount_requests,
    orders_of_opportunity,
    payable_orders,
)
from crm_core.commerce.orders import (
    cancel_order,
    create_order,
    decide_discount,
    order_number,
    parse_order_number,
)
from crm_core.commerce.products import create_product
from crm_core.models import BusinessLine, Notice, Opportunity, SalesOrder
from crm_core.org.roles import save_role
from crm_core.org.users import create_user, discount_limit, set_user_roles
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.stages import change_stage
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company


def add_user(db, company, username, unit, roles):
    """One more account, for the roles the small company lacks (finance, a second manager)."""
    number = 100 + len(company.users)
    company.users[username] = create_user(
        db,
        SYSTEM,
        username=username,
        full_name=username.replace("_", " ").title(),
        employee_no=f"E{number:04d}",
        password=PASSWORD,
        org_unit_id=company.units[unit].id,
        role_codes=roles,
    )
    db.commit()
    return company.users[username]


def sales_company(db):
    """The small company, plus finance at HQ, a Shanghai manager and one product."""
    company = build_small_company(db)
    add_user(db, company, "fin", "hq", ["finance"])
    add_user(db, company, "sh_manager", "shanghai", ["sales_manager"])
    company.product = create_product(
        db,
        SYSTEM,
        business_line_id=company.line.id,
        code="KY-FULL",
        name="Full course",
        list_price="10000",
        course_days=365,
    )
    db.commit()
    return company


@pytest.fixture
def company(db):
    return sales_company(db)


def order_for(db, company, username, amount="10000", *, owner=None, tail=None):
    """An order by `username` on a new opportunity owned by `owner` (default: the same)."""
    owner = owner or username
    tail = tail or 100 + len(db.exec(select(Opportunity.id)).all())
    opp = add_owned_opportunity(db, company, owner, tail)
    order = create_order(db, company.actor(db, username), opp.id, company.product.id, amount)
    db.commit()
    return order


def notices(db, kind):
    return sorted(
        (n.user_id, n.params.get("order"))
        for n in db.exec(select(Notice).where(Notice.kind == kind)).all()
    )


def test_each_role_has_its_discount_limit_and_several_roles_give_the_largest(db, company):
    limits = {
        u: discount_limit(db, company.actor(db, u))
        for u in ("rep_a1", "lead_a", "bj_manager", "admin", "fin", "boss")
    }
    assert limits == {
        "rep_a1": 10,
        "lead_a": 15,
        "bj_manager": 30,
        "admin": 100,
        "fin": 0,
        "boss": 0,
    }
    set_user_roles(db, SYSTEM, company.users["rep_a1"].id, ["rep", "team_lead"])
    db.commit()
    assert discount_limit(db, company.actor(db, "rep_a1")) == 15
    assert discount_limit(db, SYSTEM) == 100


def test_an_order_within_the_limit_needs_no_approval_and_sets_the_expected_amount(db, company):
    order = order_for(db, company, "rep_a1", "9000.00")  # exactly 10% off
    assert (order.status, order.approval, order.list_price, order.amount) == (
        "pending",
        "none",
        Decimal("10000.00"),
        Decimal("9000.00"),
    )
    assert order.created_by_id == company.users["rep_a1"].id
    assert db.get(Opportunity, order.opportunity_id).amount == Decimal("9000.00")
    assert notices(db, "order.discount_requested") == []
    finance = company.actor(db, "fin")
    assert [r.id for r in payable_orders(db, finance).rows] == [order.id]


def test_a_larger_discount_waits_for_the_approvers_who_reach_the_opportunity(db, company):
    order = order_for(db, company, "rep_a1", "8999.99")  # a cent beyond 10%
    assert (order.status, order.approval) == ("pending", "requested")
    number = order_number(order.id)
    # The Beijing manager and the admin reach team A; Shanghai's manager and the team lead
    # (who may not approve) are not asked.
    assert notices(db, "order.discount_requested") == sorted(
        [(company.users["bj_manager"].id, number), (company.users["admin"].id, number)]
    )
    assert payable_orders(db, company.actor(db, "fin")).rows == []
    assert [r.id for r in discount_requests(db, company.actor(db, "bj_manager")).rows] == [order.id]
    assert discount_requests(db, company.actor(db, "sh_manager")).rows == []
    with pytest.raises(NotFound):
        decide_discount(db, company.actor(db, "sh_manager"), order.id, True)


def test_a_manager_with_enough_limit_approves_and_the_creator_is_told(db, company):
    order = order_for(db, company, "rep_a1", "7500")  # 25% off: within the manager's 30
    manager = company.actor(db, "bj_manager")
    [row] = discount_requests(db, manager).rows
    assert (row.discount_pct, row.created_by_name, row.lead_name, row.approval) == (
        Decimal("25.00"),
        "Rep A1",
        "Lead 100",
        "requested",
    )
    clock.freeze(clock.now())
    decide_discount(db, manager, order.id, True, note="  good customer ")
    db.commit()
    db.refresh(order)
    assert (order.approval, order.approval_note, order.approved_by_id, order.status) == (
        "approved",
        "good customer",
        company.users["bj_manager"].id,
        "pending",
    )
    assert order.approved_at == clock.now()
    assert notices(db, "order.discount_approved") == [
        (company.users["rep_a1"].id, order_number(order.id))
    ]
    assert [r.id for r in payable_orders(db, company.actor(db, "fin")).rows] == [order.id]
    assert discount_requests(db, manager).rows == []
    with pytest.raises(ValidationError) as twice:
        decide_discount(db, manager, order.id, True)
    assert twice.value.key == "Order {order} is not waiting for a discount approval."


def test_nobody_approves_their_own_order_nor_beyond_their_own_limit(db, company):
    manager = company.actor(db, "bj_manager")
    own = order_for(db, company, "bj_manager", "6000", owner="rep_a1")  # 40% off
    assert own.approval == "requested"
    assert discount_requests(db, manager).rows == []  # nobody is shown their own
    with pytest.raises(PermissionDenied) as refused:
        decide_discount(db, manager, own.id, True)
    assert refused.value.key == "Nobody approves the discount of their own order."
    big = order_for(db, company, "rep_a1", "6500")  # 35%: above the manager's 30
    with pytest.raises(PermissionDenied) as too_big:
        decide_discount(db, manager, big.id, True)
    assert (
        too_big.value.key == "This order gives {pct}% off, more than the {limit}% you may approve."
    )
    assert too_big.value.params == {"limit": 30, "pct": "35.00"}
    # A manager without room is not asked: the admin is.
    assert (company.users["bj_manager"].id, order_number(big.id)) not in notices(
        db, "order.discount_requested"
    )
    decide_discount(db, company.actor(db, "admin"), big.id, True)
    decide_discount(db, company.actor(db, "admin"), own.id, True)
    db.commit()
    assert db.get(SalesOrder, big.id).approval == "approved"


def test_rejecting_a_discount_cancels_the_order(db, company):
    order = order_for(db, company, "rep_a1", "6500")
    decide_discount(db, company.actor(db, "bj_manager"), order.id, False, note="too much")
    db.commit()
    db.refresh(order)
    assert (order.status, order.approval, order.approval_note) == (
        "cancelled",
        "rejected",
        "too much",
    )
    assert order.cancelled_at is not None
    assert db.get(Opportunity, order.opportunity_id).amount is None
    assert notices(db, "order.discount_rejected") == [
        (company.users["rep_a1"].id, order_number(order.id))
    ]


@pytest.mark.parametrize(
    ("amount", "key"),
    [
        ("10000.01", "The price {amount} is above the list price {list_price}."),
        ("0", "“{value}”: the amount must be above zero."),
        ("9000.001", "“{value}”: an amount has at most two decimals."),
        ("nine", "“{value}” is not an amount of money."),
    ],
)
def test_the_price_is_above_zero_at_most_the_list_price_in_cents(db, company, amount, key):
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    with pytest.raises(ValidationError) as refused:
        create_order(db, company.actor(db, "rep_a1"), opp.id, company.product.id, amount)
    assert refused.value.key == key


def test_the_product_must_be_offered_for_the_opportunitys_line(db, company):
    other = BusinessLine(code="english", name="English")
    db.add(other)
    db.commit()
    foreign = create_product(
        db, SYSTEM, business_line_id=other.id, code="EN-1", name="English", list_price="500"
    )
    db.commit()
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as wrong_line:
        create_order(db, rep, opp.id, foreign.id, "500")
    assert (
        wrong_line.value.key == "Product #{id} is not offered for this opportunity's business line."
    )
    with pytest.raises(ValidationError):
        create_order(db, rep, opp.id, 9999, "500")


def test_one_pending_order_per_opportunity_and_none_on_a_closed_one(db, company):
    order = order_for(db, company, "rep_a1", "9500")
    rep = company.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as second:
        create_order(db, rep, order.opportunity_id, company.product.id, "9000")
    assert second.value.key == "Order {order} is already waiting for payment: cancel it first."
    db.rollback()
    change_stage(db, rep, order.opportunity_id, "lost", lost_reason="price")
    db.commit()
    db.refresh(order)
    assert order.status == "cancelled"  # losing the opportunity cancels what was unpaid
    with pytest.raises(ValidationError) as closed:
        create_order(db, rep, order.opportunity_id, company.product.id, "9000")
    assert closed.value.key == "Opportunity #{id} is closed (won or lost): it cannot be changed."


def test_cancelling_a_pending_order(db, company):
    mine = order_for(db, company, "rep_a1", "9500")
    with pytest.raises(NotFound):  # another rep does not even see it
        cancel_order(db, company.actor(db, "rep_b1"), mine.id)
    cancel_order(db, company.actor(db, "rep_a1"), mine.id)
    db.commit()
    db.refresh(mine)
    assert mine.status == "cancelled" and mine.cancelled_at is not None
    assert db.get(Opportunity, mine.opportunity_id).amount is None
    with pytest.raises(ValidationError) as again:
        cancel_order(db, company.actor(db, "rep_a1"), mine.id)
    assert again.value.key == "Order {order} is not waiting for payment."
    # The team lead (a manager of team A) may cancel a rep's order; finance may not.
    theirs = order_for(db, company, "rep_a2", "9500")
    with pytest.raises(PermissionDenied):
        cancel_order(db, company.actor(db, "fin"), theirs.id)
    cancel_order(db, company.actor(db, "lead_a"), theirs.id)
    db.commit()
    assert db.get(SalesOrder, theirs.id).status == "cancelled"


def test_a_rep_cannot_order_on_see_or_change_another_reps_opportunity_even_by_id(db, company):
    order = order_for(db, company, "rep_a1", "8000")  # waits for approval
    other = company.actor(db, "rep_a2")
    with pytest.raises(NotFound):
        create_order(db, other, order.opportunity_id, company.product.id, "10000")
    with pytest.raises(NotFound):
        orders_of_opportunity(db, other, order.opportunity_id)
    with pytest.raises(PermissionDenied):  # reps decide no discounts at all
        decide_discount(db, other, order.id, True)
    with pytest.raises(PermissionDenied):
        create_order(db, company.actor(db, "fin"), order.opportunity_id, company.product.id, "1")
    assert [
        r.id for r in orders_of_opportunity(db, company.actor(db, "rep_a1"), order.opportunity_id)
    ] == [order.id]
    assert db.get(SalesOrder, order.id).status == "pending"


def test_the_lists_filter_and_page_in_the_database(db, company):
    orders = [order_for(db, company, "rep_a1", "9500") for _ in range(3)]
    finance = company.actor(db, "fin")
    first = payable_orders(db, finance, limit=2)
    assert first.total == 3 and [r.id for r in first.rows] == [orders[2].id, orders[1].id]
    assert [r.id for r in payable_orders(db, finance, limit=2, offset=2).rows] == [orders[0].id]
    by_number = payable_orders(db, finance, OrderFilter(search=order_number(orders[1].id)))
    assert [r.id for r in by_number.rows] == [orders[1].id]
    by_name = payable_orders(db, finance, OrderFilter(search="lead 101"))  # case ignored
    assert [r.id for r in by_name.rows] == [orders[1].id]
    assert payable_orders(db, finance, OrderFilter(search="lead 10")).total == 3
    row = first.rows[0]
    assert (row.product_code, row.created_by_name, row.owner_name, row.discount_pct) == (
        "KY-FULL",
        "Rep A1",
        "Rep A1",
        Decimal("5.00"),
    )
    other_line = payable_orders(db, finance, OrderFilter(business_line_id=999))
    assert other_line.total == 0


def test_order_numbers_read_back():
    assert order_number(42) == "SO000042"
    assert [parse_order_number(x) for x in ("SO000042", "so42", "#42", " 42 ", "SO-42")] == [42] * 5
    assert [parse_order_number(x) for x in ("", "SO", "0", "AB42", "42x", None)] == [None] * 6


def test_the_role_editor_sets_limits_but_never_above_the_editors_own(db, company):
    admin = company.actor(db, "admin")
    role = save_role(
        db,
        admin,
        code="senior_rep",
        name="Senior rep",
        permissions=["view_opportunities", "create_orders"],
        data_scope="self",
        max_discount_pct=20,
    )
    db.commit()
    assert role.max_discount_pct == 20
    with pytest.raises(ValidationError) as out_of_range:
        save_role(
            db,
            admin,
            code="x_role",
            name="X",
            permissions=[],
            data_scope="self",
            max_discount_pct=101,
        )
    assert out_of_range.value.key == "The discount limit is a whole percent from 0 to 100."
    # A manager who may edit roles cannot raise a limit above their own 30%.
    save_role(
        db,
        admin,
        code="role_editor",
        name="Role editor",
        data_scope="subtree",
        permissions=sorted(company.actor(db, "bj_manager").permissions | {"manage_roles"}),
    )
    set_user_roles(db, admin, company.users["bj_manager"].id, ["sales_manager", "role_editor"])
    db.commit()
    manager = company.actor(db, "bj_manager")
    fields = {
        "code": "senior_rep",
        "name": "Senior rep",
        "data_scope": "self",
        "permissions": ["view_opportunities", "create_orders"],
        "role_id": role.id,
    }
    with pytest.raises(PermissionDenied) as above:
        save_role(db, manager, **fields, max_discount_pct=31)
    assert above.value.key == "You cannot set a discount limit above your own ({limit}%)."
    db.rollback()
    assert save_role(db, manager, **fields, max_discount_pct=30).max_discount_pct == 30
    assert save_role(db, manager, **fields).max_discount_pct == 30  # None keeps it
    db.commit()
    # A role whose limit is above the editor's own is out of their reach altogether, as a
    # role with permissions they lack is: they could otherwise hand it out.
    high = save_role(
        db,
        admin,
        code="vip_desk",
        name="VIP desk",
        data_scope="self",
        permissions=["view_opportunities"],
        max_discount_pct=50,
    )
    db.commit()
    with pytest.raises(PermissionDenied) as out_of_reach:
        save_role(
            db,
            manager,
            code="vip_desk",
            name="VIP desk 2",
            data_scope="self",
            permissions=["view_opportunities"],
            role_id=high.id,
            max_discount_pct=50,
        )
    assert (
        out_of_reach.value.key
        == "You cannot grant the role {role}: its discount limit ({limit}%) is above yours."
    )
