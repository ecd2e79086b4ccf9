"""Approval flows: for each kind (a refund, a discount beyond the creator's limit, a transfer
across org units, a manual re-activation) the ordered approver roles, by amount threshold.

A kind may have several flows, each from an amount up (`min_amount`; none = from zero). A
request is governed by the enabled flow of its kind whose threshold is the highest not above
the request's amount; without one nothing needs approval and the action happens at once, as
before flows existed. Transfers and re-activations weigh the opportunity's expected amount
(none = zero). Flows are company settings: holders of `manage_approval_flows` edit them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from crm_core.models import APPROVAL_KINDS, ApprovalFlow, ApprovalRequest, Role
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money
from crm_core.platform.permissions import Permission

MAX_STEPS = 5


def _threshold(amount: Decimal | None) -> Decimal:
    return Decimal(0) if amount is None else amount


def list_flows(session: Session, actor: Actor, kind: str | None = None) -> list[ApprovalFlow]:
    """The flows, by kind and threshold."""
    actor.require(Permission.MANAGE_APPROVAL_FLOWS)
    query = select(ApprovalFlow)
    if kind is not None:
        query = query.where(ApprovalFlow.kind == kind)
    flows = list(session.exec(query).all())
    return sorted(flows, key=lambda f: (APPROVAL_KINDS.index(f.kind), _threshold(f.min_amount)))


def enabled_flows(session: Session, kind: str) -> list[ApprovalFlow]:
    """The enabled flows of `kind` (one query; `pick` chooses among them per amount)."""
    return list(
        session.exec(
            select(ApprovalFlow).where(ApprovalFlow.kind == kind, col(ApprovalFlow.enabled))
        ).all()
    )


def pick(flows: list[ApprovalFlow], amount: Decimal | None) -> ApprovalFlow | None:
    """Of `flows`, the one whose threshold is the highest not above `amount`, or None."""
    weight = _threshold(amount)
    best: ApprovalFlow | None = None
    for flow in flows:
        floor = _threshold(flow.min_amount)
        if floor <= weight and (best is None or floor > _threshold(best.min_amount)):
            best = flow
    return best


def flow_for(session: Session, kind: str, amount: Decimal | None) -> ApprovalFlow | None:
    """The enabled flow governing a request of `kind` for `amount`, or None."""
    return pick(enabled_flows(session, kind), amount)


def role_choices(session: Session) -> dict[int, tuple[str, str, bool]]:
    """role id -> (code, name, built in), for naming steps."""
    rows = session.exec(select(Role.id, Role.code, Role.name, Role.builtin)).all()
    return {i: (code, name, builtin) for i, code, name, builtin in rows}


def pending_request_of_order(session: Session, order_id: int) -> int | None:
    """The pending request on an order, if any (a discount under a flow waits for it)."""
    return session.exec(
        select(ApprovalRequest.id).where(
            ApprovalRequest.order_id == order_id, ApprovalRequest.state == "pending"
        )
    ).first()


def _clean_floor(min_amount: object) -> Decimal | None:
    """The threshold: None (from zero) when blank or zero, else a positive amount."""
    text = str(min_amount if min_amount is not None else "").strip()
    if text in ("", "0", "0.0", "0.00"):
        return None
    if text.startswith("-"):
        raise ValidationError(
            N_("The threshold cannot be negative."), field="min_amount", value=text
        )
    return parse_money(min_amount, field="min_amount")


def _clean_steps(session: Session, steps: list[int]) -> list[int]:
    ids = [int(s) for s in steps]
    if not ids:
        raise ValidationError(N_("A flow needs at least one approver role."), field="steps")
    if len(ids) > MAX_STEPS:
        raise ValidationError(
            N_("A flow has at most {maximum} steps."), field="steps", maximum=MAX_STEPS
        )
    if len(set(ids)) != len(ids):
        raise ValidationError(N_("A role appears twice in the steps."), field="steps")
    known = set(session.exec(select(Role.id).where(col(Role.id).in_(ids))).all())
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValidationError(
            N_("Role #{id} does not exist."), field="steps", id=", ".join(map(str, unknown))
        )
    return ids


def save_flow(
    session: Session,
    actor: Actor,
    kind: str,
    min_amount: object,
    steps: list[int],
    *,
    enabled: bool = True,
    flow_id: int | None = None,
) -> ApprovalFlow:
    """Add a flow, or change flow `flow_id`; flushes. Steps are existing roles, each once;
    the threshold is not negative and no other flow of the kind has the same one. Requests
    already waiting keep the steps they were asked with."""
    actor.require(Permission.MANAGE_APPROVAL_FLOWS)
    if kind not in APPROVAL_KINDS:
        raise ValidationError(N_("Unknown approval kind {kind}."), field="kind", kind=kind)
    floor = _clean_floor(min_amount)
    clean = _clean_steps(session, steps)
    same = select(ApprovalFlow.id, ApprovalFlow.min_amount).where(ApprovalFlow.kind == kind)
    for other_id, other_floor in session.exec(same).all():
        if other_id != flow_id and _threshold(other_floor) == _threshold(floor):
            raise ValidationError(
                N_("This kind already has a flow from {amount}."),
                field="min_amount",
                amount=str(_threshold(floor)),
            )
    if flow_id is None:
        flow = ApprovalFlow(kind=kind)
        before = None
    else:
        flow = session.get(ApprovalFlow, flow_id)
        if flow is None or flow.kind != kind:
            raise NotFound(entity="approval_flow", id=flow_id)
        before = _snapshot(flow)
    flow.min_amount = floor
    flow.steps = clean
    flow.enabled = enabled
    flow.updated_at = clock.now()
    flow.updated_by_id = actor.user_id
    session.add(flow)
    session.flush()
    audit.record(
        session, actor, "approval_flow.save", "approval_flow", flow.id, before, _snapshot(flow)
    )
    session.flush()
    return flow


def delete_flow(session: Session, actor: Actor, flow_id: int) -> None:
    """Remove a flow; flushes. Requests already waiting keep their steps."""
    actor.require(Permission.MANAGE_APPROVAL_FLOWS)
    flow = session.get(ApprovalFlow, flow_id)
    if flow is None:
        raise NotFound(entity="approval_flow", id=flow_id)
    before = _snapshot(flow)
    for request in session.exec(
        select(ApprovalRequest).where(ApprovalRequest.flow_id == flow_id)
    ).all():
        request.flow_id = None
        session.add(request)
    session.delete(flow)
    session.flush()
    audit.record(session, actor, "approval_flow.delete", "approval_flow", flow_id, before, None)
    session.flush()


def _snapshot(flow: ApprovalFlow) -> dict:
    return {
        "kind": flow.kind,
        "min_amount": None if flow.min_amount is None else str(flow.min_amount),
        "steps": list(flow.steps),
        "enabled": flow.enabled,
    }
