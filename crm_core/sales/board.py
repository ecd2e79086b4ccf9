"""The opportunity board (商机看板): a column per stage with its count and amount and the first
cards, and the same opportunities as a list - filtered, sorted and paged in the database.

The board holds the open opportunities someone owns, within the reader's scope (a rep: their
own; a manager: their units', filterable by rep), plus the won and lost ones of this
company-local month. Names, lines and masked phones come in the page's one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.custom_fields.filters import (
    FieldCondition,
    check_conditions,
    condition_counts,
    count_shape,
    filter_clause,
    page_shape,
)
from crm_core.leads.masking import display_phone
from crm_core.models import (
    OPEN_STAGES,
    PIPELINE_TYPES,
    BusinessLine,
    Lead,
    Opportunity,
    User,
)
from crm_core.org.access import opportunity_scope_parts
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import local_day_start
from crm_core.platform.company_time import month_start as company_month_start
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.option_values import option_codes
from crm_core.platform.permissions import DataScope, Permission
from crm_core.platform.search_keys import name_key, prefix_range
from crm_core.sales.expected_value import expected_amount, join_prices, money, reference_prices

BOARD_STAGES = (*OPEN_STAGES, "won", "lost")
CLOSED_STAGES = ("won", "lost")
NEXT_FOLLOW_UP = ("overdue", "today", "week", "none")
SORTS = ("next_follow_up", "newest", "last_follow_up", "amount")
COUNT_CAP = 10_000
MAX_PAGE = 200


@dataclass(frozen=True)
class BoardFilter:
    """Every part is optional; they combine with AND. `stage` won or lost lists closed
    opportunities of any date; otherwise the board holds the owned open ones."""

    stage: str | None = None
    intention_level: str | None = None
    business_line_id: int | None = None
    channel: str | None = None
    next_follow_up: str | None = None  # overdue | today | week | none
    owner_id: int | None = None
    pipeline_type: str | None = None
    name: str | None = None  # start of the lead's name
    # Tests on the opportunity's or its lead's custom fields (`custom_fields.filters`).
    custom: tuple[FieldCondition, ...] = ()


@dataclass(frozen=True)
class BoardRow:
    opportunity_id: int
    lead_id: int
    lead_name: str
    phone: str
    business_line: str
    channel: str
    stage: str
    intention_level: str | None
    pipeline_type: str
    owner_id: int | None
    owner_name: str | None
    amount: Decimal | None
    assigned_at: datetime | None
    last_follow_up_at: datetime | None
    next_follow_up_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class BoardColumn:
    stage: str
    count: int
    amount: Decimal
    cards: list[BoardRow]


def check_filter(session: Session, f: BoardFilter) -> None:
    """Refuse a filter value that is not one of its choices (intention levels: every level
    of the list, disabled ones too, since the board also shows history)."""
    levels = (
        option_codes(session, "intention_level", active_only=False) if f.intention_level else ()
    )
    for value, choices, name in (
        (f.stage, BOARD_STAGES, "stage"),
        (f.intention_level, levels, "intention_level"),
        (f.next_follow_up, NEXT_FOLLOW_UP, "next_follow_up"),
        (f.pipeline_type, PIPELINE_TYPES, "pipeline_type"),
    ):
        if value is not None and value not in choices:
            raise ValidationError(
                NC_("board.error", "{field}: “{value}” is not one of the choices."),
                field=name,
                value=value,
            )


def month_start(session: Session, now: datetime) -> datetime:
    """The UTC moment the company-local month containing `now` began."""
    return company_month_start(session, now)


def _custom_where(
    session: Session, actor: Actor, f: BoardFilter
) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """The custom-field tests of `f` for counts and for sorted pages, each in the shape its
    match count calls for (see `custom_fields.filters`). A lead's field is tested on the
    opportunity's `lead_id`, so the lead need not be joined."""
    if not f.custom:
        return [], []
    dialect = session.get_bind().dialect.name
    counts = condition_counts(session, f.custom, COUNT_CAP)

    def tests(shape) -> list[ColumnElement[bool]]:
        return [
            filter_clause(
                c,
                shape=shape(*counts[c]),
                dialect=dialect,
                row_id=Opportunity.lead_id if c.entity == "lead" else Opportunity.id,
            )
            for c in f.custom
        ]

    if actor.scope is DataScope.ALL:
        return tests(count_shape), tests(page_shape)
    # A reader's share can hold few of the matches, so a walk checking a hashed set could
    # pass most of the share; fetched by key (the (lead, owner, unit) index checks the
    # scope too), up to the count cap, the page costs the matches at most.
    return tests(count_shape), tests(lambda n, capped: "per_row" if capped else "ids")


