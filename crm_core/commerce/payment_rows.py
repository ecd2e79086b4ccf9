"""The payment (and refund) rows of orders written in bulk as paid: the history import,
lead files with an outcome, the demo seed. Revenue is read from `order_payment` and
`order_refund`, so each such order gets its one payment of its whole amount (and, when it
is refunded, its one refund) with the order's frozen attribution - set-based, one
INSERT ... SELECT per statement."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlmodel import Session

# Opportunity ids per statement (SQLite takes at most 32766 parameters).
_CHUNK = 5000

_PAID = (
    "o.status IN ('paid', 'refunded') AND o.paid_at IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM order_payment p WHERE p.order_id = o.id)"
)
_PAYMENTS = (
    "INSERT INTO order_payment (order_id, payment_ref, amount, paid_at, recorded_by_id,"
    " attributed_owner_id, attributed_unit_id, attributed_org_path, created_at)"
    " SELECT o.id, o.payment_ref, o.amount, o.paid_at, o.payment_recorded_by_id,"
    " o.attributed_owner_id, o.attributed_unit_id, o.attributed_org_path, o.paid_at"
    " FROM sales_order o WHERE " + _PAID
)
_REFUNDS = (
    "INSERT INTO order_refund (order_id, payment_id, amount, reason, refunded_at,"
    " refunded_by_id, attributed_owner_id, attributed_unit_id, attributed_org_path)"
    " SELECT o.id, p.id, o.amount, COALESCE(o.refund_reason, ''),"
    " COALESCE(o.refunded_at, o.paid_at), o.refunded_by_id, p.attributed_owner_id,"
    " p.attributed_unit_id, p.attributed_org_path"
    " FROM sales_order o JOIN order_payment p ON p.order_id = o.id"
    " WHERE o.status = 'refunded' AND o.refunded_amount = 0"
)
_AMOUNTS = (
    "UPDATE sales_order SET paid_amount = amount, refunded_amount = CASE WHEN status ="
    " 'refunded' THEN amount ELSE 0 END"
    " WHERE status IN ('paid', 'refunded') AND paid_amount = 0"
)


def write_payment_rows(session: Session, opportunity_ids: Sequence[int] | None = None) -> None:
    """Payments (and refunds) for the paid orders that have none yet - of `opportunity_ids`,
    or of every order when None - and their paid and refunded amounts."""
    if opportunity_ids is None:
        for statement in (_PAYMENTS, _REFUNDS, _AMOUNTS):
            session.execute(text(statement))
        return
    ids = sorted(set(opportunity_ids))
    for lo in range(0, len(ids), _CHUNK):
        part = {"ids": ids[lo : lo + _CHUNK]}
        for statement, alias in ((_PAYMENTS, "o."), (_REFUNDS, "o."), (_AMOUNTS, "")):
            where = f" AND {alias}opportunity_id IN :ids"
            query = text(statement + where).bindparams(bindparam("ids", expanding=True))
            session.execute(query, part)
