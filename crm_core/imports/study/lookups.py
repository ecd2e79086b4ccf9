"""What checking a study activity file reads from the database, in chunks: the leads the
file's phones and customer ids name (within the actor's scope), and the stored rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from crm_core.imports.customers.spec import chunks
from crm_core.models import Customer, Lead, LearningActivity
from crm_core.org.access import lead_scope
from crm_core.platform.actor import Actor

_MERGE_HOPS = 5  # a lead merged into one that was merged again: follow a few hops


@dataclass(frozen=True)
class PersonLead:
    """The lead a row names; `customer_id` is what the row stores with it."""

    lead_id: int
    name: str
    phone: str | None
    customer_id: int | None


def _surviving(session: Session, lead_ids: Iterable[int]) -> dict[int, int]:
    """lead id -> the lead it lives on as (itself, or where merges took it)."""
    target = {i: i for i in lead_ids}
    for _ in range(_MERGE_HOPS):
        merged: dict[int, int] = {}
        for chunk in chunks(set(target.values())):
            merged.update(
                session.exec(
                    select(Lead.id, Lead.merged_into_id).where(
                        col(Lead.id).in_(chunk), col(Lead.merged_into_id).is_not(None)
                    )
                ).all()
            )
        if not merged:
            break
        target = {i: merged.get(t, t) for i, t in target.items()}
    return target


def _reachable(session: Session, actor: Actor, lead_ids: Iterable[int]) -> dict[int, PersonLead]:
    """The leads among `lead_ids` in the actor's scope."""
    found: dict[int, PersonLead] = {}
    for chunk in chunks(lead_ids):
        for lead_id, name, phone, customer_id in session.exec(
            select(Lead.id, Lead.name, Lead.phone, Lead.customer_id).where(
                col(Lead.id).in_(chunk), lead_scope(actor, per_lead=True)
            )
        ).all():
            found[lead_id] = PersonLead(lead_id, name, phone, customer_id)
    return found


def leads_by_phone(session: Session, actor: Actor, phones: Iterable[str]) -> dict[str, PersonLead]:
    """E.164 phone -> the lead in the actor's scope with that number (followed to the lead
    it was merged into); phones of no reachable lead are left out."""
    holder: dict[str, int] = {}
    for chunk in chunks(phones):
        holder.update(
            {
                phone: lead_id
                for phone, lead_id in session.exec(
                    select(Lead.phone, Lead.id).where(col(Lead.phone).in_(chunk))
                ).all()
            }
        )
    living = _surviving(session, holder.values())
    reach = _reachable(session, actor, set(living.values()))
    return {p: reach[living[i]] for p, i in holder.items() if living[i] in reach}


def leads_by_customer(
    session: Session, actor: Actor, platform_ids: Iterable[str]
) -> dict[str, PersonLead | None]:
    """Platform user id -> the lead of that customer in the actor's scope (the oldest if
    several), or None when the customer exists but no such lead is linked to it; unknown
    ids are left out. The lead carries the customer's id."""
    customers: dict[str, int] = {}
    for chunk in chunks(platform_ids):
        customers.update(
            session.exec(
                select(Customer.platform_user_id, Customer.id).where(
                    col(Customer.platform_user_id).in_(chunk)
                )
            ).all()
        )
    linked: dict[int, list[int]] = {}
    for chunk in chunks(customers.values()):
        for lead_id, customer_id in session.exec(
            select(Lead.id, Lead.customer_id).where(
                col(Lead.customer_id).in_(chunk), col(Lead.merged_into_id).is_(None)
            )
        ).all():
            linked.setdefault(customer_id, []).append(lead_id)
    reach = _reachable(session, actor, {i for ids in linked.values() for i in ids})
    out: dict[str, PersonLead | None] = {}
    for platform_id, customer_id in customers.items():
        leads = sorted(i for i in linked.get(customer_id, ()) if i in reach)
        lead = reach[leads[0]] if leads else None
        out[platform_id] = (
            PersonLead(lead.lead_id, lead.name, lead.phone, customer_id) if lead else None
        )
    return out


def stored_activity(
    session: Session, lead_ids: Iterable[int]
) -> dict[tuple[int, str], tuple[int | None, int, date | None]]:
    """(lead id, course) -> (customer id, progress, last studied) of the stored rows."""
    a = LearningActivity
    found: dict[tuple[int, str], tuple[int | None, int, date | None]] = {}
    for chunk in chunks(lead_ids):
        for lead_id, course, customer_id, progress, studied in session.exec(
            select(a.lead_id, a.course, a.customer_id, a.progress_pct, a.last_studied_on).where(
                col(a.lead_id).in_(chunk)
            )
        ).all():
            found[(lead_id, course)] = (customer_id, progress, studied)
    return found
