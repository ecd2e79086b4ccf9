"""Sampling plans (抽检计划): a share of each rep's follow-ups of a company-time week,
narrowed by filters, drawn by a seed stored on the plan. The draw is an ordering of the
week's follow-ups by a hash of their id and the seed, taken per rep inside the database,
so running the same plan for the same week again draws the same sample, and only the
sample itself is read back. A plan is paused and resumed here; the worker's weekly run
(`crm_core.qa.schedule`) skips a paused plan."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, literal
from sqlmodel import Session, col, select

from crm_core.models import FollowUp, Opportunity, OrgUnit, QaChecklist, QaPlan, QaReview
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.qa.flags import flag_between
from crm_core.qa.scope import Author, follow_up_reach, week_bounds, week_start

FILTER_KEYS = (
    "channel",
    "max_duration_s",
    "lost_only",
    "new_rep_days",
    "org_unit_id",
    "business_line_id",
)
# The hash that orders a week's follow-ups: a multiplier and a prime modulus (a
# Knuth-style multiplicative hash) both databases compute the same way in 64-bit integers.
_MULTIPLIER = 2654435761
_MODULUS = 4294967291


def create_plan(
    session: Session,
    actor: Actor,
    *,
    name: str,
    checklist_id: int,
    percent: int,
    filters: dict[str, Any] | None = None,
    seed: int | None = None,
) -> QaPlan:
    """A new sampling plan; without a seed one is chosen and stored."""
    actor.require(Permission.QA_INSPECT)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(N_("A sampling plan needs a name."))
    if session.exec(select(QaPlan.id).where(QaPlan.name == name)).first():
        raise ValidationError(N_("There is already a sampling plan called {name}."), name=name)
    checklist = session.get(QaChecklist, checklist_id)
    if checklist is None or not checklist.active:
        raise ValidationError(N_("Choose an active checklist."))
    if not 1 <= int(percent) <= 100:
        raise ValidationError(N_("The share sampled is between 1 and 100 percent."))
    clean = {
        k: v
        for k, v in (filters or {}).items()
        if k in FILTER_KEYS and v not in (None, "", 0, False)
    }
    plan = QaPlan(
        name=name,
        checklist_id=checklist_id,
        percent=int(percent),
        filters=clean,
        seed=random.randrange(1, 1_000_000) if seed is None else int(seed),
        created_by_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(plan)
    session.flush()
    audit.record(session, actor, "qa_plan.create", "qa_plan", plan.id, None, name)
    return plan


def list_plans(session: Session, actor: Actor) -> list[QaPlan]:
    """The company's sampling plans, by name."""
    actor.require(Permission.QA_INSPECT)
    return list(session.exec(select(QaPlan).order_by(QaPlan.name)).all())


def _plan(session: Session, plan_id: int) -> QaPlan:
    plan = session.get(QaPlan, plan_id)
    if plan is None:
        raise NotFound(entity="qa_plan", id=plan_id)
    return plan


def _require_runnable(session: Session, plan: QaPlan) -> None:
    """A plan is drawn only while it runs and its checklist is in use."""
    if not plan.active:
        raise ValidationError(N_("This sampling plan is paused."))
    _require_checklist_active(session, plan)


def _require_checklist_active(session: Session, plan: QaPlan) -> None:
    checklist = session.get(QaChecklist, plan.checklist_id)
    if checklist is None or not checklist.active:
        raise ValidationError(
            N_("The checklist of the sampling plan {name} is retired: add a new plan."),
            name=plan.name,
        )


def set_plan_active(session: Session, actor: Actor, plan_id: int, active: bool) -> QaPlan:
    """Pause a sampling plan (the weekly run and the queue's run skip it; what it drew
    stays) or resume it. A plan on a retired checklist cannot be resumed."""
    actor.require(Permission.QA_INSPECT)
    plan = _plan(session, plan_id)
    if plan.active == active:
        return plan
    if active:
        _require_checklist_active(session, plan)
    plan.active, plan.paused_at = active, None if active else clock.now()
    session.add(plan)
    audit.record(session, actor, "qa_plan.active", "qa_plan", plan.id, not active, active)
    session.flush()
    return plan


