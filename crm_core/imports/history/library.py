"""The people a history file names who are already in the lead library, and the
opportunities a closed-deal row may close instead of adding a second one.

A row is the same person as a stored lead when the lead's external id equals the row's
lead id, or its phone (E.164, as the lead library stores it) or e-mail (case and spaces
aside) equals the row's, in that order. Such a lead may hold an open opportunity in the
row's business line; when that opportunity came from an import (the lead import's
intake, or an earlier history import) and has no history of its own - still `new`, never
followed up, nothing paid, no stage but its first - the row is written onto it, so the
funnel counts one opportunity per person. Otherwise a closed row adds a closed opportunity
beside it and an open row is refused (one open opportunity per lead and line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from crm_core.leads.phones import normalise_phone
from crm_core.models import FlowEvent, Lead, Opportunity, SalesOrder, StageHistory

_CHUNK = 2000


def email_key(text: str | None) -> str | None:
    """An e-mail as the lead library compares it: trimmed, case-folded."""
    text = (text or "").strip().casefold()
    return text or None


def phone_key(text: str | None) -> str | None:
    """A phone as the lead library stores it (E.164), or None when it is no phone."""
    return normalise_phone(text) if text else None


@dataclass(frozen=True)
class OpenOpportunity:
    """A stored lead's open opportunity in the import's line; `created_at` is the earlier
    of its own and its lead's creation (a lead import's first-contact date)."""

    id: int
    created_at: datetime
    adoptable: bool


@dataclass
class LibraryMatches:
    """What of the file is in the lead library already."""

    by_external_id: dict[str, int] = field(default_factory=dict)
    by_phone: dict[str, int] = field(default_factory=dict)
    by_email: dict[str, int] = field(default_factory=dict)
    # (lead id, business line id) -> the lead's open opportunity in that line
    open_in_line: dict[tuple[int, int], OpenOpportunity] = field(default_factory=dict)

    def lead_of(self, external_id: str | None, phone: str | None, email: str | None) -> int | None:
        """The stored lead a row's person is, or None."""
        for found, key in (
            (self.by_external_id, external_id),
            (self.by_phone, phone),
            (self.by_email, email),
        ):
            if key and key in found:
                return found[key]
        return None


def _chunks(values: set[str]):
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def match_library(
    session: Session,
    business_line_ids: set[int],
    external_ids: set[str],
    phones: set[str],
    emails: set[str],
) -> LibraryMatches:
    """The stored leads of these ids, phones and e-mails (merged leads left out: their
    ids and phones moved to the lead they were merged into), and their open opportunities
    in the file's lines - a few chunked queries, whatever the file's size."""
    found = LibraryMatches()
    live = col(Lead.merged_into_id).is_(None)
    for chunk in _chunks(external_ids):
        query = select(Lead.external_id, Lead.id).where(live, col(Lead.external_id).in_(chunk))
        found.by_external_id.update(session.exec(query).all())
    for chunk in _chunks(phones):
        query = select(Lead.phone, Lead.id).where(live, col(Lead.phone).in_(chunk))
        found.by_phone.update(session.exec(query).all())
    for chunk in _chunks(emails):
        key = func.lower(func.trim(Lead.email))
        query = select(key, func.min(Lead.id)).where(live, key.in_(chunk)).group_by(key)
        found.by_email.update(session.exec(query).all())
    leads = {*found.by_external_id.values(), *found.by_phone.values(), *found.by_email.values()}
    if leads:
        found.open_in_line = _open_opportunities(session, business_line_ids, leads)
    return found


def _open_opportunities(
    session: Session, business_line_ids: set[int], leads: set[int]
) -> dict[tuple[int, int], OpenOpportunity]:
    o = Opportunity
    from_import = or_(
        col(o.history_import_id).is_not(None),
        exists().where(
            FlowEvent.opportunity_id == o.id,
            FlowEvent.reason == "intake",
            FlowEvent.note == "import",
        ),
    )
    untouched = and_(
        o.stage == "new",
        col(o.first_follow_up_at).is_(None),
        ~exists().where(SalesOrder.opportunity_id == o.id),
        select(func.count())
        .select_from(StageHistory)
        .where(StageHistory.opportunity_id == o.id)
        .scalar_subquery()
        <= 1,
    )
    found: dict[tuple[int, int], OpenOpportunity] = {}
    ids = {str(i) for i in leads}
    for chunk in _chunks(ids):
        query = (
            select(
                o.lead_id,
                o.business_line_id,
                o.id,
                o.created_at,
                Lead.created_at,
                and_(from_import, untouched),
            )
            .join(Lead, Lead.id == o.lead_id)
            .where(
                col(o.lead_id).in_([int(i) for i in chunk]),
                col(o.business_line_id).in_(business_line_ids),
                o.pool_state != "closed",
            )
        )
        for lead_id, line_id, opportunity_id, opened, first_contact, adoptable in session.exec(
            query
        ):
            # An imported lead's opportunity may carry the import's day while the lead
            # carries the source's first contact: the person's start is the earlier one.
            start = min(opened, first_contact)
            found[(lead_id, line_id)] = OpenOpportunity(opportunity_id, start, bool(adoptable))
    return found
