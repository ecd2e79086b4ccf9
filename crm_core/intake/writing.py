"""Writing a planned batch: leads, opportunities with their first stage and flow event,
tags, customer links and the notes on collisions - bulk statements in chunks, so the
progress callback can follow a long import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from crm_core.access import Actor
from crm_core.i18n import translate
from crm_core.intake.inputs import IntakeOutcome
from crm_core.intake.matching import CHUNK, Person, Plan, chunks, leads_by
from crm_core.models import Customer, FlowEvent, FollowUp, Lead, LeadTag, Opportunity, StageHistory

Progress = Callable[[float], None]


def _insert(session: Session, table, rows: list[dict], progress: Progress | None, span) -> None:
    """Insert `rows` in chunks, reporting progress from span[0] to span[1]."""
    start, stop = span
    for offset in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[offset : offset + CHUNK])
        if progress is not None:
            progress(start + (stop - start) * min(1.0, (offset + CHUNK) / len(rows)))


def _customers_by_phone(session: Session, phones: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(phones):
        for customer_id, phone in session.exec(
            select(Customer.id, Customer.phone).where(col(Customer.phone).in_(chunk))
        ).all():
            found.setdefault(phone, customer_id)
    return found


def write_batch(
    session: Session,
    actor: Actor,
    now: datetime,
    source: str,
    plan: Plan,
    inputs: list,
    outcomes: list[IntakeOutcome | None],
    *,
    keep_for_self: bool,
    progress: Progress | None,
) -> None:
    """Write `plan` and fill the outcomes' lead and opportunity ids. Flushes, no commit."""
    people = plan.people

    # Stored leads that gain a phone or an external id.
    for person in people:
        if person.lead_id is not None and person.fill:
            session.execute(update(Lead).where(Lead.id == person.lead_id).values(**person.fill))

    new_people = [p for p in people if p.lead_id is None]
    if new_people:
        customers = _customers_by_phone(session, [p.phone for p in new_people if p.phone])
        for person in new_people:
            person.values["customer_id"] = customers.get(person.phone) if person.phone else None
        _insert(session, Lead, [p.values for p in new_people], progress, (0.45, 0.7))
        ids_by_phone = leads_by(session, Lead.phone, (p.phone for p in new_people if p.phone))
        ids_by_ext = leads_by(
            session, Lead.external_id, (p.external_id for p in new_people if not p.phone)
        )
        for p in new_people:
            p.lead_id = (ids_by_phone[p.phone] if p.phone else ids_by_ext[p.external_id]).lead_id

    if plan.new_opportunities:
        _open(session, actor, now, source, plan, outcomes, keep_for_self, progress)
    _tag(session, people)
    _log_touches(session, actor, now, source, plan)
    for index, person in plan.person_of.items():
        outcomes[index].lead_id = person.lead_id
    session.flush()
    if progress is not None:
        progress(1.0)


def _open(session, actor, now, source, plan, outcomes, keep_for_self, progress) -> None:
    """The new opportunities, each with its first stage and its flow event."""
    owner_id = actor.user_id if keep_for_self else None
    unit_id = actor.org_unit_id if keep_for_self else None
    state = "owned" if keep_for_self else "unassigned"
    rows = [
        {
            "lead_id": person.lead_id, "business_line_id": line_id, "pipeline_type": "new",
            "stage": "new", "pool_state": state, "owner_id": owner_id, "org_unit_id": unit_id,
            "assigned_at": now if keep_for_self else None, "stage_changed_at": now,
            "locked": False, "recycle_count": 0, "created_at": now,
        }
        for person, line_id, _ in plan.new_opportunities
    ]  # fmt: skip
    _insert(session, Opportunity, rows, progress, (0.7, 0.85))
    opp_ids: dict[tuple[int, int], int] = {}
    for chunk in chunks(person.lead_id for person, _, _ in plan.new_opportunities):
        for opp_id, lead_id, line_id in session.exec(
            select(Opportunity.id, Opportunity.lead_id, Opportunity.business_line_id).where(
                col(Opportunity.lead_id).in_(chunk), Opportunity.pool_state != "closed"
            )
        ).all():
            opp_ids[(lead_id, line_id)] = opp_id
    new_ids = [opp_ids[(person.lead_id, line_id)] for person, line_id, _ in plan.new_opportunities]
    stages = [
        {"opportunity_id": opp_id, "from_stage": None, "to_stage": "new", "changed_at": now,
         "actor_id": actor.user_id}
        for opp_id in new_ids
    ]  # fmt: skip
    _insert(session, StageHistory, stages, progress, (0.85, 0.92))
    flows = [
        {"opportunity_id": opp_id, "at": now, "from_state": None, "to_state": state,
         "to_owner_id": owner_id, "reason": "intake", "actor_id": actor.user_id,
         "note": source[:400]}
        for opp_id in new_ids
    ]  # fmt: skip
    _insert(session, FlowEvent, flows, progress, (0.92, 0.99))
    for (_, _, index), opp_id in zip(plan.new_opportunities, new_ids, strict=True):
        outcomes[index].opportunity_ids.append(opp_id)


def _tag(session: Session, people: list[Person]) -> None:
    """The inputs' tags on their leads, skipping tags a stored lead already has."""
    wanted = {(p.lead_id, tag) for p in people for tag in p.tags}
    if not wanted:
        return
    stored_ids = [p.lead_id for p in people if p.tags and p.values is None]
    for chunk in chunks(stored_ids):
        wanted -= set(
            session.exec(
                select(LeadTag.lead_id, LeadTag.tag).where(col(LeadTag.lead_id).in_(chunk))
            ).all()
        )
    if wanted:
        session.execute(
            insert(LeadTag), [{"lead_id": lead_id, "tag": tag} for lead_id, tag in sorted(wanted)]
        )


def _log_touches(session: Session, actor: Actor, now: datetime, source: str, plan: Plan) -> None:
    """The touch on an opportunity someone already has: a note in its reader's language."""
    if not plan.touches:
        return
    session.execute(
        insert(FollowUp),
        [
            {
                "opportunity_id": opp.opportunity_id,
                "author_id": actor.user_id,
                "channel": "note",
                "content": translate(
                    "leads.followup.new_inquiry",
                    opp.owner_language or actor.language,
                    channel=(item.channel or "").strip().lower(),
                    campaign=(item.campaign or "").strip() or "-",
                    source=source,
                ),
                "created_at": now,
            }
            for _, opp, item in plan.touches
        ],
    )
