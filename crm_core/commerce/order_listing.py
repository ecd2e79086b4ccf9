"""The order lists the pages show, each within the reader's scope, paged in the database,
with every name a row shows read in the same query (no query per row).

- `orders_of_opportunity`: one opportunity's orders (the opportunity page);
- `discount_requests`: orders waiting for a discount approval that the reader may decide;
- `payable_orders`: pending orders that may be paid (finance);
- `paid_orders`: paid (and partly paid, and, if asked, refunded) orders, for refunds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.commerce.orders import discount_pct, order_number, parse_order_number
from crm_core.models import (
    ApprovalRequest,
    Lead,
    Opportunity,
    OrderPayment,
    OrgUnit,
    Product,
    SalesOrder,
    User,
)
from crm_core.org.access import opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound
from crm_core.platform.permissions import Permission
from crm_core.platform.search_keys import contains, search_text


@dataclass(frozen=True)
class OrderRow:
    """One order as a list shows it, with the names it needs."""

    id: int
    number: str
    opportunity_id: int
    lead_name: str
    business_line_id: int
    product_code: str | None
    product_name: str | None
    list_price: Decimal
    amount: Decimal
    discount_pct: Decimal
    status: str
    approval: str
    approval_note: str | None
    note: str | None
    created_at: datetime
    created_by_id: int | None
    created_by_name: str | None
    approved_by_name: str | None
    owner_name: str | None  # the opportunity's owner now
    payment_ref: str | None
    paid_at: datetime | None
    recorded_by_name: str | None
    attributed_owner_name: str | None  # frozen at payment
    attributed_unit_name: str | None
    attributed_org_path: str | None
    course_ends_at: datetime | None
    refunded_at: datetime | None
    refund_reason: str | None
    # Paid in a deposit and instalments; what its payments and refunds add up to so far.
    instalments: bool = False
    paid_amount: Decimal = Decimal(0)
    refunded_amount: Decimal = Decimal(0)

    @property
    def owed(self) -> Decimal:
        return self.amount - self.paid_amount

    @property
    def refundable(self) -> Decimal:
        return self.paid_amount - self.refunded_amount


@dataclass(frozen=True)
class OrderPage:
    """One page of rows and how many match in all."""

    rows: list[OrderRow]
    total: int


@dataclass(frozen=True)
class OrderFilter:
    """What narrows a list; unset fields do not. `search` matches an order number, a
    payment reference or part of the lead's name; `since` counts, `until` does not, on the
    list's own time (made, or paid)."""

    search: str | None = None
    business_line_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


_CREATOR, _APPROVER, _OWNER, _ATTRIBUTED, _RECORDER = (aliased(User) for _ in range(5))
_UNIT = aliased(OrgUnit)


def _base(actor: Actor, *conditions):
    """The scoped join every list reads, narrowed by `conditions`."""
    return (
        select(SalesOrder.id)
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .join(Lead, col(Lead.id) == col(Opportunity.lead_id))
        .where(opportunity_scope(actor), *conditions)
    )


def _filtered(query, filters: OrderFilter, time_column):
    text = search_text(filters.search)
    if text:
        # The lead's name literally: `%` or `_` typed in the box are not wildcards.
        matches = [
            col(SalesOrder.payment_ref) == text,
            # A later payment's reference (an instalment) finds its order too.
            col(SalesOrder.id).in_(
                select(OrderPayment.order_id).where(OrderPayment.payment_ref == text)
            ),
            contains(col(Lead.name), text),
        ]
        order_id = parse_order_number(text)
        if order_id is not None:
            matches.append(col(SalesOrder.id) == order_id)
        query = query.where(or_(*matches))
    if filters.business_line_id is not None:
        query = query.where(Opportunity.business_line_id == filters.business_line_id)
    if filters.since is not None:
        query = query.where(time_column >= filters.since)
    if filters.until is not None:
        query = query.where(time_column < filters.until)
    return query


