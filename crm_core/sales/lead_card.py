"""The lead card (名片): one lead with everything the actor may see about it.

A card is read in one query per kind of thing - the lead (with its creator and customer),
its tags, its opportunities, their follow-ups, their flow events and the leads merged into
it - whatever the number of opportunities. Opportunities outside the actor's scope are left
out, and so are their follow-ups and flow events; the contact values (phone, e-mail, WeChat
id, QQ number) are masked for the actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.circulation.flow_log import flow_rows
from crm_core.leads.masking import display_contact, display_phone
from crm_core.models import (
    BusinessLine,
    Customer,
    FlowEvent,
    FollowUp,
    Lead,
    LeadTag,
    Opportunity,
    User,
)
from crm_core.org.access import lead_scope, opportunity_scope
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class CustomerView:
    """The platform account a lead is linked to."""

    id: int
    platform_user_id: str
    name: str | None
    registered_at: datetime | None


@dataclass(frozen=True)
class OpportunityView:
    """One opportunity of the lead, with its business line and owner by name."""

    id: int
    business_line_id: int
    business_line: str
    owner_id: int | None
    owner_name: str | None
    org_unit_id: int | None
    stage: str
    pool_state: str
    intention_level: str | None
    created_at: datetime
    assigned_at: datetime | None
    last_follow_up_at: datetime | None
    next_follow_up_at: datetime | None
    lost_reason: str | None


@dataclass(frozen=True)
class FollowUpView:
    """One logged contact on one of the lead's visible opportunities."""

    id: int
    opportunity_id: int
    business_line: str
    author_name: str | None
    channel: str
    content: str
    result: str | None
    created_at: datetime


@dataclass(frozen=True)
class FlowView:
    """One flow event (owner or pool-state change) of a visible opportunity."""

    id: int
    opportunity_id: int
    business_line: str
    at: datetime
    from_owner_name: str | None
    to_owner_name: str | None
    from_state: str | None
    to_state: str
    reason: str
    rule_kind: str | None
    actor_name: str | None  # None: the system (scheduler, import job)
    note: str | None


@dataclass(frozen=True)
class LeadDetail:
    """A lead as its card shows it; `phone`, `email`, `wechat` and `qq` are already in the
    form the actor may see (None: the lead has none)."""

    id: int
    name: str
    phone: str
    no_phone: bool
    external_id: str | None
    email: str | None
    wechat: str | None
    qq: str | None
    region: str | None
    city: str | None
    channel: str
    campaign: str | None
    landing_page: str | None
    keyword: str | None
    created_at: datetime
    updated_at: datetime | None
    created_by_name: str | None
    customer: CustomerView | None
    tags: tuple[str, ...]
    opportunities: list[OpportunityView]
    follow_ups: list[FollowUpView]  # newest first
    flow: list[FlowView]  # newest first
    merged_from: list[tuple[int, str]]  # (id, name) of the leads merged into this one


