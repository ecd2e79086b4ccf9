"""Instalment plans (回款计划): an order paid in a deposit and instalments.

When an order is made its creator may split it into parts (`PlanPart`): at most one deposit,
first, then instalments, each with a due day and an amount; the parts add up exactly to
the order's amount. Every payment (`crm_core.commerce.payments`) settles the earliest open
parts in order, the last one partly when the payment is smaller; the order is paid when
nothing is owed. A part due before today (company time) and not settled is overdue: the
owner's workbench and the finance page list them (`overdue_instalments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from crm_core.models import Lead, Opportunity, OrderInstalment, SalesOrder, User
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import to_company
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import format_money, parse_money
from crm_core.platform.notices import send_counts
from crm_core.platform.permissions import Permission

MAX_PARTS = 24
ZERO = Decimal(0)


@dataclass(frozen=True)
class PlanPart:
    """One part of a plan as asked for: `deposit` or `instalment`, due day, amount."""

    kind: str
    due_on: date
    amount: object


@dataclass(frozen=True)
class InstalmentRow:
    """One part of an order's plan as it stands."""

    id: int
    sequence: int
    kind: str
    due_on: date
    amount: Decimal
    paid_amount: Decimal
    settled_at: datetime | None
    state: str  # settled | partly_paid | overdue | open

    @property
    def owed(self) -> Decimal:
        return self.amount - self.paid_amount


@dataclass(frozen=True)
class OverdueRow:
    """An overdue part: its order, opportunity, the opportunity's owner, what is owed."""

    instalment_id: int
    order_id: int
    opportunity_id: int
    lead_name: str | None
    owner_id: int | None
    owner_name: str | None
    kind: str
    due_on: date
    owed: Decimal


@dataclass(frozen=True)
class OverdueList:
    total: int
    rows: list[OverdueRow]


def check_plan(parts: list[PlanPart], order_amount: Decimal) -> list[tuple[str, date, Decimal]]:
    """The plan as (kind, due day, amount) in order, or a ValidationError naming what is wrong:
    two parts at least and at most MAX_PARTS, a deposit only first, due days in order,
    every amount above zero, the amounts adding up to the order's amount exactly."""
    if len(parts) < 2:
        raise ValidationError(N_("A plan has a deposit or instalment and at least one more."))
    if len(parts) > MAX_PARTS:
        raise ValidationError(
            N_("A plan has at most {maximum} parts."), maximum=MAX_PARTS, parts=len(parts)
        )
    cleaned: list[tuple[str, date, Decimal]] = []
    for place, part in enumerate(parts, start=1):
        if part.kind not in ("deposit", "instalment") or (part.kind == "deposit" and place > 1):
            raise ValidationError(N_("Only the first part of a plan may be the deposit."))
        if not isinstance(part.due_on, date):
            raise ValidationError(N_("Part {part} of the plan needs a due day."), part=place)
        amount = parse_money(part.amount)
        if amount <= 0:
            raise ValidationError(
                N_("Part {part} of the plan needs an amount above zero."), part=place
            )
        if cleaned and part.due_on < cleaned[-1][1]:
            raise ValidationError(
                N_("Part {part} of the plan is due before the part ahead of it."), part=place
            )
        cleaned.append((part.kind, part.due_on, amount))
    total = sum((a for _, _, a in cleaned), ZERO)
    if total != order_amount:
        raise ValidationError(
            N_("The plan's parts add up to {total}, not the order's amount {amount}."),
            total=format_money(total),
            amount=format_money(order_amount),
        )
    return cleaned


def add_plan(session: Session, order: SalesOrder, plan: list[tuple[str, date, Decimal]]) -> None:
    """Write a checked plan (`check_plan`) for a new order; one executemany."""
    order.instalments = True
    session.add(order)
    session.flush()
    session.exec(
        OrderInstalment.__table__.insert(),
        params=[
            {
                "order_id": order.id,
                "sequence": n,
                "kind": kind,
                "due_on": due_on,
                "amount": amount,
                "paid_amount": ZERO,
            }
            for n, (kind, due_on, amount) in enumerate(plan, start=1)
        ],
    )


def settle(session: Session, order_id: int, amount: Decimal, at: datetime) -> None:
    """Apply a payment of `amount` to the order's open parts, earliest first (the caller
    holds the order's lock and checked that `amount` is at most what is owed)."""
    parts = session.exec(
        select(OrderInstalment)
        .where(OrderInstalment.order_id == order_id, col(OrderInstalment.settled_at).is_(None))
        .order_by(col(OrderInstalment.sequence))
    ).all()
    left = amount
    for part in parts:
        if left <= 0:
            break
        take = min(left, part.amount - part.paid_amount)
        part.paid_amount += take
        left -= take
        if part.paid_amount >= part.amount:
            part.settled_at = at
        session.add(part)
    session.flush()


def _state(part: OrderInstalment, today: date) -> str:
    if part.settled_at is not None:
        return "settled"
    if part.due_on < today:
        return "overdue"
    return "partly_paid" if part.paid_amount > 0 else "open"


def _row(p: OrderInstalment, today: date) -> InstalmentRow:
    return InstalmentRow(
        p.id, p.sequence, p.kind, p.due_on, p.amount, p.paid_amount, p.settled_at, _state(p, today)
    )