def _filter_clauses(session: Session, filters: dict[str, Any], until) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.get("channel"):
        clauses.append(FollowUp.channel == filters["channel"])
    if filters.get("max_duration_s"):
        clauses.append(FollowUp.channel == "call")
        clauses.append(col(FollowUp.call_duration_s) < int(filters["max_duration_s"]))
    if filters.get("lost_only"):
        clauses.append(Opportunity.stage == "lost")
    if filters.get("new_rep_days"):
        # In their first days: hired (or, with no hire date, given an account) lately.
        joined = func.coalesce(Author.hired_on, Author.created_at)
        clauses.append(joined >= until - timedelta(days=int(filters["new_rep_days"])))
    if filters.get("org_unit_id"):
        unit = session.get(OrgUnit, int(filters["org_unit_id"]))
        path = unit.path if unit else "/-/"
        clauses.append(
            col(Author.org_unit_id).in_(
                select(OrgUnit.id).where(col(OrgUnit.path).like(f"{path}%"))
            )
        )
    if filters.get("business_line_id"):
        clauses.append(Opportunity.business_line_id == int(filters["business_line_id"]))
    return clauses


def plan_source(plan_id: int, day: date) -> str:
    """The queue's mark of a plan's draw for the week holding `day`."""
    return f"plan:{plan_id}:{week_start(day).isoformat()}"


def draw_sample(session: Session, actor: Actor, plan: QaPlan, day: date) -> list[tuple[int, int]]:
    """The (follow-up id, author id) pairs the plan draws for the week holding `day`
    among the follow-ups the actor reaches: per rep, the first ceil(n * percent / 100)
    by the seeded hash."""
    since, until = week_bounds(session, day)
    mix = (
        (FollowUp.id + literal(int(plan.seed), BigInteger)) * literal(_MULTIPLIER, BigInteger)
    ) % literal(_MODULUS, BigInteger)
    ranked = (
        select(
            FollowUp.id.label("follow_up_id"),
            FollowUp.author_id.label("author_id"),
            func.count().over(partition_by=FollowUp.author_id).label("n"),
            func.row_number()
            .over(partition_by=FollowUp.author_id, order_by=(mix, FollowUp.id))
            .label("rank"),
        )
        .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
        .join(Author, Author.id == FollowUp.author_id)
        .where(
            FollowUp.created_at >= since,
            FollowUp.created_at < until,
            follow_up_reach(actor, Opportunity.org_unit_id, Author.org_unit_id),
            *_filter_clauses(session, plan.filters or {}, until),
        )
        .subquery()
    )
    # rank <= ceil(n * p / 100), in integers.
    rows = session.exec(
        select(ranked.c.follow_up_id, ranked.c.author_id)
        .where(ranked.c.rank * 100 <= ranked.c.n * plan.percent + 99)
        .order_by(ranked.c.follow_up_id)
    ).all()
    return [(int(f), int(a)) for f, a in rows]


def run_plan(session: Session, actor: Actor, plan_id: int, day: date) -> dict[str, int]:
    """Run a plan for the company-time week holding `day` within the actor's reach: queue
    its sample (what an earlier run of the same week queued stays, nothing twice), and flag
    that week's follow-ups holding sensitive words. Returns the counts drawn, added and
    flagged."""
    actor.require(Permission.QA_INSPECT)
    return queue_week(session, actor, actor, _plan(session, plan_id), day)


def queue_week(
    session: Session, actor: Actor, reach: Actor, plan: QaPlan, day: date
) -> dict[str, int]:
    """The run itself, for a caller that checked the permission: draw among the
    follow-ups `reach` inspects, audited as `actor`. An ended week's draw is remembered on
    the plan (`drawn_week`), so the weekly run does not draw it again."""
    _require_runnable(session, plan)
    sample = draw_sample(session, reach, plan, day)
    source = plan_source(plan.id, day)
    ids = [f for f, _ in sample]
    queued = (
        set(
            session.exec(
                select(QaReview.follow_up_id).where(
                    QaReview.source == source, col(QaReview.follow_up_id).in_(ids)
                )
            ).all()
        )
        if ids
        else set()
    )
    now = clock.now()
    rows = [
        {
            "follow_up_id": follow_up_id,
            "rep_id": author_id,
            "plan_id": plan.id,
            "source": source,
            "reason": "sample",
            "flagged_words": [],
            "checklist_id": plan.checklist_id,
            "status": "pending",
            "scores": {},
            "violation_tags": [],
            "created_at": now,
        }
        for follow_up_id, author_id in sample
        if follow_up_id not in queued
    ]
    if rows:
        session.exec(QaReview.__table__.insert(), params=rows)
    since, until = week_bounds(session, day)
    flagged = flag_between(session, reach, since, until)
    monday = week_start(day)
    if until <= clock.now() and (plan.drawn_week is None or plan.drawn_week < monday):
        plan.drawn_week = monday
        session.add(plan)
    outcome = {"drawn": len(sample), "added": len(rows), "flagged": flagged}
    audit.record(
        session,
        actor,
        "qa_plan.run",
        "qa_plan",
        plan.id,
        None,
        {"week": monday.isoformat(), **outcome},
    )
    session.flush()
    return outcome
