"""Merging two leads of the same person into one (合并名片).

The kept lead takes over the merged lead's opportunities, tags and whatever contact fields it
lacks; the merged lead stays as a row pointing at the kept one (`merged_into_id`) so its
history keeps its meaning, and it leaves every search and card.

Opportunities: a lead holds one open opportunity per business line, so an open opportunity
of the merged lead on a line where the kept lead already has one is closed as a duplicate
(`lost_reason='merged'`, with a flow event) before it moves; every other opportunity moves
as it is - owner, stage and follow-ups unchanged, since nothing about who works it changed.

Custom fields: the kept lead takes the merged lead's value of every field it has none of
(all codes of a several-choices field together); where both hold a value, the kept lead's
stands - for several choices too, no union, so a value someone set on the kept lead is never
widened behind their back. The values the kept lead did not take stay on the merged lead's
row with the rest of its history (merged leads are left out of every filter and count).

Phone and external id: they move only when the kept lead has none. Otherwise the merged lead
keeps its own number, so that when that number comes in again the intake finds the merged
lead and can follow `merged_into_id` to the surviving one.

Everything is a handful of set-based statements in a savepoint of the caller's transaction:
flushed, committed by the caller, and undone on any error (the caller's earlier work stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, insert, literal, null, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm_core.leads.masking import CONTACT_FIELDS, mask_contact, mask_phone
from crm_core.leads.phones import phone_suffix
from crm_core.models import FlowEvent, Lead, LeadFieldValue, LeadTag, Opportunity
from crm_core.org.access import lead_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

# Fields the kept lead takes from the merged lead when its own is empty.
FILLED_FIELDS: tuple[str, ...] = (
    "email",
    "wechat",
    "qq",
    "region",
    "city",
    "campaign",
    "landing_page",
    "keyword",
    "customer_id",
)
MERGE_REASON = "merge"
MERGED_LOST_REASON = "merged"


@dataclass(frozen=True)
class MergeResult:
    """What a merge did. `moved_opportunities` counts every opportunity now on the kept lead
    that was on the merged one; `closed_duplicates` is how many of them were closed because
    the kept lead already had an open opportunity on their line."""

    kept_id: int
    merged_id: int
    moved_opportunities: int
    closed_duplicates: int
    moved_tags: int
    moved_fields: int = 0  # custom fields whose values the kept lead took


def _load_pair(session: Session, actor: Actor, keep_id: int, merge_id: int) -> tuple[Lead, Lead]:
    """Both leads, locked in id order (PostgreSQL) so two merges of the same leads queue
    up instead of interleaving; re-read so the lock sees their current state."""
    leads = {
        lead.id: lead
        for lead in session.exec(
            select(Lead)
            .where(
                col(Lead.id).in_([keep_id, merge_id]),
                lead_scope(actor, per_lead=True, shared=False),
            )
            .order_by(Lead.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    }
    for lead_id in (keep_id, merge_id):
        if lead_id not in leads:
            raise NotFound(entity="lead", id=lead_id)
    for lead_id in (keep_id, merge_id):
        if leads[lead_id].merged_into_id is not None:
            raise ValidationError(
                N_("Lead #{lead_id} was already merged into another lead."), lead_id=lead_id
            )
    return leads[keep_id], leads[merge_id]


def _close_duplicates(session: Session, actor: Actor, keep: Lead, merge: Lead, now) -> int:
    """Close the merged lead's open opportunities on lines the kept lead has open, each with
    a flow event; return how many were closed."""
    kept = aliased(Opportunity)
    duplicate = (
        Opportunity.lead_id == merge.id,
        Opportunity.pool_state != "closed",
        exists().where(
            kept.lead_id == keep.id,
            kept.business_line_id == Opportunity.business_line_id,
            kept.pool_state != "closed",
        ),
    )
    events = select(
        Opportunity.id,
        literal(now),
        Opportunity.owner_id,
        Opportunity.owner_id,
        Opportunity.pool_state,
        literal("closed"),
        literal(MERGE_REASON),
        literal(actor.user_id) if actor.user_id else null(),
        literal(f"merged into lead #{keep.id}"),
    ).where(*duplicate)
    # Events first: they record the state each opportunity is leaving.
    session.exec(
        insert(FlowEvent).from_select(
            [
                "opportunity_id",
                "at",
                "from_owner_id",
                "to_owner_id",
                "from_state",
                "to_state",
                "reason",
                "actor_id",
                "note",
            ],
            events,
        )
    )
    closed = session.exec(
        update(Opportunity)
        .where(*duplicate)
        .values(pool_state="closed", closed_at=now, lost_reason=MERGED_LOST_REASON)
        .execution_options(synchronize_session=False)
    )
    return closed.rowcount


def _move_opportunities(session: Session, keep: Lead, merge: Lead) -> int:
    """Hand every opportunity of the merged lead to the kept lead. Runs after the duplicates
    are closed, so no line ends up with two open opportunities."""
    moved = session.exec(
        update(Opportunity)
        .where(Opportunity.lead_id == merge.id)
        .values(lead_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount


def _union_tags(session: Session, keep: Lead, merge: Lead) -> int:
    """Add the merged lead's tags the kept lead lacks; return how many were added."""
    held = aliased(LeadTag)
    # SQLAlchemy keeps the row count of an INSERT only when asked (PostgreSQL gives -1).
    added = session.execute(
        insert(LeadTag)
        .execution_options(preserve_rowcount=True)
        .from_select(
            ["lead_id", "tag"],
            select(literal(keep.id), LeadTag.tag).where(
                LeadTag.lead_id == merge.id,
                ~exists().where(and_(held.lead_id == keep.id, held.tag == LeadTag.tag)),
            ),
        )
    )
    return added.rowcount


