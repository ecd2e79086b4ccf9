"""Renewals (续费): after a win, a renewal opportunity for the same lead and business line
(pipeline type `renewal`, `renewal_of_id` the win), opened by hand (`open_renewal`) or by
renewal rules some days before the student's course ends (`open_due_renewals`).

A renewal starts like every new opportunity: stage `new` with its stage-history row and
one flow event (reason `renewal`). It goes to the win's owner while that user is active;
otherwise - or when the rule says so - it waits for dispatch, with the reason the rule
editor shows. A lead holds one open opportunity per line, so a renewal is never opened
beside an open one, and a win gets at most one open renewal.

The rule run is set-based: per rule one INSERT ... SELECT of the renewals, one of their
stage history and one of their flow events, under the opportunity write lock, so the rows
it counted are the rows it wrote; a second run finds nothing left to open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Integer,
    String,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.circulation.flow_events import insert_flow_events
from crm_core.circulation.locks import hold_opportunity_writes
from crm_core.circulation.opportunities import get_opportunity, lock_for_change
from crm_core.circulation.pool import pool_scope
from crm_core.circulation.rule_schemas import RenewalSpec
from crm_core.circulation.rules import active_rules
from crm_core.models import (
    FlowEvent,
    Opportunity,
    OrgUnit,
    RenewalRule,
    SalesOrder,
    StageHistory,
    User,
)
from crm_core.org.access import opportunity_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.notices import send_counts
from crm_core.platform.permissions import Permission

# Why a renewal waits for dispatch (`unassigned_reason`; texts `waiting.<reason>`).
OWNER_GONE = "renewal_owner_gone"  # the win's owner is no longer active
TO_DISPATCH = "renewal"  # the rule gives renewals to dispatch
NOTICE_KIND = "renewal.opened"

_COLUMNS = (
    "lead_id",
    "business_line_id",
    "pipeline_type",
    "renewal_of_id",
    "stage",
    "pool_state",
    "owner_id",
    "org_unit_id",
    "assigned_at",
    "stage_changed_at",
    "unassigned_reason",
    "locked",
    "recycle_count",
    "created_at",
)
_STAGE_COLUMNS = ("opportunity_id", "from_stage", "to_stage", "changed_at", "actor_id")


def _owner_active(user: User | None) -> bool:
    return user is not None and user.status == "active" and bool(user.enabled)


def _refuse_when_line_open(session: Session, actor: Actor, won: Opportunity) -> None:
    """Refuse, naming it, an open renewal of `won` or any open opportunity of its lead on
    its line (a lead holds one open opportunity per line) - that other opportunity only
    when the actor reaches it or may claim it (`renewal.error.line_open_elsewhere`
    otherwise)."""
    renewal = session.exec(
        select(Opportunity.id).where(
            Opportunity.renewal_of_id == won.id, Opportunity.pool_state != "closed"
        )
    ).first()
    if renewal is not None:
        raise ValidationError(
            N_("This win already has an open renewal: opportunity #{id}."), id=renewal
        )
    other = session.exec(
        select(Opportunity.id).where(
            Opportunity.lead_id == won.lead_id,
            Opportunity.business_line_id == won.business_line_id,
            Opportunity.pool_state != "closed",
        )
    ).first()
    if other is not None:
        # Named to whoever reaches it: in scope, or in a public pool they may claim from.
        reach = or_(opportunity_scope(actor), pool_scope(session, actor))
        reached = session.exec(select(Opportunity.id).where(Opportunity.id == other, reach)).first()
        if reached is None:
            raise ValidationError(
                N_(
                    "The lead already has an open opportunity on this business line, outside your reach: ask your manager."
                )
            )
        raise ValidationError(
            N_(
                "The lead already has an open opportunity on this business line (#{id}): work that one instead."
            ),
            id=other,
        )


def open_renewal(session: Session, actor: Actor, won_opportunity_id: int) -> Opportunity:
    """Open the renewal of a won opportunity in the actor's scope, by hand.

        Same lead and business line, pipeline type `renewal`, stage `new` with its history
        row and one flow event. The win's owner gets it when still active and enabled (in
        their current unit); otherwise it waits for dispatch (`renewal_owner_gone`) in the
        win's unit, so that unit's managers see it. Refused when the opportunity is not won,
        when the win already has an open renewal, or when the lead has another open
        opportunity on the line. Flushes; the caller commits. If another opportunity on the
        line appears at the same moment, the renewal is undone (a savepoint: the caller's earlier work
    stays) and refused."""
    won = lock_for_change(session, actor, won_opportunity_id, open_only=False)
    if won.stage != "won":
        raise ValidationError(
            N_("Opportunity #{id} is not won: only a win can be renewed."), id=won.id
        )
    _refuse_when_line_open(session, actor, won)
    now = clock.now()
    owner = session.get(User, won.owner_id) if won.owner_id is not None else None
    kept = _owner_active(owner)
    renewal = Opportunity(
        lead_id=won.lead_id,
        business_line_id=won.business_line_id,
        pipeline_type="renewal",
        renewal_of_id=won.id,
        stage="new",
        stage_changed_at=now,
        pool_state="owned" if kept else "unassigned",
        owner_id=owner.id if kept else None,
        org_unit_id=owner.org_unit_id if kept else won.org_unit_id,
        assigned_at=now if kept else None,
        unassigned_reason=None if kept else OWNER_GONE,
        created_at=now,
    )
    try:
        # A savepoint: the lost race undoes this insert only, not the caller's earlier work.
        with savepoint(session):
            session.add(renewal)
            session.flush()
    except IntegrityError as error:
        # An intake or a rule run opened an opportunity on this line a moment ago.
        raise ValidationError(
            N_(
                "An opportunity on this business line was opened a moment ago: reload and look again."
            )
        ) from error
    session.add(
        StageHistory(
            opportunity_id=renewal.id,
            from_stage=None,
            to_stage="new",
            changed_at=now,
            actor_id=actor.user_id,
        )
    )
    session.add(
        FlowEvent(
            opportunity_id=renewal.id,
            at=now,
            from_owner_id=None,
            to_owner_id=renewal.owner_id,
            from_state=None,
            to_state=renewal.pool_state,
            reason="renewal",
            actor_id=actor.user_id,
        )
    )
    session.flush()
    return renewal


@dataclass(frozen=True)
class RenewalLink:
    """A renewal of a win, as the win's detail view names it. `visible`: whether the reader
    may open it (it may have gone to someone outside their scope)."""

    opportunity_id: int
    stage: str
    pool_state: str
    created_at: datetime
    visible: bool

    @property
    def open(self) -> bool:
        return self.pool_state != "closed"


def renewals_of(session: Session, actor: Actor, opportunity_id: int) -> list[RenewalLink]:
    """The renewals of an opportunity in the actor's scope (NotFound otherwise), newest
    first; one query."""
    get_opportunity(session, actor, opportunity_id)
    in_scope = case((opportunity_scope(actor), True), else_=False)
    rows = session.exec(
        select(
            Opportunity.id,
            Opportunity.stage,
            Opportunity.pool_state,
            Opportunity.created_at,
            in_scope,
        )
        .where(Opportunity.renewal_of_id == opportunity_id)
        .order_by(col(Opportunity.id).desc())
    ).all()
    return [RenewalLink(i, stage, state, at, bool(seen)) for i, stage, state, at, seen in rows]


# --- by rule ---------------------------------------------------------------------------


@dataclass
class RenewalOutcome:
    rule_id: int | None
    name: str
    opened: int = 0
    to_owner: int = 0
    to_dispatch: int = 0


@dataclass
class RenewalResult:
    """What a run opened (or, dry, would open): to owners, to dispatch, per rule."""

    opened: int = 0
    to_owner: int = 0
    to_dispatch: int = 0
    rules: list[RenewalOutcome] = field(default_factory=list)
    dry_run: bool = False


def _unit_clause(session: Session, rule: RenewalRule, won) -> ColumnElement[bool]:
    unit = session.get(OrgUnit, rule.org_unit_id)
    path = unit.path if unit else "/none/"
    return col(won.org_unit_id).in_(select(OrgUnit.id).where(col(OrgUnit.path).like(f"{path}%")))


def _due(
    session: Session,
    rule: RenewalRule,
    spec: RenewalSpec,
    now: datetime,
    won,
    *,
    deduplicate: bool = True,
) -> list[ColumnElement[bool]]:
    """What makes the won opportunity `won` (an alias) due for a renewal under `rule`."""
    order, later = aliased(SalesOrder), aliased(SalesOrder)
    renewal, other = aliased(Opportunity), aliased(Opportunity)
    window = timedelta(days=spec.days_before)
    # The latest paid order (refunded ones are not paid) ends inside the window.
    latest_paid_ends_soon = col(won.id).in_(
        select(order.opportunity_id).where(
            order.status == "paid",
            order.course_ends_at >= now - window,
            order.course_ends_at <= now + window,
            ~exists().where(
                later.opportunity_id == order.opportunity_id,
                later.status == "paid",
                or_(
                    later.paid_at > order.paid_at,
                    and_(later.paid_at == order.paid_at, later.id > order.id),
                ),
            ),
        )
    )
    conditions = [
        won.stage == "won",
        latest_paid_ends_soon,
        ~exists().where(renewal.renewal_of_id == won.id),
        ~exists().where(
            other.lead_id == won.lead_id,
            other.business_line_id == won.business_line_id,
            other.pool_state != "closed",
        ),
    ]
    if rule.business_line_id is not None:
        conditions.append(won.business_line_id == rule.business_line_id)
    if rule.org_unit_id is not None:
        conditions.append(_unit_clause(session, rule, won))
    if deduplicate:
        # Two due wins of one lead on one line would make two open opportunities there:
        # only the newest win is renewed.
        newer = aliased(Opportunity)
        conditions.append(
            ~exists().where(
                newer.lead_id == won.lead_id,
                newer.business_line_id == won.business_line_id,
                newer.id > won.id,
                *_due(session, rule, spec, now, newer, deduplicate=False),
            )
        )
    return conditions


def _require_jobs(actor: Actor, dry_run: bool) -> None:
    if actor.can(Permission.RUN_JOBS) or (dry_run and actor.can(Permission.MANAGE_RULES)):
        return
    raise PermissionDenied(permission=Permission.RUN_JOBS.value)


def open_due_renewals(
    session: Session, actor: Actor, *, dry_run: bool = False, rules=None
) -> RenewalResult:
    """Open the renewal of every won opportunity a renewal rule finds due (or, dry, count
    them): its latest paid order's course ends within the rule's `days_before` days (or
    ended no longer ago than that), it has no renewal yet and its lead has no open
    opportunity on the line. Rules run in order; one notice per owner with their count.
    `rules`: (rule, spec) pairs to use instead of the enabled ones (a draft's dry run)."""
    _require_jobs(actor, dry_run)
    if rules is None:
        rules = active_rules(session, "renewal")
    if not dry_run:
        hold_opportunity_writes(session)
    now = clock.now()
    result = RenewalResult(dry_run=dry_run)
    taken: list[ColumnElement[bool]] = []  # a dry run must not count one win twice
    per_owner: dict[int, int] = {}
    won = aliased(Opportunity, name="won")  # one alias for all rules: `taken` refers to it
    for rule, spec in rules:
        conditions = _due(session, rule, spec, now, won)
        owner_ok = and_(User.status == "active", User.enabled == true())
        if spec.assign_to != "owner":
            owner_ok = literal(False, Boolean)
        outcome = RenewalOutcome(rule.id, rule.name)
        if dry_run:
            opened, to_owner = session.exec(
                select(func.count(), func.coalesce(func.sum(case((owner_ok, 1), else_=0)), 0))
                .select_from(won)
                .outerjoin(User, User.id == won.owner_id)
                .where(*conditions, *[~t for t in taken])
            ).one()
            outcome.opened, outcome.to_owner = int(opened), int(to_owner)
            taken.append(and_(*conditions))
        else:
            outcome.opened, owners = _open_by(
                session, actor, rule, spec, won, conditions, owner_ok, now
            )
            outcome.to_owner = sum(owners.values())
            for owner_id, count in owners.items():
                per_owner[owner_id] = per_owner.get(owner_id, 0) + count
        outcome.to_dispatch = outcome.opened - outcome.to_owner
        result.rules.append(outcome)
        result.opened += outcome.opened
        result.to_owner += outcome.to_owner
        result.to_dispatch += outcome.to_dispatch
    if not dry_run:
        send_counts(session, NOTICE_KIND, per_owner, now)
    return result


def _open_by(
    session: Session,
    actor: Actor,
    rule: RenewalRule,
    spec: RenewalSpec,
    won,
    conditions,
    owner_ok,
    now: datetime,
) -> tuple[int, dict[int, int]]:
    """One rule's renewals, their stage history and flow events; (opened, owner -> count)."""
    # Typed literals: PostgreSQL cannot infer the type of a bare parameter in a SELECT list.
    when = literal(now, DateTime)
    by = literal(actor.user_id, Integer)
    waiting = OWNER_GONE if spec.assign_to == "owner" else TO_DISPATCH
    # The write lock is held: every opportunity after the newest id now is this rule's.
    before = session.exec(select(func.coalesce(func.max(Opportunity.id), 0))).one()
    opened = session.exec(
        insert(Opportunity)
        .from_select(
            _COLUMNS,
            select(
                won.lead_id,
                won.business_line_id,
                literal("renewal", String),
                won.id,
                literal("new", String),
                case((owner_ok, literal("owned", String)), else_=literal("unassigned", String)),
                case((owner_ok, won.owner_id), else_=literal(None, Integer)),
                case((owner_ok, User.org_unit_id), else_=won.org_unit_id),
                case((owner_ok, when), else_=literal(None, DateTime)),
                when,
                case((owner_ok, literal(None, String)), else_=literal(waiting, String)),
                literal(False, Boolean),
                literal(0, Integer),
                when,
            )
            .select_from(won)
            .outerjoin(User, User.id == won.owner_id)
            .where(*conditions)
            # Renewals take ids in the order of their wins, on every database.
            .order_by(won.id),
        )
        .execution_options(preserve_rowcount=True)
    ).rowcount
    if not opened:
        return 0, {}
    new = and_(
        Opportunity.id > before,
        Opportunity.pipeline_type == "renewal",
        col(Opportunity.renewal_of_id).is_not(None),
    )
    session.exec(
        insert(StageHistory).from_select(
            _STAGE_COLUMNS,
            select(Opportunity.id, literal(None, String), literal("new", String), when, by).where(
                new
            ),
        )
    )
    events = insert_flow_events(
        session,
        select(
            Opportunity.id,
            when,
            literal(None, Integer),
            Opportunity.owner_id,
            literal(None, String),
            Opportunity.pool_state,
            literal("renewal", String),
            literal("renewal", String),
            literal(rule.id, Integer),
            by,
        ).where(new),
    )
    if events != opened:  # the write lock makes this impossible; never leave half a run
        raise RuntimeError(f"renewal rule {rule.id}: {events} events for {opened} renewals")
    owners = dict(
        session.exec(
            select(Opportunity.owner_id, func.count())
            .where(new, col(Opportunity.owner_id).is_not(None))
            .group_by(Opportunity.owner_id)
        ).all()
    )
    return opened, owners
