"""Orders (订单) for opportunities, and the price adjustment each role may give (改价).

A rep, team lead or manager (`create_orders`) makes an order for an open opportunity in
their scope: an active product of the opportunity's business line at its list price or
below. The discount a person may give without anyone's approval is the largest of their
roles' limits (`Role.max_discount_pct`: a rep 10%, a team lead 15%, a manager 30% by
default); a larger one makes the order wait for an approver (`approve_discounts`) who
reaches the opportunity and whose own limit covers it. Nobody approves their own order; a
rejected discount cancels the order. The order's amount is the opportunity's expected
value while it is open, so boards show what is on the table.

Every change locks the opportunity first (`lock_for_change`), so two hands on one
opportunity - a payment and a cancel, two approvers - are served one after the other. An
opportunity has at most one pending order: cancel it to offer something else. Payment and
refund live in `crm_core.commerce.payments`; the lists the pages show in `crm_core.commerce.order_listing`.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import literal, union_all
from sqlmodel import Session, col, select

from crm_core.approvals.flows import flow_for, pending_request_of_order
from crm_core.circulation.opportunities import lock_for_change
from crm_core.commerce.instalments import add_plan, check_plan
from crm_core.models import Notice, Opportunity, OrgUnit, Product, Role, SalesOrder, User, UserRole
from crm_core.org.access import actor_from_roles, opportunity_scope
from crm_core.org.users import discount_limit
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.platform.permissions import Permission

MAX_NOTE = 400
_ORDER_NUMBER = re.compile(r"^(?:SO)?[-#]?\s*0*(\d{1,12})$", re.IGNORECASE)
# Opportunities reached, asked for many approvers in one statement; SQLite allows 500
# parts in one compound SELECT.
_UNION_PARTS = 200


def order_number(order_id: int) -> str:
    """The number an order goes by on screen, in payment links and payment files."""
    return f"SO{order_id:06d}"


def parse_order_number(text: object) -> int | None:
    """The order id in `SO000123`, `so123`, `#123` or `123`; None for anything else."""
    match = _ORDER_NUMBER.match(str(text or "").strip())
    if not match:
        return None
    order_id = int(match[1])
    return order_id or None


def discount_pct(list_price: Decimal, amount: Decimal) -> Decimal:
    """Percent off the list price, to two places (for showing; rules compare exactly)."""
    if list_price <= 0:
        return Decimal(0)
    return ((list_price - amount) * 100 / list_price).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def discount_within(list_price: Decimal, amount: Decimal, limit: int) -> bool:
    """Whether selling at `amount` gives at most `limit` percent off `list_price`, exactly."""
    return (list_price - amount) * 100 <= list_price * limit


def clean_note(note: str | None, *, field: str = "note") -> str | None:
    """A free-text note, spaces trimmed; None when blank; refused beyond MAX_NOTE."""
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationError(
            N_("The note is longer than {maximum} characters."), field=field, maximum=MAX_NOTE
        )
    return text or None


def notify(
    session: Session, user_ids: list[int], kind: str, params: dict[str, Any], at: datetime
) -> None:
    """One notice of `kind` (text `notice.<kind>`) to each user; one executemany."""
    if user_ids:
        session.exec(
            Notice.__table__.insert(),
            params=[
                {"user_id": u, "kind": kind, "params": params, "created_at": at}
                for u in sorted(set(user_ids))
            ],
        )


def order_opportunity_id(session: Session, order_id: int) -> int:
    """The opportunity of an order, before the opportunity is locked; NotFound without it."""
    opportunity_id = session.exec(
        select(SalesOrder.opportunity_id).where(SalesOrder.id == order_id)
    ).first()
    if opportunity_id is None:
        raise NotFound(entity="order", id=order_id)
    return opportunity_id


def lock_order(
    session: Session, actor: Actor, order_id: int, permission: str
) -> tuple[SalesOrder, Opportunity]:
    """An order and its opportunity, the opportunity locked (`lock_for_change`) and the
    order read after the lock, so it is as the last change left it. Outside the actor's
    scope the order does not exist."""
    opportunity_id = order_opportunity_id(session, order_id)
    try:
        opportunity = lock_for_change(
            session, actor, opportunity_id, permission=permission, open_only=False
        )
    except NotFound as exc:
        raise NotFound(entity="order", id=order_id) from exc
    order = session.exec(
        select(SalesOrder)
        .where(SalesOrder.id == order_id)
        .execution_options(populate_existing=True)
    ).one()
    return order, opportunity


def _approvers_reaching(
    session: Session, opportunity_id: int, order: SalesOrder, exclude: int | None
) -> list[int]:
    """Active approvers whose scope reaches the opportunity and whose limit covers the
    order's discount. A handful of queries whatever their number: roles, holders, and one
    compound SELECT asking the database which of them reach the row."""
    roles = {r.id: r for r in session.exec(select(Role)).all()}
    approver_roles = [i for i, r in roles.items() if Permission.APPROVE_DISCOUNTS in r.permissions]
    if not approver_roles:
        return []
    holders = session.exec(
        select(User, OrgUnit.path)
        .join(OrgUnit, col(OrgUnit.id) == col(User.org_unit_id), isouter=True)
        .where(
            col(User.id).in_(
                select(UserRole.user_id).where(col(UserRole.role_id).in_(approver_roles))
            ),
            User.status == "active",
            User.enabled,
        )
    ).all()
    held: dict[int, list[Role]] = {}
    for user_id, role_id in session.exec(
        select(UserRole.user_id, UserRole.role_id).where(
            col(UserRole.user_id).in_([u.id for u, _ in holders])
        )
    ).all():
        held.setdefault(user_id, []).append(roles[role_id])
    candidates = []
    for user, path in holders:
        limit = max(r.max_discount_pct for r in held[user.id])
        if user.id != exclude and discount_within(order.list_price, order.amount, limit):
            candidates.append(actor_from_roles(user, path, held[user.id]))
    reached: list[int] = []
    for start in range(0, len(candidates), _UNION_PARTS):
        parts = [
            select(literal(a.user_id).label("user_id"))
            .select_from(Opportunity)
            .where(Opportunity.id == opportunity_id, opportunity_scope(a, shared=False))
            for a in candidates[start : start + _UNION_PARTS]
        ]
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        reached.extend(row[0] for row in session.execute(statement).all())
    return reached


def create_order(
    session: Session,
    actor: Actor,
    opportunity_id: int,
    product_id: int,
    amount: object,
    note: str | None = None,
    plan: list | None = None,
) -> SalesOrder:
    """An order for an open opportunity in the actor's scope; flushes, the caller commits.
    `plan` (a list of `instalments.PlanPart`) splits it into a deposit and instalments,
    checked before anything is written (`instalments.check_plan`).

    The product must be active and of the opportunity's business line; the amount above
    zero, at most the list price, with at most two decimals. A discount above the creator's
    limit makes the order wait for approval (`approval` = `requested`) and tells the
    approvers who reach the opportunity - or, when a discount flow (`crm_core.approvals`)
    covers the amount, opens an approval request through the flow's steps instead. The
    opportunity's amount becomes the order's."""
    actor.require(Permission.CREATE_ORDERS)
    opportunity = lock_for_change(
        session, actor, opportunity_id, permission=Permission.CREATE_ORDERS
    )
    product = session.get(Product, product_id)
    if (
        product is None
        or not product.active
        or product.business_line_id != opportunity.business_line_id
    ):
        raise ValidationError(
            N_("Product #{id} is not offered for this opportunity's business line."), id=product_id
        )
    price = parse_money(amount)
    if price > product.list_price:
        raise ValidationError(
            N_("The price {amount} is above the list price {list_price}."),
            amount=str(price),
            list_price=str(product.list_price),
        )
    pending = session.exec(
        select(SalesOrder.id).where(
            SalesOrder.opportunity_id == opportunity.id, SalesOrder.status == "pending"
        )
    ).first()
    if pending is not None:
        raise ValidationError(
            N_("Order {order} is already waiting for payment: cancel it first."),
            order=order_number(pending),
        )
    checked_plan = check_plan(list(plan), price) if plan else None
    now = clock.now()
    limit = discount_limit(session, actor)
    needs_approval = not discount_within(product.list_price, price, limit)
    order = SalesOrder(
        opportunity_id=opportunity.id,
        product_id=product.id,
        list_price=product.list_price,
        amount=price,
        status="pending",
        created_by_id=actor.user_id,
        note=clean_note(note),
        approval="requested" if needs_approval else "none",
        created_at=now,
    )
    session.add(order)
    opportunity.amount = price
    session.add(opportunity)
    session.flush()
    if checked_plan:
        add_plan(session, order, checked_plan)
    flow = None
    if needs_approval:
        flow = flow_for(session, "discount", price)
    if flow is not None:
        # A discount flow covers this amount: its steps approve instead of one approver.
        from crm_core.approvals.requests import open_request  # noqa: PLC0415

        payload = {
            "order_id": order.id,
            "order": order_number(order.id),
            "pct": str(discount_pct(order.list_price, order.amount)),
            "money": str(price),
        }
        open_request(session, actor, flow, opportunity.id, payload, amount=price, order_id=order.id)
    elif needs_approval:
        approvers = _approvers_reaching(session, opportunity.id, order, actor.user_id)
        params = {
            "order": order_number(order.id),
            "opportunity": opportunity.id,
            "pct": str(discount_pct(order.list_price, order.amount)),
            "creator": actor.full_name,
        }
        notify(session, approvers, "order.discount_requested", params, now)
    return order


def _drop_expected_amount(opportunity: Opportunity, session: Session) -> None:
    # The opportunity held the pending order's amount; without a pending order it has none.
    if opportunity.stage != "won":
        opportunity.amount = None
        session.add(opportunity)


def set_discount_decision(
    session: Session, order: SalesOrder, opportunity: Opportunity, approve: bool, at: datetime
) -> None:
    """Mark a pending order's discount approved or rejected at `at`; a rejection cancels the
    order and takes its amount off the opportunity. For `decide_discount` and the approval
    flows' last step (`approvals.effects`), whose callers have checked who decides."""
    order.approval = "approved" if approve else "rejected"
    order.approved_at = at
    if not approve:
        order.status = "cancelled"
        order.cancelled_at = at
        _drop_expected_amount(opportunity, session)
    session.add(order)