def _rows(session: Session, ids_query, order_by, limit: int, offset: int) -> list[OrderRow]:
    """The rows of the orders `ids_query` selects, one page, names joined in."""
    page = ids_query.order_by(*order_by).limit(max(0, limit)).offset(max(0, offset)).subquery()
    query = (
        select(
            SalesOrder,
            Lead.name,
            Opportunity.business_line_id,
            Product.code,
            Product.name,
            _CREATOR.full_name,
            _APPROVER.full_name,
            _OWNER.full_name,
            _RECORDER.full_name,
            _ATTRIBUTED.full_name,
            _UNIT.name,
        )
        .join(page, page.c.id == col(SalesOrder.id))
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .join(Lead, col(Lead.id) == col(Opportunity.lead_id))
        .join(Product, col(Product.id) == col(SalesOrder.product_id), isouter=True)
        .join(_CREATOR, _CREATOR.id == col(SalesOrder.created_by_id), isouter=True)
        .join(_APPROVER, _APPROVER.id == col(SalesOrder.approved_by_id), isouter=True)
        .join(_OWNER, _OWNER.id == col(Opportunity.owner_id), isouter=True)
        .join(_RECORDER, _RECORDER.id == col(SalesOrder.payment_recorded_by_id), isouter=True)
        .join(_ATTRIBUTED, _ATTRIBUTED.id == col(SalesOrder.attributed_owner_id), isouter=True)
        .join(_UNIT, _UNIT.id == col(SalesOrder.attributed_unit_id), isouter=True)
        .order_by(*order_by)
    )
    rows = []
    for (
        order,
        lead_name,
        line_id,
        code,
        product_name,
        creator,
        approver,
        owner,
        recorder,
        attributed,
        unit,
    ) in session.exec(query).all():
        rows.append(
            OrderRow(
                id=order.id,
                number=order_number(order.id),
                opportunity_id=order.opportunity_id,
                lead_name=lead_name,
                business_line_id=line_id,
                product_code=code,
                product_name=product_name,
                list_price=order.list_price,
                amount=order.amount,
                discount_pct=discount_pct(order.list_price, order.amount),
                status=order.status,
                approval=order.approval,
                approval_note=order.approval_note,
                note=order.note,
                created_at=order.created_at,
                created_by_id=order.created_by_id,
                created_by_name=creator,
                approved_by_name=approver,
                owner_name=owner,
                payment_ref=order.payment_ref,
                paid_at=order.paid_at,
                recorded_by_name=recorder,
                attributed_owner_name=attributed,
                attributed_unit_name=unit,
                attributed_org_path=order.attributed_org_path,
                course_ends_at=order.course_ends_at,
                refunded_at=order.refunded_at,
                refund_reason=order.refund_reason,
                instalments=order.instalments,
                paid_amount=order.paid_amount,
                refunded_amount=order.refunded_amount,
            )
        )
    return rows


def _page(session: Session, ids_query, order_by, limit: int, offset: int) -> OrderPage:
    total = session.exec(select(func.count()).select_from(ids_query.subquery())).one()
    return OrderPage(_rows(session, ids_query, order_by, limit, offset), int(total))


def orders_of_opportunity(session: Session, actor: Actor, opportunity_id: int) -> list[OrderRow]:
    """Every order of one opportunity in the actor's scope, newest first; outside the
    scope the opportunity does not exist (NotFound)."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    reached = session.exec(
        select(Opportunity.id).where(Opportunity.id == opportunity_id, opportunity_scope(actor))
    ).first()
    if reached is None:
        raise NotFound(entity="opportunity", id=opportunity_id)
    query = _base(actor, SalesOrder.opportunity_id == opportunity_id)
    return _rows(session, query, [col(SalesOrder.id).desc()], 500, 0)


def discount_requests(
    session: Session,
    actor: Actor,
    filters: OrderFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> OrderPage:
    """Pending orders waiting for a discount approval on opportunities the actor reaches,
    oldest first, leaving out the actor's own orders (nobody decides those) and those an
    approval flow decides (they wait under Approvals)."""
    actor.require(Permission.APPROVE_DISCOUNTS)
    under_flow = (
        select(ApprovalRequest.id)
        .where(ApprovalRequest.order_id == SalesOrder.id, ApprovalRequest.state == "pending")
        .exists()
    )
    query = _base(
        actor, SalesOrder.status == "pending", SalesOrder.approval == "requested", ~under_flow
    )
    if actor.user_id is not None:
        query = query.where(
            or_(
                col(SalesOrder.created_by_id).is_(None),
                col(SalesOrder.created_by_id) != actor.user_id,
            )
        )
    query = _filtered(query, filters or OrderFilter(), col(SalesOrder.created_at))
    order_by = [col(SalesOrder.created_at), col(SalesOrder.id)]
    return _page(session, query, order_by, limit, offset)


def payable_orders(
    session: Session,
    actor: Actor,
    filters: OrderFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> OrderPage:
    """Pending orders that may be paid now (no approval needed, or approved), in the
    actor's scope, newest first."""
    actor.require(Permission.RECORD_PAYMENTS)
    query = _base(
        actor,
        SalesOrder.status == "pending",
        col(SalesOrder.approval).in_(("none", "approved")),
    )
    query = _filtered(query, filters or OrderFilter(), col(SalesOrder.created_at))
    order_by = [col(SalesOrder.created_at).desc(), col(SalesOrder.id).desc()]
    return _page(session, query, order_by, limit, offset)


def paid_orders(
    session: Session,
    actor: Actor,
    filters: OrderFilter | None = None,
    *,
    include_refunded: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> OrderPage:
    """Paid orders in the actor's scope - and those paid in part, by instalments so far
    (refunded ones too if asked) - latest first payment first; the time filters apply to
    the first payment's time."""
    actor.require(Permission.RECORD_PAYMENTS)
    statuses = ("paid", "refunded") if include_refunded else ("paid",)
    partly = and_(SalesOrder.status == "pending", SalesOrder.paid_amount > 0)
    query = _base(actor, or_(col(SalesOrder.status).in_(statuses), partly))
    query = _filtered(query, filters or OrderFilter(), col(SalesOrder.paid_at))
    order_by = [col(SalesOrder.paid_at).desc(), col(SalesOrder.id).desc()]
    return _page(session, query, order_by, limit, offset)
