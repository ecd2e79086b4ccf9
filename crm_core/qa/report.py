"""Scores per rep and per team for a company-time week, with the checklist items that lose
the most points, within the viewer's reach. Reads the week's scored reviews only (a sample,
not the follow-ups)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from crm_core.models import FollowUp, Opportunity, OrgUnit, QaChecklist, QaReview
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission
from crm_core.qa.scope import Author, follow_up_reach, week_bounds

WORST_ITEMS = 3


@dataclass(frozen=True)
class ScoreLine:
    """One rep's or team's week: how many scored, the average, how many passed."""

    key: int | None
    name: str
    scored: int
    average: float
    passed: int


@dataclass(frozen=True)
class ItemLine:
    """A checklist item across the week: the share of its points given (lowest first)."""

    checklist: str
    item: str
    given: int
    possible: int

    @property
    def share(self) -> float:
        return self.given / self.possible if self.possible else 1.0


@dataclass(frozen=True)
class WeekScores:
    reps: list[ScoreLine]
    teams: list[ScoreLine]
    worst_items: list[ItemLine]


def _lines(groups: dict[tuple[int | None, str], list[tuple[int, bool]]]) -> list[ScoreLine]:
    lines = [
        ScoreLine(
            key,
            name,
            len(values),
            round(sum(t for t, _ in values) / len(values), 1),
            sum(1 for _, p in values if p),
        )
        for (key, name), values in groups.items()
    ]
    return sorted(lines, key=lambda line: (line.average, line.name))


def week_scores(session: Session, actor: Actor, day: date) -> WeekScores:
    """Scores of the reviews scored in the company-time week holding `day` that the viewer
    reaches (QA inspectors, deciders and dashboard readers), lowest average first."""
    if not (actor.can(Permission.QA_DECIDE) or actor.can(Permission.VIEW_DASHBOARDS)):
        actor.require(Permission.QA_INSPECT)
    since, until = week_bounds(session, day)
    rows = session.exec(
        select(
            QaReview.rep_id,
            Author.full_name,
            Author.org_unit_id,
            OrgUnit.name,
            QaReview.total,
            QaReview.passed,
            QaReview.checklist_id,
            QaReview.scores,
        )
        .join(FollowUp, FollowUp.id == QaReview.follow_up_id)
        .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
        .outerjoin(Author, Author.id == FollowUp.author_id)
        .outerjoin(OrgUnit, OrgUnit.id == Author.org_unit_id)
        .where(
            col(QaReview.total).is_not(None),
            col(QaReview.scored_at) >= since,
            col(QaReview.scored_at) < until,
            follow_up_reach(actor, Opportunity.org_unit_id, Author.org_unit_id),
        )
    ).all()
    reps: dict[tuple[int | None, str], list[tuple[int, bool]]] = defaultdict(list)
    teams: dict[tuple[int | None, str], list[tuple[int, bool]]] = defaultdict(list)
    given: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    checklist_ids = {row[6] for row in rows if row[6] is not None}
    checklists = {
        c.id: c
        for c in session.exec(
            select(QaChecklist).where(col(QaChecklist.id).in_(sorted(checklist_ids)))
        ).all()
    }
    for rep_id, rep_name, unit_id, unit_name, total, passed, checklist_id, scores in rows:
        reps[(rep_id, rep_name or "")].append((total, bool(passed)))
        teams[(unit_id, unit_name or "")].append((total, bool(passed)))
        checklist = checklists.get(checklist_id)
        for item in checklist.items if checklist else []:
            points = (scores or {}).get(item["code"])
            if points is not None:
                tally = given[(checklist_id, item["code"])]
                tally[0] += int(points)
                tally[1] += int(item["weight"])
    items = []
    for (checklist_id, code), (points, possible) in given.items():
        checklist = checklists[checklist_id]
        label = next(i["label"] for i in checklist.items if i["code"] == code)
        items.append(ItemLine(checklist.name, label, points, possible))
    items.sort(key=lambda line: (line.share, line.checklist, line.item))
    return WeekScores(_lines(reps), _lines(teams), items[:WORST_ITEMS])
