"""One opportunity as its detail page shows it: the lead (phone masked for the reader), the
opportunity's state, and a single timeline of everything that happened to it - follow-ups
and calls, stage changes, flow events, trial lessons, orders and the lead's study activity.

One query per kind of entry, each cut at `limit`, merged newest first; nothing per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.circulation.flow_log import flow_rows
from crm_core.leads.masking import display_contact, display_phone
from crm_core.models import (
    BusinessLine,
    FlowEvent,
    FollowUp,
    Lead,
    LearningActivity,
    Opportunity,
    Product,
    SalesOrder,
    StageHistory,
    TrialLesson,
    User,
)
from crm_core.org.access import opportunity_scope
from crm_core.org.unit_labels import unit_labels
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound
from crm_core.platform.permissions import Permission

# Timeline entry kinds, each with a `timeline.kind.<kind>` text.
TIMELINE_KINDS = ("follow_up", "call", "stage", "flow", "trial", "order", "learning")


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened. `what` is a code the page turns into words (a channel, a
    stage, a flow reason, an order status...), `params` its details."""

    at: datetime
    kind: str
    what: str
    by: str | None  # a person's name; None: the system
    text: str = ""
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrialView:
    id: int
    scheduled_at: datetime
    course: str | None
    status: str
    booked_by: str | None


@dataclass(frozen=True)
class OpportunityDetail:
    """The opportunity, its lead and its timeline (newest first)."""

    id: int
    lead_id: int
    lead_name: str
    phone: str
    has_phone: bool
    wechat: str | None  # the contact values as the actor may see them (masked without
    email: str | None  # view_full_phone); None: the lead has none
    qq: str | None
    region: str | None
    city: str | None
    channel: str
    campaign: str | None
    business_line_id: int
    business_line: str
    pipeline_type: str
    renewal_of_id: int | None
    owner_id: int | None
    owner_name: str | None
    unit_name: str | None
    stage: str
    pool_state: str
    intention_level: str | None
    amount: Decimal | None
    created_at: datetime
    assigned_at: datetime | None
    first_follow_up_at: datetime | None
    last_follow_up_at: datetime | None
    next_follow_up_at: datetime | None
    protected_until: datetime | None
    locked: bool
    lost_reason: str | None
    closed_at: datetime | None
    trials: list[TrialView]
    timeline: list[TimelineEntry]

    @property
    def is_open(self) -> bool:
        return self.pool_state != "closed"

    @property
    def booked_trial(self) -> TrialView | None:
        """The trial still to come (or to be marked), if one is booked."""
        return next((t for t in self.trials if t.status == "booked"), None)


