"""The entry points the pages call: each does the action at once when no flow applies (as
before flows existed), or opens an approval request instead and changes nothing yet.

- `request_refund`: finance refunds a paid order (the amount weighed is the refund's, or the
  whole order's when the refund is of everything refundable).
- `request_or_assign`: a manager gives opportunities to a rep; those moving to a rep of
  another org unit than their own wait for a transfer flow, the rest move at once.
- `decide_transfer_routed`: a manager approves a rep's transfer request; to a rep of another
  unit under a transfer flow, the move waits for approval and the rep's request stays open.
- `request_or_reactivate`: a manager re-activates dormant opportunities.
A discount beyond the creator's limit is routed by `orders.create_order` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm_core.approvals.effects import _apply_refund
from crm_core.approvals.flows import enabled_flows, flow_for, pick
from crm_core.approvals.requests import Ask, open_request, open_requests
from crm_core.circulation import override
from crm_core.circulation.override import OPEN_STATES, override_scope
from crm_core.commerce.orders import clean_note, lock_order, order_number
from crm_core.commerce.refunds import refund_amount
from crm_core.models import Opportunity, User
from crm_core.org.access import user_scope
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.platform.permissions import Permission
from crm_core.sales import transfers


@dataclass(frozen=True)
class Routed:
    """What an entry point did: `done` changed at once, `request_ids` sent for approval."""

    done: int = 0
    request_ids: list[int] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.request_ids)


def request_refund(
    session: Session, actor: Actor, order_id: int, reason: str, amount: object = None
) -> Routed:
    """Refund a paid order, or ask for approval when a refund flow covers the amount;
    flushes. `amount` None refunds all that is refundable."""
    actor.require(Permission.RECORD_PAYMENTS)
    why = clean_note(reason, field="refund_reason")
    if why is None:
        raise ValidationError(N_("Say why the order is refunded."))
    order, _ = lock_order(session, actor, order_id, Permission.RECORD_PAYMENTS)
    part = None if amount in (None, "") else parse_money(amount)
    weight = refund_amount(order, part)
    payload = {
        "order_id": order.id,
        "reason": why,
        "amount": None if part is None else str(part),
        "order": order_number(order.id),
        "money": str(weight),
    }
    flow = flow_for(session, "refund", weight)
    if flow is None:
        _apply_refund(session, actor, payload)
        return Routed(done=1)
    request = open_request(
        session, actor, flow, order.opportunity_id, payload, amount=weight, order_id=order.id
    )
    return Routed(request_ids=[request.id])


def _checked(
    session: Session, actor: Actor, ids: list[int], states: tuple[str, ...]
) -> list[tuple[int, int | None, object]]:
    """(id, org unit, expected amount) of the selection, refused as `override` refuses."""
    actor.require(Permission.ASSIGN_OPPORTUNITIES)
    ids = sorted(set(ids))
    if not ids:
        raise ValidationError(N_("Select at least one opportunity."))
    rows = session.exec(
        select(
            Opportunity.id, Opportunity.pool_state, Opportunity.org_unit_id, Opportunity.amount
        ).where(one_of(session, Opportunity.id, ids), override_scope(actor))
    ).all()
    found = {row[0]: row for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(entity="opportunity", id=missing[:10])
    wrong = [i for i in ids if found[i][1] not in states]
    if wrong:
        raise ValidationError(
            N_("This action does not apply to the state of opportunities {ids}."),
            ids=", ".join(map(str, wrong[:10])),
        )
    return [(i, found[i][2], found[i][3]) for i in ids]


def _rep(session: Session, actor: Actor, rep_id: int) -> User:
    rep = session.exec(select(User).where(User.id == rep_id, user_scope(actor))).first()
    if rep is None:
        raise NotFound(entity="user", id=rep_id)
    if rep.status != "active" or not rep.enabled:
        raise ValidationError(
            N_("{name} is not active and cannot receive opportunities."), name=rep.full_name
        )
    return rep


def request_or_assign(
    session: Session, actor: Actor, opportunity_ids: list[int], rep_id: int
) -> Routed:
    """`override.assign_opportunities`, except that each opportunity moving to a rep of
    another org unit than its own waits for approval when a transfer flow covers it."""
    selection = _checked(session, actor, opportunity_ids, OPEN_STATES)
    rep = _rep(session, actor, rep_id)
    flows = enabled_flows(session, "transfer")
    now_ids, asks = [], []
    for opportunity_id, unit_id, amount in selection:
        flow = None
        if unit_id is not None and unit_id != rep.org_unit_id:
            flow = pick(flows, amount)
        if flow is None:
            now_ids.append(opportunity_id)
        else:
            payload = {"rep_id": rep.id, "to": rep.full_name, "from_unit": unit_id}
            asks.append(Ask(flow, opportunity_id, payload, amount))
    request_ids = [r.id for r in open_requests(session, actor, asks)]
    done = override.assign_opportunities(session, actor, now_ids, rep.id) if now_ids else 0
    return Routed(done=done, request_ids=request_ids)


def decide_transfer_routed(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    approve: bool,
    to_user_id: int | None = None,
    note: str | None = None,
) -> Routed:
    """`transfers.decide_transfer`, except that approving a move to a rep of another org unit
    under a transfer flow sends the move for approval; the rep's request stays open until
    that approval ends it."""
    if approve and to_user_id is not None:
        transfer = transfers.pending_transfer(session, actor, request_id, to_user_id)
        [(opportunity_id, unit_id, amount)] = _checked(
            session, actor, [transfer.opportunity_id], OPEN_STATES
        )
        rep = _rep(session, actor, to_user_id)
        flow = None
        if unit_id is not None and unit_id != rep.org_unit_id:
            flow = flow_for(session, "transfer", amount)
        if flow is not None:
            payload = {
                "rep_id": rep.id,
                "to": rep.full_name,
                "from_unit": unit_id,
                "transfer_request_id": transfer.id,
                "reason": clean_note(note),
            }
            request = open_request(session, actor, flow, opportunity_id, payload, amount=amount)
            return Routed(request_ids=[request.id])
    moved = transfers.decide_transfer(
        session, actor, request_id, approve=approve, to_user_id=to_user_id, note=note
    )
    return Routed(done=moved)


def request_or_reactivate(session: Session, actor: Actor, opportunity_ids: list[int]) -> Routed:
    """`override.reactivate`, except that each dormant opportunity a re-activation flow
    covers waits for approval instead."""
    selection = _checked(session, actor, opportunity_ids, ("dormant",))
    flows = enabled_flows(session, "reactivation")
    now_ids, asks = [], []
    for opportunity_id, _, amount in selection:
        flow = pick(flows, amount)
        if flow is None:
            now_ids.append(opportunity_id)
        else:
            asks.append(Ask(flow, opportunity_id, {}, amount))
    request_ids = [r.id for r in open_requests(session, actor, asks)]
    done = override.reactivate(session, actor, now_ids) if now_ids else 0
    return Routed(done=done, request_ids=request_ids)