def get_lead_detail(
    session: Session, actor: Actor, lead_id: int, *, history_limit: int = 100
) -> LeadDetail:
    """The card of a lead in the actor's scope, with the opportunities the actor may see and
    at most `history_limit` of their follow-ups and of their flow events, newest first.

    A lead outside the scope, unknown, or merged into another lead raises NotFound.
    """
    actor.require(Permission.VIEW_LEADS)
    limit = max(0, history_limit)
    creator = aliased(User)
    row = session.exec(
        select(Lead, creator.full_name, Customer)
        .join(creator, col(creator.id) == col(Lead.created_by_id), isouter=True)
        .join(Customer, col(Customer.id) == col(Lead.customer_id), isouter=True)
        .where(
            Lead.id == lead_id, col(Lead.merged_into_id).is_(None), lead_scope(actor, per_lead=True)
        )
    ).first()
    if row is None:
        raise NotFound(entity="lead", id=lead_id)
    lead, created_by_name, customer = row

    tags = session.exec(
        select(LeadTag.tag).where(LeadTag.lead_id == lead_id).order_by(LeadTag.tag)
    ).all()
    opportunities = _opportunities(session, actor, lead_id)
    visible = [o.id for o in opportunities]
    merged_from = session.exec(
        select(Lead.id, Lead.name).where(Lead.merged_into_id == lead_id).order_by(Lead.id)
    ).all()
    return LeadDetail(
        id=lead.id,
        name=lead.name,
        phone=display_phone(actor, lead.phone),
        no_phone=lead.no_phone,
        external_id=lead.external_id,
        email=display_contact(actor, "email", lead.email) or None,
        wechat=display_contact(actor, "wechat", lead.wechat) or None,
        qq=display_contact(actor, "qq", lead.qq) or None,
        region=lead.region,
        city=lead.city,
        channel=lead.channel,
        campaign=lead.campaign,
        landing_page=lead.landing_page,
        keyword=lead.keyword,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        created_by_name=created_by_name,
        customer=None
        if customer is None
        else CustomerView(
            id=customer.id,
            platform_user_id=customer.platform_user_id,
            name=customer.name,
            registered_at=customer.registered_at,
        ),
        tags=tuple(tags),
        opportunities=opportunities,
        follow_ups=_follow_ups(session, visible, limit) if visible and limit else [],
        flow=_flow(session, visible, limit) if visible and limit else [],
        merged_from=[(merged_id, name) for merged_id, name in merged_from],
    )


def _opportunities(session: Session, actor: Actor, lead_id: int) -> list[OpportunityView]:
    owner = aliased(User)
    rows = session.exec(
        select(
            Opportunity.id,
            Opportunity.business_line_id,
            BusinessLine.name,
            Opportunity.owner_id,
            owner.full_name,
            Opportunity.org_unit_id,
            Opportunity.stage,
            Opportunity.pool_state,
            Opportunity.intention_level,
            Opportunity.created_at,
            Opportunity.assigned_at,
            Opportunity.last_follow_up_at,
            Opportunity.next_follow_up_at,
            Opportunity.lost_reason,
        )
        .join(BusinessLine, col(BusinessLine.id) == col(Opportunity.business_line_id))
        .join(owner, col(owner.id) == col(Opportunity.owner_id), isouter=True)
        .where(Opportunity.lead_id == lead_id, opportunity_scope(actor))
        .order_by(Opportunity.id)
    ).all()
    return [OpportunityView(*row) for row in rows]


def _follow_ups(session: Session, opportunity_ids: list[int], limit: int) -> list[FollowUpView]:
    author = aliased(User)
    rows = session.exec(
        select(
            FollowUp.id,
            FollowUp.opportunity_id,
            BusinessLine.name,
            author.full_name,
            FollowUp.channel,
            FollowUp.content,
            FollowUp.result,
            FollowUp.created_at,
        )
        .join(Opportunity, col(Opportunity.id) == col(FollowUp.opportunity_id))
        .join(BusinessLine, col(BusinessLine.id) == col(Opportunity.business_line_id))
        .join(author, col(author.id) == col(FollowUp.author_id), isouter=True)
        .where(col(FollowUp.opportunity_id).in_(opportunity_ids))
        # Id breaks ties: rows written in one batch share their timestamp.
        .order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc())
        .limit(limit)
    ).all()
    return [FollowUpView(*row) for row in rows]


def _flow(session: Session, opportunity_ids: list[int], limit: int) -> list[FlowView]:
    rows = flow_rows(session, [col(FlowEvent.opportunity_id).in_(opportunity_ids)], limit=limit)
    return [
        FlowView(
            r.id,
            r.opportunity_id,
            r.business_line,
            r.at,
            r.from_owner_name,
            r.to_owner_name,
            r.from_state,
            r.to_state,
            r.reason,
            r.rule_kind,
            r.actor_name,
            r.note,
        )
        for r in rows
    ]
