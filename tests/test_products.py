"""The product catalogue: who may read and change it, what a product must hold, the audit
trail, and that an order keeps the price it was made at."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.commerce.orders import create_order
from crm_core.commerce.products import (
    create_product,
    list_products,
    set_product_active,
    update_product,
)
from crm_core.models import AuditLog, BusinessLine, SalesOrder
from crm_core.platform.errors import PermissionDenied, ValidationError
from tests.factories import add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def add_product(db, company, code="KY-FULL", price="9800", days=365, line_id=None):
    admin = company.actor(db, "admin")
    product = create_product(
        db,
        admin,
        business_line_id=line_id or company.line.id,
        code=code,
        name=f"Course {code}",
        list_price=price,
        course_days=days,
    )
    db.commit()
    return product


def test_admin_adds_products_and_each_change_is_audited(db, company):
    admin = company.actor(db, "admin")
    product = create_product(
        db,
        admin,
        business_line_id=company.line.id,
        code=" KY-VIP ",
        name="  VIP   one-to-one ",
        list_price="¥19,800.00",
        course_days=365,
    )
    assert (product.code, product.name, product.list_price) == (
        "KY-VIP",
        "VIP one-to-one",
        Decimal("19800.00"),
    )
    update_product(
        db, admin, product.id, code="KY-VIP", name="VIP 1v1", list_price="18800", course_days=None
    )
    set_product_active(db, admin, product.id, False)
    set_product_active(db, admin, product.id, False)  # already inactive: nothing to record
    db.commit()
    entries = db.exec(
        select(AuditLog).where(AuditLog.target_type == "product").order_by(AuditLog.id)
    ).all()
    assert [e.action for e in entries] == ["product.create", "product.update", "product.deactivate"]
    assert entries[1].before["list_price"] == "19800.00"
    assert entries[1].after["list_price"] == "18800.00"
    assert entries[1].after["course_days"] is None
    assert all(e.actor_id == company.users["admin"].id for e in entries)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        (
            {"code": ""},
            "“{code}” is not a valid product code: up to 40 letters, digits, “-”, “_” or “.”.",
        ),
        (
            {"code": "has space"},
            "“{code}” is not a valid product code: up to 40 letters, digits, “-”, “_” or “.”.",
        ),
        (
            {"code": "ky-full"},
            "Another product already has the code {code}.",
        ),  # codes compare without case
        ({"name": "  "}, "A product needs a name."),
        ({"list_price": "0"}, "“{value}”: the amount must be above zero."),
        ({"list_price": "-5"}, "“{value}”: the amount must be above zero."),
        ({"list_price": "99.999"}, "“{value}”: an amount has at most two decimals."),
        ({"list_price": "abc"}, "“{value}” is not an amount of money."),
        ({"course_days": 0}, "Course days are empty or a whole number from 1 to {maximum}."),
        ({"course_days": -3}, "Course days are empty or a whole number from 1 to {maximum}."),
        ({"business_line_id": 999}, "Business line #{id} does not exist."),
    ],
)
def test_a_product_must_be_well_formed(db, company, fields, key):
    add_product(db, company)
    values = {
        "business_line_id": company.line.id,
        "code": "NEW-1",
        "name": "New",
        "list_price": "100",
        "course_days": 30,
        **fields,
    }
    with pytest.raises(ValidationError) as refused:
        create_product(db, company.actor(db, "admin"), **values)
    assert refused.value.key == key


def test_only_admins_change_the_catalogue_and_sellers_read_it(db, company):
    product = add_product(db, company)
    other_line = BusinessLine(code="jiaozi", name="Teacher cert.")
    db.add(other_line)
    db.commit()
    add_product(db, company, code="JZ-1", line_id=other_line.id)
    rep = company.actor(db, "rep_a1")
    with pytest.raises(PermissionDenied):
        create_product(
            db, rep, business_line_id=company.line.id, code="X", name="X", list_price="1"
        )
    with pytest.raises(PermissionDenied):
        set_product_active(db, company.actor(db, "bj_manager"), product.id, False)
    with pytest.raises(PermissionDenied):  # an executive neither sells nor manages products
        list_products(db, company.actor(db, "boss"))
    assert [p.code for p in list_products(db, rep, company.line.id)] == ["KY-FULL"]
    assert [p.code for p in list_products(db, rep)] == ["KY-FULL", "JZ-1"]  # by line, code


def test_a_deactivated_product_is_no_longer_offered_but_its_orders_stay(db, company):
    product = add_product(db, company)
    opp = add_owned_opportunity(db, company, "rep_a1", 1)
    order = create_order(db, company.actor(db, "rep_a1"), opp.id, product.id, "9800")
    db.commit()
    admin = company.actor(db, "admin")
    update_product(
        db, admin, product.id, code="KY-FULL", name="Renamed", list_price="12000", course_days=365
    )
    set_product_active(db, admin, product.id, False)
    db.commit()
    rep = company.actor(db, "rep_a1")
    assert list_products(db, rep, company.line.id) == []
    assert [p.id for p in list_products(db, rep, company.line.id, active_only=False)] == [
        product.id
    ]
    stored = db.get(SalesOrder, order.id)
    db.refresh(stored)
    assert (stored.list_price, stored.amount, stored.status) == (
        Decimal("9800.00"),
        Decimal("9800.00"),
        "pending",
    )
    set_product_active(db, admin, product.id, True)
    db.commit()
    assert [p.id for p in list_products(db, rep, company.line.id)] == [product.id]
