"""Rows a lead file brought in before: importing the same file twice adds nothing.

A row is the same record again when its person is a stored lead (by external id, else by
phone) that already holds an opportunity on one of the row's business lines created at the
row's own created date: the opportunity is as old as the row that opened it, so the pair
names the row. An undated row that closes (won or lost) is the same record again when that
lead already holds an opportunity on the line closed the same way. Such a row is skipped
whole - no new opportunity, no inquiry logged on the open one. Other undated rows keep the
intake's rule (a known person's inquiry is logged on the opportunity its owner has)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import exists, func
from sqlmodel import Session, select

from crm_core.imports.leads.rows import CLOSED_STAGES, RowOutcome
from crm_core.leads.intake import LeadInput
from crm_core.leads.intake.matching import chunks, contact_key
from crm_core.leads.phones import normalise_phone
from crm_core.models import FlowEvent, Lead, Opportunity
from crm_core.platform.metadata import list_business_lines

FROM_IMPORT = "import"  # the mark of an undated open row: a lead import opened it before


def _opened(session: Session, column, keys: Iterable[str], prefix: str = "") -> set[tuple]:
    """(key, line id, created at), (key, line id, stage) and, for one a lead import opened,
    (key, line id, FROM_IMPORT) of every opportunity of the stored leads with those keys."""
    found: set[tuple] = set()
    by_import = exists().where(
        FlowEvent.opportunity_id == Opportunity.id,
        FlowEvent.reason == "intake",
        FlowEvent.note == "import",
    )
    for chunk in chunks(keys):
        query = (
            select(
                column,
                Opportunity.business_line_id,
                Opportunity.created_at,
                Opportunity.stage,
                by_import,
            )
            .join(Opportunity, Opportunity.lead_id == Lead.id)
            .where(column.in_(chunk))
        )
        for key, line, at, stage, imported in session.exec(query).all():
            key = f"{prefix}{key}"
            found.add((key, line, at))
            found.add((key, line, stage))
            if imported:
                found.add((key, line, FROM_IMPORT))
    return found


def _contact(item: LeadInput) -> str | None:
    return contact_key(
        {
            "phone": None,
            "external_id": None,
            "email": (item.email or "").strip() or None,
            "wechat": (item.wechat or "").strip() or None,
        }
    )


def already_imported(
    session: Session,
    inputs: Sequence[LeadInput],
    positions: Iterable[int],
    outcomes: Sequence[RowOutcome | None] = (),
) -> set[int]:
    """The positions (of `positions`) whose row was imported before; see the module."""

    def mark(i: int):
        if inputs[i].created_at is not None:
            return inputs[i].created_at
        said = outcomes[i] if outcomes else None
        return said.stage if said is not None and said.stage in CLOSED_STAGES else FROM_IMPORT

    marked = {i: m for i in positions if (m := mark(i)) is not None}
    if not marked:
        return set()
    line_ids = {line.code: line.id for line in list_business_lines(session, active_only=False)}
    by_ext = {i: (inputs[i].external_id or "").strip() for i in marked}
    by_phone = {
        i: normalise_phone(str(inputs[i].phone))
        for i in marked
        if not by_ext[i] and inputs[i].phone
    }
    by_contact = {
        i: key
        for i in marked
        if not by_ext[i] and not by_phone.get(i) and (key := _contact(inputs[i]))
    }
    opened = _opened(session, Lead.external_id, {k for k in by_ext.values() if k})
    opened |= _opened(session, Lead.phone, {p for p in by_phone.values() if p})
    emails = {k for k in by_contact.values() if not k.startswith("wechat:")}
    wechats = {k[len("wechat:") :] for k in by_contact.values() if k.startswith("wechat:")}
    opened |= _opened(session, func.lower(func.trim(Lead.email)), emails)
    opened |= _opened(session, Lead.wechat, wechats, "wechat:")
    if not opened:
        return set()
    repeats = set()
    for i, seen in marked.items():
        key = by_ext[i] or by_phone.get(i) or by_contact.get(i)
        if not key:
            continue
        for code in inputs[i].business_line_codes or ():
            line = line_ids.get(str(code).strip().lower())
            if (key, line, seen) in opened:
                repeats.add(i)
                break
    return repeats