def get_opportunity_detail(
    session: Session, actor: Actor, opportunity_id: int, *, limit: int = 100
) -> OpportunityDetail:
    """The detail of an opportunity in the actor's scope (NotFound outside it), with at most
    `limit` entries of each kind in its timeline."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    owner = aliased(User)
    o = Opportunity
    row = session.exec(
        select(o, Lead, BusinessLine.name, owner.full_name)
        .join(Lead, Lead.id == o.lead_id)
        .join(BusinessLine, BusinessLine.id == o.business_line_id)
        .outerjoin(owner, owner.id == o.owner_id)
        .where(o.id == opportunity_id, opportunity_scope(actor))
    ).first()
    if row is None:
        raise NotFound(entity="opportunity", id=opportunity_id)
    opp, lead, line_name, owner_name = row
    unit_name = unit_labels(session, [opp.org_unit_id]).get(opp.org_unit_id)
    trials = _trials(session, opportunity_id)
    timeline = [
        *_follow_ups(session, opportunity_id, limit),
        *_stages(session, opportunity_id, limit),
        *_flow(session, opportunity_id, limit),
        *_trial_entries(trials),
        *_orders(session, opportunity_id, limit),
        *_learning(session, lead.id, limit),
    ]
    timeline.sort(key=lambda e: e.at, reverse=True)
    return OpportunityDetail(
        id=opp.id,
        lead_id=lead.id,
        lead_name=lead.name,
        phone=display_phone(actor, lead.phone),
        has_phone=lead.phone is not None,
        wechat=display_contact(actor, "wechat", lead.wechat) or None,
        email=display_contact(actor, "email", lead.email) or None,
        qq=display_contact(actor, "qq", lead.qq) or None,
        region=lead.region,
        city=lead.city,
        channel=lead.channel,
        campaign=lead.campaign,
        business_line_id=opp.business_line_id,
        business_line=line_name,
        pipeline_type=opp.pipeline_type,
        renewal_of_id=opp.renewal_of_id,
        owner_id=opp.owner_id,
        owner_name=owner_name,
        unit_name=unit_name,
        stage=opp.stage,
        pool_state=opp.pool_state,
        intention_level=opp.intention_level,
        amount=opp.amount,
        created_at=opp.created_at,
        assigned_at=opp.assigned_at,
        first_follow_up_at=opp.first_follow_up_at,
        last_follow_up_at=opp.last_follow_up_at,
        next_follow_up_at=opp.next_follow_up_at,
        protected_until=opp.protected_until,
        locked=opp.locked,
        lost_reason=opp.lost_reason,
        closed_at=opp.closed_at,
        trials=trials,
        timeline=timeline,
    )


def _follow_ups(session: Session, opportunity_id: int, limit: int) -> list[TimelineEntry]:
    rows = session.exec(
        select(
            FollowUp.created_at,
            FollowUp.channel,
            User.full_name,
            FollowUp.content,
            FollowUp.result,
            FollowUp.intention_level,
            FollowUp.next_follow_up_at,
            FollowUp.call_duration_s,
            FollowUp.recording_url,
        )
        .outerjoin(User, User.id == FollowUp.author_id)
        .where(FollowUp.opportunity_id == opportunity_id)
        .order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc())
        .limit(limit)
    ).all()
    return [
        TimelineEntry(
            at,
            "call" if channel == "call" else "follow_up",
            channel,
            by,
            content or "",
            {
                "result": result,
                "intention": level,
                "next": next_at,
                "duration_s": duration,
                "recording": recording,
            },
        )
        for at, channel, by, content, result, level, next_at, duration, recording in rows
    ]


def _stages(session: Session, opportunity_id: int, limit: int) -> list[TimelineEntry]:
    rows = session.exec(
        select(
            StageHistory.changed_at, StageHistory.from_stage, StageHistory.to_stage, User.full_name
        )
        .outerjoin(User, User.id == StageHistory.actor_id)
        .where(StageHistory.opportunity_id == opportunity_id)
        .order_by(col(StageHistory.changed_at).desc(), col(StageHistory.id).desc())
        .limit(limit)
    ).all()
    return [
        TimelineEntry(at, "stage", to_stage, by, params={"from": from_stage})
        for at, from_stage, to_stage, by in rows
    ]


def _flow(session: Session, opportunity_id: int, limit: int) -> list[TimelineEntry]:
    rows = flow_rows(session, [FlowEvent.opportunity_id == opportunity_id], limit=limit)
    return [
        TimelineEntry(
            r.at,
            "flow",
            r.reason,
            r.actor_name,
            r.note or "",
            {
                "from_state": r.from_state,
                "to_state": r.to_state,
                "from_owner": r.from_owner_name,
                "to_owner": r.to_owner_name,
                "rule": r.rule_name,
            },
        )
        for r in rows
    ]


def _trials(session: Session, opportunity_id: int) -> list[TrialView]:
    rows = session.exec(
        select(
            TrialLesson.id,
            TrialLesson.scheduled_at,
            TrialLesson.course,
            TrialLesson.status,
            User.full_name,
        )
        .outerjoin(User, User.id == TrialLesson.booked_by_id)
        .where(TrialLesson.opportunity_id == opportunity_id)
        .order_by(col(TrialLesson.scheduled_at).desc(), col(TrialLesson.id).desc())
        .limit(50)
    ).all()
    return [TrialView(*row) for row in rows]


def _trial_entries(trials: list[TrialView]) -> list[TimelineEntry]:
    return [
        TimelineEntry(t.scheduled_at, "trial", t.status, t.booked_by, t.course or "")
        for t in trials
    ]


def _orders(session: Session, opportunity_id: int, limit: int) -> list[TimelineEntry]:
    by = aliased(User)
    rows = session.exec(
        select(
            SalesOrder.id,
            Product.name,
            SalesOrder.amount,
            SalesOrder.status,
            SalesOrder.created_at,
            SalesOrder.paid_at,
            SalesOrder.refunded_at,
            SalesOrder.cancelled_at,
            by.full_name,
        )
        .outerjoin(Product, Product.id == SalesOrder.product_id)
        .outerjoin(by, by.id == SalesOrder.created_by_id)
        .where(SalesOrder.opportunity_id == opportunity_id)
        .order_by(col(SalesOrder.id).desc())
        .limit(limit)
    ).all()
    entries = []
    for order_id, product, amount, _status, created, paid, refunded, cancelled, name in rows:
        params = {"order": order_id, "amount": amount}
        entries.append(TimelineEntry(created, "order", "created", name, product or "", params))
        for what, at in (("paid", paid), ("refunded", refunded), ("cancelled", cancelled)):
            if at is not None:
                entries.append(TimelineEntry(at, "order", what, None, product or "", params))
    return entries


def _learning(session: Session, lead_id: int, limit: int) -> list[TimelineEntry]:
    rows = session.exec(
        select(
            LearningActivity.course,
            LearningActivity.progress_pct,
            LearningActivity.last_studied_on,
            LearningActivity.imported_at,
        )
        .where(LearningActivity.lead_id == lead_id)
        .order_by(col(LearningActivity.last_studied_on).desc())
        .limit(limit)
    ).all()
    return [
        TimelineEntry(
            _moment(studied) if studied else imported,
            "learning",
            "studied",
            None,
            course,
            {"progress": progress},
        )
        for course, progress, studied, imported in rows
    ]


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0, 0))