def decide_discount(
    session: Session, actor: Actor, order_id: int, approve: bool, note: str | None = None
) -> SalesOrder:
    """Approve or reject the discount of a pending order waiting for approval; flushes.

    The approver reaches the opportunity, is not the order's creator, and - to approve -
    has a limit that covers the discount. Rejecting cancels the order. The creator is told."""
    actor.require(Permission.APPROVE_DISCOUNTS)
    order, opportunity = lock_order(session, actor, order_id, Permission.APPROVE_DISCOUNTS)
    if order.status != "pending" or order.approval != "requested":
        raise ValidationError(
            N_("Order {order} is not waiting for a discount approval."),
            order=order_number(order.id),
        )
    if order.created_by_id is not None and order.created_by_id == actor.user_id:
        raise PermissionDenied(N_("Nobody approves the discount of their own order."))
    if pending_request_of_order(session, order.id) is not None:
        raise ValidationError(
            N_("Order {order} waits for its approval flow: decide it under Approvals."),
            order=order_number(order.id),
        )
    if approve:
        limit = discount_limit(session, actor)
        if not discount_within(order.list_price, order.amount, limit):
            raise PermissionDenied(
                N_("This order gives {pct}% off, more than the {limit}% you may approve."),
                limit=limit,
                pct=str(discount_pct(order.list_price, order.amount)),
            )
    now = clock.now()
    order.approval_note = clean_note(note, field="approval_note")
    order.approved_by_id = actor.user_id
    set_discount_decision(session, order, opportunity, approve, now)
    session.flush()
    if order.created_by_id is not None and order.created_by_id != actor.user_id:
        kind = "order.discount_approved" if approve else "order.discount_rejected"
        params = {"order": order_number(order.id), "approver": actor.full_name}
        notify(session, [order.created_by_id], kind, params, now)
    return order


