"""Study activity from the learning system (a read-only neighbour), read back as talking
points for renewals: which courses a lead studies, how far they got, when they last
studied and how long ago that was. The rows come from the learning activity import
(`crm_core.imports.study`); nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case
from sqlmodel import Session, col, select

from crm_core.models import Lead, LearningActivity
from crm_core.org.access import lead_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import to_company
from crm_core.platform.errors import NotFound
from crm_core.platform.permissions import Permission

# Talking points (texts `learning.hint.<code>`): what a rep may open a renewal call with.
FINISHING_PCT = 80  # this far through, the next course is the natural topic
IDLE_DAYS = 14  # this long without studying, ask what is in the way


@dataclass(frozen=True)
class StudyActivity:
    """A lead's progress in one course, as the latest import said."""

    course: str
    progress_pct: int
    last_studied_on: date | None
    days_since: int | None  # days from the last study to the company's today
    imported_at: datetime

    @property
    def hint(self) -> str:
        """The talking point: `finishing`, `idle`, `not_started` or `steady`."""
        if self.progress_pct >= FINISHING_PCT:
            return "finishing"
        if self.progress_pct == 0:
            return "not_started"
        if self.days_since is None or self.days_since >= IDLE_DAYS:
            return "idle"
        return "steady"


def company_today(session: Session) -> date:
    """The company's local date now (study dates are local dates)."""
    return to_company(session, clock.now()).date()


def learning_for_lead(session: Session, actor: Actor, lead_id: int) -> list[StudyActivity]:
    """The study activity of a lead in the actor's scope (NotFound otherwise), the most
    recent study first (courses without a study date last); two queries."""
    actor.require(Permission.VIEW_LEADS)
    found = session.exec(
        select(Lead.id).where(Lead.id == lead_id, lead_scope(actor, per_lead=True))
    ).first()
    if found is None:
        raise NotFound(entity="lead", id=lead_id)
    a = LearningActivity
    rows = session.exec(
        select(a.course, a.progress_pct, a.last_studied_on, a.imported_at)
        .where(a.lead_id == lead_id)
        .order_by(
            case((col(a.last_studied_on).is_(None), 1), else_=0),
            col(a.last_studied_on).desc(),
            col(a.imported_at).desc(),
            col(a.course),
        )
    ).all()
    today = company_today(session)
    return [
        StudyActivity(course, pct, studied, (today - studied).days if studied else None, at)
        for course, pct, studied, at in rows
    ]
