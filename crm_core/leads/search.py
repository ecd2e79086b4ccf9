"""Finding leads in the library: one filter, used by the search page, the export and bulk
tagging, so all three always mean the same set of leads.

Every query is server-side and index-backed: a name is a prefix range on `name_key`, a phone
is an exact match on the unique phone or on its last four digits, an e-mail, WeChat id or QQ
number an exact match on its own index (`search_text`), the list is ordered on an
index and cut with LIMIT; what a page shows about each lead's opportunities and tags comes in
one query per page, never one per row. Counts stop at COUNT_CAP so a broad search does not
count a million rows to print "10,000+".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, func
from sqlmodel import Session, col, select

from crm_core.custom_fields.filters import FieldCondition, check_conditions, filter_clause
from crm_core.leads.custom_filter import CustomPlan, plan_custom
from crm_core.leads.masking import display_contact, display_phone
from crm_core.leads.search_text import read_search_text, text_condition
from crm_core.models import BusinessLine, Lead, LeadTag, Opportunity, User
from crm_core.org.access import lead_scope, lead_scope_parts, opportunity_scope, user_scope
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.platform.search_keys import prefix_range

COUNT_CAP = 10_000
BROAD = 2_000
MAX_PAGE_SIZE = 200
SORTS = ("newest", "oldest", "name")


@dataclass(frozen=True)
class LeadFilter:
    """What the user searches for; every part is optional and they combine with AND.

    `text` is read as: four digits -> the phone's last four; seven or more digits -> the full
    phone (any common spelling); anything else -> the start of the name, or an external id;
    and a whole e-mail, WeChat id or QQ number too (`crm_core.leads.search_text`).
    """

    text: str | None = None
    channel: str | None = None
    campaign: str | None = None  # the start of the campaign name
    campaign_code: str | None = None  # one campaign of the list, exactly
    tag: str | None = None
    created_from: date | None = None
    created_to: date | None = None  # inclusive
    owner_id: int | None = None
    stage: str | None = None
    business_line_id: int | None = None
    pool_state: str | None = None
    # Tests on the lead's custom fields (`custom_fields.filters.condition`).
    custom: tuple[FieldCondition, ...] = ()
    # Only these leads (the rows checked on a page), within everything above.
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class OpportunitySummary:
    """One opportunity of a lead as a list row shows it."""

    opportunity_id: int
    business_line: str
    owner_id: int | None
    owner_name: str | None
    stage: str
    pool_state: str


@dataclass(frozen=True)
class LeadRow:
    """A lead as lists and exports show it: its contact values (phone, e-mail, WeChat id,
    QQ number) already masked for the reader ("" for none)."""

    id: int
    name: str
    phone: str
    no_phone: bool
    external_id: str | None
    channel: str
    campaign: str | None
    region: str | None
    city: str | None
    customer_id: int | None
    created_at: datetime
    email: str = ""
    wechat: str = ""
    qq: str = ""
    tags: tuple[str, ...] = ()
    opportunities: tuple[OpportunitySummary, ...] = ()


@dataclass(frozen=True)
class LeadPage:
    rows: list[LeadRow]
    total: int  # at most COUNT_CAP
    total_capped: bool  # True: there are more than COUNT_CAP
    page: int
    page_size: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))


def lead_conditions(
    actor: Actor,
    lead_filter: LeadFilter,
    *,
    broad: bool = False,
    by_date: bool = False,
    broad_custom: frozenset[FieldCondition] = frozenset(),
    custom_clauses: Mapping[FieldCondition, ColumnElement[bool]] | None = None,
    scoped: bool = True,
    per_lead: bool = False,
    shared: bool = True,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `lead_filter` within the actor's scope (merged leads never
    match). Raise ValidationError for a filter that cannot be read.

    `broad` says the name prefix is shared by many leads: the scope is then read as a set,
    not lead by lead; with `by_date` too (a page in date order) the name is compared
    without its index, so the page walks the date index and stops at its end instead of
    sorting every match. `broad_custom`: custom-field conditions that many leads meet; a
    sorted page (`by_date`, or by name) asks them per lead for the same reason.
    `custom_clauses`: the condition to use for each custom test (`leads.custom_filter`);
    `scoped=False`: they already hold the actor's reach, so it is not added again;
    `per_lead`: the page walks few leads, so the reach is checked lead by lead;
    `shared=False`: a bulk change, which leaves out leads reached only as a collaborator."""
    f = lead_filter
    text = (f.text or "").strip()
    read = read_search_text(text) if text else None
    # A number, or a name that few leads share, leaves few candidates to check one by one.
    narrow = per_lead or (read is not None and (read.name_prefix is None or not broad))
    conditions: list[ColumnElement[bool]] = [col(Lead.merged_into_id).is_(None)]
    if scoped:
        conditions.append(lead_scope(actor, per_lead=narrow, shared=shared))
    if read is not None:
        conditions.append(text_condition(read, walk_dates=broad and by_date))
    if f.ids:
        conditions.append(col(Lead.id).in_(sorted(set(f.ids))))
    if f.channel:
        conditions.append(Lead.channel == f.channel)
    if f.campaign and f.campaign.strip():
        low, high = prefix_range(f.campaign.strip())
        conditions.append(and_(Lead.campaign >= low, Lead.campaign < high))
    if f.campaign_code:
        conditions.append(Lead.campaign == f.campaign_code)
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise ValidationError(N_("The start date is after the end date."))
    if f.created_from:
        conditions.append(Lead.created_at >= datetime.combine(f.created_from, time()))
    if f.created_to:
        conditions.append(Lead.created_at < datetime.combine(f.created_to + timedelta(1), time()))
    if f.tag and f.tag.strip():
        conditions.append(exists().where(LeadTag.lead_id == Lead.id, LeadTag.tag == f.tag.strip()))
    for custom in f.custom:
        if custom.entity != "lead":
            raise ValidationError(N_("Only the lead's own fields filter the lead library."))
        if custom_clauses is not None and custom in custom_clauses:
            conditions.append(custom_clauses[custom])
        else:
            conditions.append(filter_clause(custom, per_row=custom in broad_custom))
    opportunity_parts = []
    if f.owner_id is not None:
        opportunity_parts.append(Opportunity.owner_id == f.owner_id)
    if f.stage:
        opportunity_parts.append(Opportunity.stage == f.stage)
    if f.business_line_id is not None:
        opportunity_parts.append(Opportunity.business_line_id == f.business_line_id)
    if f.pool_state:
        opportunity_parts.append(Opportunity.pool_state == f.pool_state)
    if opportunity_parts:
        # One opportunity must meet them all, and be one the actor may see.
        conditions.append(
            exists().where(
                Opportunity.lead_id == Lead.id, opportunity_scope(actor), *opportunity_parts
            )
        )
    return conditions


