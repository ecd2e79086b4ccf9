"""The product catalogue (商品): what each business line sells, at which list price, and
how long its course runs.

Admins (`manage_products`) add, edit, deactivate and reactivate products; every change is
audited. Whoever may create orders reads the catalogue to pick what to sell. An order
copies the list price when it is made, so a later price change never rewrites an order; a
deactivated product is no longer offered but its orders stay as they are.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.models import BusinessLine, Product
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.platform.permissions import Permission

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
MAX_NAME = 200
MAX_COURSE_DAYS = 3660  # ten years: anything longer is a typo


def _require_reader(actor: Actor) -> None:
    if not (actor.can(Permission.CREATE_ORDERS) or actor.can(Permission.MANAGE_PRODUCTS)):
        raise PermissionDenied(permission=str(Permission.CREATE_ORDERS))


def list_products(
    session: Session,
    actor: Actor,
    business_line_id: int | None = None,
    *,
    active_only: bool = True,
) -> list[Product]:
    """The products of one business line (or of all), by code; only the active ones unless
    `active_only` is False. For those who create orders or manage the catalogue."""
    _require_reader(actor)
    query = select(Product).order_by(Product.business_line_id, Product.code)
    if business_line_id is not None:
        query = query.where(Product.business_line_id == business_line_id)
    if active_only:
        query = query.where(Product.active)
    return list(session.exec(query).all())


def get_product(session: Session, actor: Actor, product_id: int) -> Product:
    """One product of the catalogue."""
    _require_reader(actor)
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(entity="product", id=product_id)
    return product


def _snapshot(product: Product) -> dict:
    return {
        "business_line_id": product.business_line_id,
        "code": product.code,
        "name": product.name,
        "list_price": str(product.list_price),
        "course_days": product.course_days,
        "active": product.active,
    }


def _clean(
    session: Session,
    code: str,
    name: str,
    list_price: object,
    course_days: int | None,
    product_id: int | None,
) -> tuple[str, str, Decimal, int | None]:
    code = (code or "").strip()
    name = " ".join((name or "").split())
    if not CODE_PATTERN.match(code):
        raise ValidationError(
            N_("“{code}” is not a valid product code: up to 40 letters, digits, “-”, “_” or “.”."),
            code=code,
        )
    if not name:
        raise ValidationError(N_("A product needs a name."))
    if len(name) > MAX_NAME:
        raise ValidationError(N_("The name is longer than {maximum} characters."), maximum=MAX_NAME)
    price = parse_money(list_price, field="list_price")
    if course_days is not None:
        if isinstance(course_days, bool) or not isinstance(course_days, int):
            raise ValidationError(
                N_("Course days are empty or a whole number from 1 to {maximum}."),
                maximum=MAX_COURSE_DAYS,
            )
        if not 1 <= course_days <= MAX_COURSE_DAYS:
            raise ValidationError(
                N_("Course days are empty or a whole number from 1 to {maximum}."),
                maximum=MAX_COURSE_DAYS,
            )
    # Codes are compared without case: `ky-full` and `KY-FULL` on two products would be
    # impossible to tell apart in a payment file or a report.
    clash = session.exec(select(Product.id).where(func.lower(Product.code) == code.lower())).first()
    if clash is not None and clash != product_id:
        raise ValidationError(N_("Another product already has the code {code}."), code=code)
    return code, name, price, course_days


def create_product(
    session: Session,
    actor: Actor,
    *,
    business_line_id: int,
    code: str,
    name: str,
    list_price: object,
    course_days: int | None = None,
) -> Product:
    """Add an active product to a business line; flushes, the caller commits.

    The code is unique (case ignored), the name required, the list price above zero with
    at most two decimals, the course days empty or at least 1."""
    actor.require(Permission.MANAGE_PRODUCTS)
    if session.get(BusinessLine, business_line_id) is None:
        raise ValidationError(N_("Business line #{id} does not exist."), id=business_line_id)
    code, name, price, course_days = _clean(session, code, name, list_price, course_days, None)
    product = Product(
        business_line_id=business_line_id,
        code=code,
        name=name,
        list_price=price,
        course_days=course_days,
    )
    session.add(product)
    session.flush()
    audit.record(session, actor, "product.create", "product", product.id, None, _snapshot(product))
    session.flush()
    return product


def update_product(
    session: Session,
    actor: Actor,
    product_id: int,
    *,
    code: str,
    name: str,
    list_price: object,
    course_days: int | None = None,
) -> Product:
    """Change a product's code, name, list price or course days; flushes. The business line
    stays: the product's orders belong to it. Orders already made keep their prices."""
    actor.require(Permission.MANAGE_PRODUCTS)
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(entity="product", id=product_id)
    code, name, price, course_days = _clean(
        session, code, name, list_price, course_days, product_id
    )
    before = _snapshot(product)
    product.code, product.name, product.list_price, product.course_days = (
        code,
        name,
        price,
        course_days,
    )
    after = _snapshot(product)
    if after != before:
        session.add(product)
        session.flush()
        audit.record(session, actor, "product.update", "product", product.id, before, after)
        session.flush()
    return product


def set_product_active(session: Session, actor: Actor, product_id: int, active: bool) -> Product:
    """Offer a product again, or stop offering it (its orders stay); flushes."""
    actor.require(Permission.MANAGE_PRODUCTS)
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(entity="product", id=product_id)
    if product.active == active:
        return product
    before = _snapshot(product)
    product.active = active
    session.add(product)
    session.flush()
    action = "product.activate" if active else "product.deactivate"
    audit.record(session, actor, action, "product", product.id, before, _snapshot(product))
    session.flush()
    return product
