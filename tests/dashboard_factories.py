"""Hand-built histories for the dashboard tests, written through the core's own paths:
the intake opens each opportunity (its first stage and flow event), a manager's hand
assigns it, `record_stage` / `apply_stage` move it, an order is created and paid (the
payment freezes the attribution) and refunded as finance would."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import count

from sqlmodel import Session, select

from crm_core.circulation.override import assign_opportunities
from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment, refund_order
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.models import Opportunity, Product, SalesOrder
from crm_core.platform import clock
from crm_core.sales.stages import apply_stage, record_stage
from tests.factories import SYSTEM, SmallCompany

_phones = count(1)
_refs = count(1)


def open_opportunity(
    session: Session,
    company: SmallCompany,
    owner: str | None,
    created: datetime,
    *,
    channel: str = "sem",
    campaign: str | None = None,
    line_code: str | None = None,
) -> int:
    """A new lead with one opportunity created at `created` (the intake), assigned to
    `owner` at the same moment when given; its id."""
    clock.freeze(created)
    number = next(_phones)
    result = intake_leads(
        session,
        SYSTEM,
        [
            LeadInput(
                name=f"Lead {number}",
                phone=f"+86139{number:08d}",
                channel=channel,
                campaign=campaign,
                business_line_codes=[line_code or company.line.code],
            )
        ],
        source="manual",
    )
    opportunity_id = result.outcomes[0].opportunity_ids[0]
    if owner is not None:
        assign_opportunities(session, SYSTEM, [opportunity_id], company.users[owner].id)
    session.commit()
    return opportunity_id


def move(session: Session, opportunity_id: int, *steps: tuple[str, datetime]) -> None:
    """Enter each (stage, at) in turn, as the stage service records them; `lost` closes."""
    for stage, at in steps:
        clock.freeze(at)
        opportunity = session.get(Opportunity, opportunity_id)
        if stage == "lost":
            apply_stage(session, SYSTEM, opportunity, "lost", lost_reason="price", at=at)
        else:
            record_stage(session, opportunity, stage, None, at)
        session.commit()


def product(session: Session, company: SmallCompany, price: Decimal) -> Product:
    item = Product(
        business_line_id=company.line.id, code=f"P{next(_refs)}", name="Course", list_price=price
    )
    session.add(item)
    session.commit()
    return item


def pay(
    session: Session, company: SmallCompany, opportunity_id: int, amount: str, at: datetime
) -> SalesOrder:
    """An order of `amount` created and paid at `at` (attribution frozen then)."""
    clock.freeze(at)
    price = Decimal(amount)
    order = create_order(
        session, SYSTEM, opportunity_id, product(session, company, price).id, price
    )
    record_payment(session, SYSTEM, order.id, f"REF{next(_refs)}", paid_at=at)
    session.commit()
    return session.exec(select(SalesOrder).where(SalesOrder.id == order.id)).one()


def refund(session: Session, order_id: int, at: datetime) -> None:
    clock.freeze(at)
    refund_order(session, SYSTEM, order_id, "changed their mind")
    session.commit()