def _order(sort: str):
    if sort == "oldest":
        return (col(Lead.created_at).asc(), col(Lead.id).asc())
    if sort == "name":
        return (col(Lead.name_key).asc(), col(Lead.id).asc())
    return (col(Lead.created_at).desc(), col(Lead.id).desc())


def count_matching(
    session: Session, actor: Actor, lead_filter: LeadFilter, *, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """(number of matching leads up to `cap`, whether there are more than `cap`)."""
    actor.require(Permission.VIEW_LEADS)
    check_conditions(session, actor, lead_filter.custom)
    plan = _plan(session, actor, lead_filter, cap)
    return _count(session, actor, lead_filter, plan, _broad_name(session, lead_filter), cap)


def _custom_alone(lead_filter: LeadFilter) -> bool:
    """Whether the filter holds custom-field tests and nothing else."""
    others = (getattr(lead_filter, f.name) for f in fields(lead_filter) if f.name != "custom")
    return bool(lead_filter.custom) and all(
        value is None or (isinstance(value, str) and not value.strip()) for value in others
    )


def _plan(session: Session, actor: Actor, lead_filter: LeadFilter, cap: int) -> CustomPlan:
    return plan_custom(
        session, actor, lead_filter.custom, alone=_custom_alone(lead_filter), cap=cap
    )


def _count(
    session: Session, actor: Actor, lead_filter: LeadFilter, plan: CustomPlan, broad: bool, cap
) -> tuple[int, bool]:
    """The capped count: from the plan when its value rows gave it, else over the leads."""
    if plan.total is not None:
        return plan.total, plan.capped
    conditions = lead_conditions(actor, lead_filter, broad=broad, custom_clauses=plan.count_clauses)
    return _capped_count(session, conditions, cap)


def _capped_count(session: Session, conditions, cap: int) -> tuple[int, bool]:
    capped = select(Lead.id).where(*conditions).limit(cap + 1).subquery()
    found = session.exec(select(func.count()).select_from(capped)).one()
    return min(found, cap), found > cap


def _broad_name(session: Session, lead_filter: LeadFilter) -> bool:
    """Whether the filter's name prefix is shared by more than BROAD leads (ignoring scope):
    an index-only count that stops at BROAD + 1."""
    text = (lead_filter.text or "").strip()
    read = read_search_text(text) if text else None
    if read is None or read.name_prefix is None:
        return False
    low, high = prefix_range(read.name_prefix)
    found, more = _capped_count(
        session,
        [Lead.name_key >= low, Lead.name_key < high, col(Lead.merged_into_id).is_(None)],
        BROAD,
    )
    return more


def search_leads(
    session: Session,
    actor: Actor,
    lead_filter: LeadFilter,
    *,
    sort: str = "newest",
    page: int = 1,
    page_size: int = 50,
) -> LeadPage:
    """One page of the leads matching `lead_filter` in the actor's scope, contact values
    masked for the actor, each with its tags and its opportunities that the actor may see."""
    actor.require(Permission.VIEW_LEADS)
    if sort not in SORTS:
        raise ValidationError(N_("Unknown sort order {sort}."), sort=sort)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    check_conditions(session, actor, lead_filter.custom)
    broad = _broad_name(session, lead_filter)
    plan = _plan(session, actor, lead_filter, COUNT_CAP)
    total, capped = _count(session, actor, lead_filter, plan, broad, COUNT_CAP)
    last_page = max(1, -(-total // page_size))
    page = max(1, min(page, last_page))
    leads = session.exec(
        select(Lead)
        .where(
            *lead_conditions(
                actor,
                lead_filter,
                broad=broad,
                by_date=sort != "name",
                custom_clauses=plan.page_clauses,
                scoped=not plan.scoped,
                per_lead=plan.per_lead,
            )
        )
        .order_by(*_order(sort))
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    rows = lead_rows(session, actor, leads)
    return LeadPage(rows, total, capped, page, page_size)


def lead_rows(session: Session, actor: Actor, leads: list[Lead]) -> list[LeadRow]:
    """Leads as rows for `actor`: masked contact values, tags and visible opportunities, read in one
    query each for the whole list."""
    ids = [lead.id for lead in leads]
    tags: dict[int, list[str]] = defaultdict(list)
    opportunities: dict[int, list[OpportunitySummary]] = defaultdict(list)
    if ids:
        for lead_id, tag in session.exec(
            select(LeadTag.lead_id, LeadTag.tag)
            .where(col(LeadTag.lead_id).in_(ids))
            .order_by(LeadTag.tag)
        ).all():
            tags[lead_id].append(tag)
        for row in session.exec(
            select(
                Opportunity.lead_id,
                Opportunity.id,
                BusinessLine.name,
                Opportunity.owner_id,
                User.full_name,
                Opportunity.stage,
                Opportunity.pool_state,
            )
            .join(BusinessLine, col(BusinessLine.id) == col(Opportunity.business_line_id))
            .join(User, col(User.id) == col(Opportunity.owner_id), isouter=True)
            .where(col(Opportunity.lead_id).in_(ids), opportunity_scope(actor))
            .order_by(Opportunity.lead_id, Opportunity.id)
        ).all():
            opportunities[row[0]].append(OpportunitySummary(*row[1:]))
    return [
        LeadRow(
            id=lead.id,
            name=lead.name,
            phone=display_phone(actor, lead.phone),
            no_phone=lead.no_phone,
            external_id=lead.external_id,
            channel=lead.channel,
            campaign=lead.campaign,
            region=lead.region,
            city=lead.city,
            customer_id=lead.customer_id,
            created_at=lead.created_at,
            email=display_contact(actor, "email", lead.email),
            wechat=display_contact(actor, "wechat", lead.wechat),
            qq=display_contact(actor, "qq", lead.qq),
            tags=tuple(tags[lead.id]),
            opportunities=tuple(opportunities[lead.id]),
        )
        for lead in leads
    ]


def owner_choices(session: Session, actor: Actor, *, limit: int = 500) -> list[tuple[int, str]]:
    """(user id, name) of the people whose leads the actor may filter by: the users in the
    actor's scope who have not left, by name."""
    actor.require(Permission.VIEW_LEADS)
    rows = session.exec(
        select(User.id, User.full_name)
        .where(user_scope(actor), User.status != "resigned")
        .order_by(User.full_name, User.id)
        .limit(limit)
    ).all()
    return [(user_id, name) for user_id, name in rows]


def count_leads(session: Session, actor: Actor) -> int:
    """How many leads the actor reaches: counted per disjoint part of the scope, each from
    its own index, rather than over an OR that reads the whole lead table."""
    actor.require(Permission.VIEW_LEADS)
    return sum(
        session.exec(select(func.count()).select_from(Lead).where(part)).one()
        for part in lead_scope_parts(actor)
    )