def _take_field_values(session: Session, keep: Lead, merge: Lead) -> list[int]:
    """Move the merged lead's custom-field values to the kept lead for every field the kept
    lead holds no value of; return those fields' ids. Two statements: the fields first, so
    that a several-choices field moves whole (an UPDATE checking "the kept lead has none"
    row by row would stop after its first code on SQLite)."""
    kept = aliased(LeadFieldValue)
    fields = list(
        session.exec(
            select(LeadFieldValue.field_id)
            .where(
                LeadFieldValue.lead_id == merge.id,
                ~exists().where(kept.lead_id == keep.id, kept.field_id == LeadFieldValue.field_id),
            )
            .distinct()
            .order_by(LeadFieldValue.field_id)
        )
    )
    if fields:
        session.exec(
            update(LeadFieldValue)
            .where(LeadFieldValue.lead_id == merge.id, col(LeadFieldValue.field_id).in_(fields))
            .values(lead_id=keep.id)
            .execution_options(synchronize_session=False)
        )
    return fields


def _fill_fields(keep: Lead, merge: Lead) -> dict[str, Any]:
    """Give the kept lead the merged lead's value of each field it has empty; return what
    was filled (contact values masked, for the audit entry)."""
    filled: dict[str, Any] = {}
    for field in FILLED_FIELDS:
        theirs = getattr(merge, field)
        if getattr(keep, field) in (None, "") and theirs not in (None, ""):
            setattr(keep, field, theirs)
            filled[field] = mask_contact(field, theirs) if field in CONTACT_FIELDS else theirs
    return filled


def _move_identity(session: Session, keep: Lead, merge: Lead) -> dict[str, str]:
    """Move the phone and the external id to the kept lead where it has none; return what
    moved (phone masked, for the audit entry)."""
    moved: dict[str, str] = {}
    phone = merge.phone if keep.phone is None else None
    external_id = merge.external_id if keep.external_id is None else None
    if phone is None and external_id is None:
        return moved
    if phone is not None:
        merge.phone, merge.phone_suffix, merge.no_phone = None, None, True
    if external_id is not None:
        merge.external_id = None
    session.add(merge)
    # Both columns are unique: the merged lead must let go before the kept lead takes hold.
    session.flush()
    if phone is not None:
        keep.phone, keep.phone_suffix, keep.no_phone = phone, phone_suffix(phone), False
        moved["phone"] = mask_phone(phone)
    if external_id is not None:
        keep.external_id = external_id
        moved["external_id"] = external_id
    return moved


def _identity(lead: Lead) -> dict[str, Any]:
    return {"id": lead.id, "phone": mask_phone(lead.phone) or None, "external_id": lead.external_id}


def merge_leads(session: Session, actor: Actor, keep_id: int, merge_id: int) -> MergeResult:
    """Merge lead `merge_id` into lead `keep_id` (see the module docstring); requires
    merge_leads and both leads in the actor's scope. Flushes; the caller commits.

    Raises NotFound for a lead outside the scope, ValidationError for merging a lead into
    itself or a lead that was already merged; then nothing is changed.
    """
    actor.require(Permission.MERGE_LEADS)
    if keep_id == merge_id:
        raise ValidationError(N_("A lead cannot be merged into itself."))
    try:
        # A savepoint: an error undoes the merge only, not the caller's earlier work.
        with savepoint(session):
            keep, merge = _load_pair(session, actor, keep_id, merge_id)
            now = clock.now()
            before = {"kept": _identity(keep), "merged": _identity(merge)}
            closed = _close_duplicates(session, actor, keep, merge, now)
            moved = _move_opportunities(session, keep, merge)
            tags = _union_tags(session, keep, merge)
            filled = _fill_fields(keep, merge)
            taken_fields = _take_field_values(session, keep, merge)
            identity = _move_identity(session, keep, merge)
            # Flatten: whatever pointed at the merged lead now points straight at the kept one.
            repointed = list(
                session.exec(
                    select(Lead.id).where(Lead.merged_into_id == merge.id).order_by(Lead.id)
                )
            )
            if repointed:
                session.exec(
                    update(Lead)
                    .where(Lead.merged_into_id == merge.id)
                    .values(merged_into_id=keep.id, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
            merge.merged_into_id = keep.id
            merge.updated_at = now
            keep.updated_at = now
            session.add_all([keep, merge])
            after = {
                "kept_id": keep.id,
                "merged_id": merge.id,
                "moved_opportunities": moved,
                "closed_duplicates": closed,
                "moved_tags": tags,
                "filled": filled,
                "moved_field_ids": taken_fields,
                "moved": identity,
                "repointed_lead_ids": repointed,
            }
            audit.record(session, actor, "lead.merge", "lead", keep.id, before, after)
            session.flush()
    except IntegrityError as error:
        # A concurrent intake or edit took the phone / external id being moved.
        raise ValidationError(
            N_("Someone changed the same data at the same moment; please try again.")
        ) from error
    return MergeResult(keep_id, merge_id, moved, closed, tags, len(taken_fields))
