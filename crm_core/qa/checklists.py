"""Checklist templates (质检模板): weighted items and a pass mark. A checklist is not edited
once made, so every past score keeps the items it was given on; a new version is a new
checklist and the old one is retired."""

from __future__ import annotations

from sqlmodel import Session, col, select

from crm_core.models import QaChecklist, QaPlan
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import list_options
from crm_core.platform.permissions import Permission

MAX_ITEMS = 30
VIOLATION_CATEGORY = "qa_violation"


def create_checklist(
    session: Session,
    actor: Actor,
    *,
    name: str,
    items: list[tuple[str, int]],
    pass_mark: int,
) -> QaChecklist:
    """A new checklist of (label, weight) items; the pass mark is out of the weights' sum."""
    actor.require(Permission.QA_INSPECT)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(N_("A checklist needs a name."))
    if session.exec(select(QaChecklist.id).where(QaChecklist.name == name)).first():
        raise ValidationError(N_("There is already a checklist called {name}."), name=name)
    rows = [(" ".join((label or "").split()), weight) for label, weight in items]
    rows = [(label, weight) for label, weight in rows if label]
    if not rows:
        raise ValidationError(N_("A checklist needs at least one item."))
    if len(rows) > MAX_ITEMS:
        raise ValidationError(N_("A checklist holds at most {limit} items."), limit=MAX_ITEMS)
    for label, weight in rows:
        if not isinstance(weight, int) or weight <= 0:
            raise ValidationError(
                N_("The weight of “{item}” must be a whole number above 0."), item=label
            )
    total = sum(weight for _, weight in rows)
    if not 0 <= pass_mark <= total:
        raise ValidationError(N_("The pass mark must be between 0 and {total}."), total=total)
    checklist = QaChecklist(
        name=name,
        items=[
            {"code": str(n), "label": label, "weight": weight}
            for n, (label, weight) in enumerate(rows, start=1)
        ],
        pass_mark=pass_mark,
        created_by_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(checklist)
    session.flush()
    audit.record(session, actor, "qa_checklist.create", "qa_checklist", checklist.id, None, name)
    return checklist


def set_checklist_active(session: Session, actor: Actor, checklist_id: int, active: bool) -> None:
    """Retire a checklist (no new plan or score on it; the scores given on it keep it) or
    bring it back. A checklist that a running sampling plan uses is not retired: the plan
    is paused first, so the weekly run never queues follow-ups on a retired checklist."""
    actor.require(Permission.QA_INSPECT)
    checklist = session.get(QaChecklist, checklist_id)
    if checklist is None:
        raise NotFound(entity="qa_checklist", id=checklist_id)
    if checklist.active == active:
        return
    if not active:
        running = session.exec(
            select(QaPlan.name)
            .where(QaPlan.checklist_id == checklist_id, col(QaPlan.active).is_(True))
            .order_by(QaPlan.name)
        ).all()
        if running:
            raise ValidationError(
                N_("Pause the sampling plans that use this checklist first: {plans}."),
                plans=", ".join(running),
            )
    checklist.active = active
    session.add(checklist)
    audit.record(
        session, actor, "qa_checklist.active", "qa_checklist", checklist_id, not active, active
    )
    session.flush()


def require_active(checklist: QaChecklist) -> None:
    """New scores are given on checklists in use only."""
    if not checklist.active:
        raise ValidationError(
            N_("The checklist {name} is retired: choose one in use."), name=checklist.name
        )


def list_checklists(
    session: Session, actor: Actor, *, active_only: bool = False
) -> list[QaChecklist]:
    """The company's checklists, by name (QA inspectors and deciders)."""
    if not actor.can(Permission.QA_DECIDE):
        actor.require(Permission.QA_INSPECT)
    query = select(QaChecklist).order_by(QaChecklist.name)
    if active_only:
        query = query.where(col(QaChecklist.active).is_(True))
    return list(session.exec(query).all())


def full_marks(checklist: QaChecklist) -> int:
    """The most a follow-up can score on `checklist`."""
    return sum(int(item["weight"]) for item in checklist.items)


def violation_codes(session: Session) -> list[str]:
    """The active violation tags (an option list the administrators edit)."""
    return [option.code for option in list_options(session, VIOLATION_CATEGORY)]


def check_scores(checklist: QaChecklist, scores: dict[str, int]) -> dict[str, int]:
    """The scores of every item of `checklist`, each between 0 and its weight."""
    checked: dict[str, int] = {}
    for item in checklist.items:
        points = scores.get(item["code"])
        if points is None:
            raise ValidationError(N_("Score the item “{item}”."), item=item["label"])
        if not 0 <= int(points) <= int(item["weight"]):
            raise ValidationError(
                N_("“{item}” scores between 0 and {weight}."),
                item=item["label"],
                weight=item["weight"],
            )
        checked[item["code"]] = int(points)
    return checked