def company_today(session: Session) -> date:
    """Today in the company's time zone."""
    return to_company(session, clock.now()).date()


def order_plan(session: Session, actor: Actor, order_id: int) -> list[InstalmentRow]:
    """The parts of an order's plan (empty for an order paid at once), for an order on an
    opportunity the actor reaches; NotFound otherwise."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    reached = session.exec(
        select(SalesOrder.id)
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .where(SalesOrder.id == order_id, opportunity_scope(actor))
    ).first()
    if reached is None:
        raise NotFound(entity="order", id=order_id)
    today = company_today(session)
    parts = session.exec(
        select(OrderInstalment)
        .where(OrderInstalment.order_id == order_id)
        .order_by(col(OrderInstalment.sequence))
    ).all()
    return [_row(p, today) for p in parts]


def plans_of_opportunity(
    session: Session, actor: Actor, opportunity_id: int
) -> dict[int, list[InstalmentRow]]:
    """order id -> the parts of its plan, for the orders of one opportunity the actor
    reaches (one query); NotFound outside the scope."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    reached = session.exec(
        select(Opportunity.id).where(Opportunity.id == opportunity_id, opportunity_scope(actor))
    ).first()
    if reached is None:
        raise NotFound(entity="opportunity", id=opportunity_id)
    today = company_today(session)
    parts = session.exec(
        select(OrderInstalment)
        .join(SalesOrder, col(SalesOrder.id) == col(OrderInstalment.order_id))
        .where(SalesOrder.opportunity_id == opportunity_id)
        .order_by(col(OrderInstalment.order_id), col(OrderInstalment.sequence))
    ).all()
    plans: dict[int, list[InstalmentRow]] = {}
    for p in parts:
        plans.setdefault(p.order_id, []).append(_row(p, today))
    return plans


def overdue_instalments(
    session: Session,
    actor: Actor,
    *,
    owner_id: int | None = None,
    search: str | None = None,
    limit: int = 200,
) -> OverdueList:
    """Parts due before today (company time) and not settled, on opportunities the actor
    reaches (of `owner_id` when given; `search` in the lead's name), earliest due first:
    how many in all, and the first `limit`."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    today = company_today(session)
    conditions = [
        col(OrderInstalment.settled_at).is_(None),
        OrderInstalment.due_on < today,
        SalesOrder.status == "pending",
        opportunity_scope(actor),
    ]
    if owner_id is not None:
        conditions.append(Opportunity.owner_id == owner_id)
    if search and search.strip():
        conditions.append(col(Lead.name).contains(search.strip()))
    base = (
        select(OrderInstalment.id)
        .join(SalesOrder, col(SalesOrder.id) == col(OrderInstalment.order_id))
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .join(Lead, col(Lead.id) == col(Opportunity.lead_id))
        .where(*conditions)
    )
    total = int(session.exec(select(func.count()).select_from(base.subquery())).one())
    rows = session.exec(
        select(
            OrderInstalment.id,
            SalesOrder.id,
            Opportunity.id,
            Lead.name,
            Opportunity.owner_id,
            User.full_name,
            OrderInstalment.kind,
            OrderInstalment.due_on,
            OrderInstalment.amount - OrderInstalment.paid_amount,
        )
        .join(SalesOrder, col(SalesOrder.id) == col(OrderInstalment.order_id))
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .join(Lead, col(Lead.id) == col(Opportunity.lead_id))
        .outerjoin(User, col(User.id) == col(Opportunity.owner_id))
        .where(*conditions)
        .order_by(col(OrderInstalment.due_on), col(OrderInstalment.id))
        .limit(limit)
    ).all()
    return OverdueList(total, [OverdueRow(*row[:8], Decimal(str(row[8]))) for row in rows])


def notify_overdue(session: Session, actor: Actor) -> int:
    """Tell each owner how many of their customers' instalments fell overdue since they
    were last told (one notice `instalment.overdue` per owner; each part once); set-based,
    in the caller's transaction. Part of the warnings job. Returns how many parts."""
    actor.require(Permission.RUN_JOBS)
    now = clock.now()
    conditions = [
        col(OrderInstalment.settled_at).is_(None),
        col(OrderInstalment.overdue_notified_at).is_(None),
        OrderInstalment.due_on < company_today(session),
        SalesOrder.status == "pending",
        col(Opportunity.owner_id).is_not(None),
    ]
    per_owner = dict(
        session.exec(
            select(Opportunity.owner_id, func.count())
            .select_from(OrderInstalment)
            .join(SalesOrder, col(SalesOrder.id) == col(OrderInstalment.order_id))
            .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
            .where(*conditions)
            .group_by(Opportunity.owner_id)
        ).all()
    )
    if not per_owner:
        return 0
    due = (
        select(OrderInstalment.id)
        .join(SalesOrder, col(SalesOrder.id) == col(OrderInstalment.order_id))
        .join(Opportunity, col(Opportunity.id) == col(SalesOrder.opportunity_id))
        .where(*conditions)
    )
    session.exec(
        update(OrderInstalment)
        .where(col(OrderInstalment.id).in_(due))
        .values(overdue_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    send_counts(session, "instalment.overdue", per_owner, now)
    return sum(per_owner.values())
