"""A small company with finance, a Shanghai manager, a product and helpers for approval
flows tests."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_core.approvals.flows import save_flow
from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment
from crm_core.models import ApprovalFlow, Notice, Opportunity
from crm_core.org.users import role_by_code
from tests.factories import SYSTEM, add_owned_opportunity
from tests.test_orders import sales_company

__all__ = ["sales_company", "flow", "paid_order", "notices", "dormant"]


def flow(db: Session, kind: str, codes: list[str], min_amount: object = None) -> ApprovalFlow:
    """A flow of `kind` through the built-in roles `codes`, in order."""
    steps = [role_by_code(db, c).id for c in codes]
    made = save_flow(db, SYSTEM, kind, min_amount, steps)
    db.commit()
    return made


def paid_order(db: Session, company, owner: str = "rep_a1", amount: str = "10000", tail=None):
    """A paid order on a new opportunity of `owner` (created by the owner at list price)."""
    tail = tail or 500 + len(db.exec(select(Opportunity.id)).all())
    opp = add_owned_opportunity(db, company, owner, tail)
    actor = company.actor(db, owner)
    order = create_order(db, actor, opp.id, company.product.id, amount)
    record_payment(db, company.actor(db, "fin"), order.id, f"REF-{tail}")
    db.commit()
    return order


def dormant(db: Session, company, owner: str = "rep_a1", tail=None) -> Opportunity:
    """A dormant opportunity of `owner`'s unit, nobody owning it."""
    tail = tail or 700 + len(db.exec(select(Opportunity.id)).all())
    opp = add_owned_opportunity(db, company, owner, tail)
    opp = db.get(Opportunity, opp.id)
    opp.pool_state = "dormant"
    opp.owner_id = None
    opp.recycle_count = 3
    db.add(opp)
    db.commit()
    return opp


def notices(db: Session, kind: str) -> list[tuple[int, int]]:
    """(user id, request id) of each notice of `kind`."""
    return sorted(
        (n.user_id, n.params.get("request"))
        for n in db.exec(select(Notice).where(Notice.kind == kind)).all()
    )