def cancel_order(session: Session, actor: Actor, order_id: int) -> SalesOrder:
    """Cancel a pending order; flushes. Its creator, the opportunity's owner, or a manager
    (`assign_opportunities`) whose scope reaches the opportunity may."""
    if actor.can(Permission.CREATE_ORDERS):
        permission = Permission.CREATE_ORDERS
    else:
        permission = Permission.ASSIGN_OPPORTUNITIES
    order, opportunity = lock_order(session, actor, order_id, permission)
    mine = actor.user_id is not None and actor.user_id in (
        order.created_by_id,
        opportunity.owner_id,
    )
    if not (mine or actor.can(Permission.ASSIGN_OPPORTUNITIES)):
        raise PermissionDenied(
            N_("Only the order's creator, the opportunity's owner or a manager may cancel it.")
        )
    if order.status != "pending":
        raise ValidationError(
            N_("Order {order} is not waiting for payment."), order=order_number(order.id)
        )
    if order.paid_amount > 0:
        raise ValidationError(
            N_("Order {order} is partly paid: refund it rather than cancel it."),
            order=order_number(order.id),
        )
    order.status = "cancelled"
    order.cancelled_at = clock.now()
    session.add(order)
    _drop_expected_amount(opportunity, session)
    session.flush()
    return order