def _conditions(
    session: Session,
    actor: Actor,
    f: BoardFilter,
    *,
    stages: list[str] | None,
    custom: list[ColumnElement[bool]] | None = None,
) -> tuple[list[ColumnElement[bool]], bool]:
    """WHERE conditions for `f` limited to `stages` (all open ones: None), and whether
    the lead must be joined; the scope is added by the caller, one part at a time. Closed
    stages on the board are this month's. `custom`: the custom-field tests
    (`_custom_where`)."""
    o = Opportunity
    now = clock.now()
    where: list[ColumnElement[bool]] = []
    # A stage list that names every stage of the pool state says nothing more, and would
    # only tempt the planner towards the (stage, pool state) index over the whole table.
    if stages and all(s in CLOSED_STAGES for s in stages):
        where.append(o.pool_state == "closed")
        if set(stages) != set(CLOSED_STAGES):
            where.append(col(o.stage).in_(stages))
        if f.stage is None:  # board columns, not a list of every won or lost one
            where.append(o.closed_at >= month_start(session, now))
    else:
        where.append(o.pool_state == "owned")
        if stages and set(stages) != set(OPEN_STAGES):
            where.append(col(o.stage).in_(stages))
    if f.intention_level:
        where.append(o.intention_level == f.intention_level)
    if f.business_line_id is not None:
        where.append(o.business_line_id == f.business_line_id)
    if f.owner_id is not None:
        where.append(o.owner_id == f.owner_id)
    if f.pipeline_type:
        where.append(o.pipeline_type == f.pipeline_type)
    if f.next_follow_up == "overdue":
        where.append(o.next_follow_up_at < now)
    elif f.next_follow_up in ("today", "week"):
        end = local_day_start(session, now) + timedelta(
            days=1 if f.next_follow_up == "today" else 7
        )
        where.extend([o.next_follow_up_at >= now, o.next_follow_up_at < end])
    elif f.next_follow_up == "none":
        where.append(col(o.next_follow_up_at).is_(None))
    where.extend(custom or [])
    needs_lead = False
    if f.channel:
        where.append(Lead.channel == f.channel)
        needs_lead = True
    if f.name and f.name.strip():
        low, high = prefix_range(name_key(f.name))
        where.extend([Lead.name_key >= low, Lead.name_key < high])
        needs_lead = True
    return where, needs_lead


def _order(sort: str, stage: str | None):
    o = Opportunity
    if sort not in SORTS:
        raise ValidationError(N_("Unknown sort order: {sort}."), sort=sort)
    if sort == "newest":
        return [col(o.id).desc()]
    if sort == "last_follow_up":  # the least recently worked first
        return [col(o.last_follow_up_at).asc().nulls_first(), o.id]
    if sort == "amount":
        return [col(o.amount).desc().nulls_last(), o.id]
    if stage in CLOSED_STAGES:
        return [col(o.closed_at).desc(), col(o.id).desc()]
    return [col(o.next_follow_up_at).asc().nulls_last(), o.id]


_LAST = datetime.max
_FIRST = datetime.min


def _sort_key(sort: str, stage: str | None):
    """The Python twin of `_order`, to merge the pages of several scope parts."""
    if sort == "newest":
        return lambda r: -r.opportunity_id
    if sort == "last_follow_up":
        return lambda r: (
            r.last_follow_up_at is not None,
            r.last_follow_up_at or _FIRST,
            r.opportunity_id,
        )
    if sort == "amount":
        return lambda r: (r.amount is None, -(r.amount or 0), r.opportunity_id)
    if stage in CLOSED_STAGES:
        return lambda r: (-(r.closed_at or _FIRST).timestamp(), -r.opportunity_id)
    return lambda r: (r.next_follow_up_at is None, r.next_follow_up_at or _LAST, r.opportunity_id)


def _page(
    session: Session,
    actor: Actor,
    where: list,
    needs_lead: bool,
    sort: str,
    stage: str | None,
    limit: int,
    offset: int,
) -> list[BoardRow]:
    """A sorted page over every scope part: each part's first offset + limit rows, merged."""
    limit = min(max(limit, 1), MAX_PAGE)
    offset = max(offset, 0)
    parts = opportunity_scope_parts(actor)
    if len(parts) == 1:
        return _rows(
            session, actor, [*where, parts[0]], _order(sort, stage), limit, offset, needs_lead
        )
    merged = [
        row
        for part in parts
        for row in _rows(
            session, actor, [*where, part], _order(sort, stage), offset + limit, 0, needs_lead
        )
    ]
    merged.sort(key=_sort_key(sort, stage))
    return merged[offset : offset + limit]


def _rows(
    session: Session, actor: Actor, where, order, limit: int, offset: int, needs_lead: bool
) -> list[BoardRow]:
    o = Opportunity
    owner = aliased(User)
    # The page's ids first, from the index alone; then only their rows are read.
    page_ids = select(o.id)
    if needs_lead:
        page_ids = page_ids.join(Lead, Lead.id == o.lead_id)
    page_ids = page_ids.where(*where).order_by(*order).limit(limit).offset(offset)
    rows = session.exec(
        select(
            o.id,
            Lead.id,
            Lead.name,
            Lead.phone,
            BusinessLine.name,
            Lead.channel,
            o.stage,
            o.intention_level,
            o.pipeline_type,
            o.owner_id,
            owner.full_name,
            o.amount,
            o.assigned_at,
            o.last_follow_up_at,
            o.next_follow_up_at,
            o.closed_at,
        )
        .join(Lead, Lead.id == o.lead_id)
        .join(BusinessLine, BusinessLine.id == o.business_line_id)
        .outerjoin(owner, owner.id == o.owner_id)
        .where(col(o.id).in_(page_ids))
        .order_by(*order)
    ).all()
    return [BoardRow(r[0], r[1], r[2], display_phone(actor, r[3]), *r[4:]) for r in rows]


def list_board(
    session: Session,
    actor: Actor,
    f: BoardFilter = BoardFilter(),
    *,
    sort: str = "next_follow_up",
    limit: int = 50,
    offset: int = 0,
) -> list[BoardRow]:
    """A page of the list view."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    check_filter(session, f)
    check_conditions(session, actor, f.custom)
    _order(sort, f.stage)  # refuses an unknown sort before any query
    where, needs_lead = _conditions(
        session,
        actor,
        f,
        stages=[f.stage] if f.stage else None,
        custom=_custom_where(session, actor, f)[1],
    )
    return _page(session, actor, where, needs_lead, sort, f.stage, limit, offset)


def count_board(session: Session, actor: Actor, f: BoardFilter = BoardFilter()) -> int:
    """How many the list holds, counted up to COUNT_CAP (pages show "10,000+")."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    check_filter(session, f)
    check_conditions(session, actor, f.custom)
    where, needs_lead = _conditions(
        session,
        actor,
        f,
        stages=[f.stage] if f.stage else None,
        custom=_custom_where(session, actor, f)[0],
    )
    total = 0
    for part in opportunity_scope_parts(actor):
        query = select(Opportunity.id)
        if needs_lead:
            query = query.join(Lead, Lead.id == Opportunity.lead_id)
        capped = query.where(*where, part).limit(COUNT_CAP + 1 - total).subquery()
        total += session.exec(select(func.count()).select_from(capped)).one()
        if total > COUNT_CAP:
            break
    return total


def board_columns(
    session: Session,
    actor: Actor,
    f: BoardFilter = BoardFilter(),
    *,
    cards: int = 10,
    sort: str = "next_follow_up",
) -> list[BoardColumn]:
    """The board: per stage (or only `f.stage`), its count and amount and the first
    `cards` opportunities. Counts: one GROUP BY for the open stages, one for the closed."""
    actor.require(Permission.VIEW_OPPORTUNITIES)
    check_filter(session, f)
    check_conditions(session, actor, f.custom)
    stages = [f.stage] if f.stage else list(BOARD_STAGES)
    totals: dict[str, tuple[int, Decimal]] = {}
    open_stages = [s for s in stages if s not in CLOSED_STAGES]
    closed_stages = [s for s in stages if s in CLOSED_STAGES]
    counted, paged = _custom_where(session, actor, f)
    for group in (open_stages, closed_stages):
        if not group:
            continue
        where, needs_lead = _conditions(session, actor, f, stages=group, custom=counted)
        for part in opportunity_scope_parts(actor):
            # The expected amount: an order's amount, else the line's reference price.
            prices = reference_prices()
            query = join_prices(
                select(Opportunity.stage, func.count(), func.sum(expected_amount(prices))),
                prices,
            )
            if needs_lead:
                query = query.join(Lead, Lead.id == Opportunity.lead_id)
            for stage, count, amount in session.exec(
                query.where(*where, part).group_by(Opportunity.stage)
            ).all():
                before = totals.get(stage, (0, Decimal(0)))
                totals[stage] = (before[0] + count, before[1] + money(amount))
    columns = []
    for stage in stages:
        count, amount = totals.get(stage, (0, Decimal(0)))
        rows: list[BoardRow] = []
        if count and cards:
            where, needs_lead = _conditions(session, actor, f, stages=[stage], custom=paged)
            rows = _page(session, actor, where, needs_lead, sort, stage, cards, 0)
        columns.append(BoardColumn(stage, count, amount, rows))
    return columns
