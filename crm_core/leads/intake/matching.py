"""Who is who in a batch: the people behind the inputs (known leads or new ones), the
opportunities to open and the touches to log. Reads only; a handful of queries per batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.leads.intake.inputs import (
    ADDED_LINE,
    COLLISION,
    CREATED,
    DUPLICATE,
    Clean,
    Collision,
    IntakeOutcome,
    LeadInput,
    text,
)
from crm_core.leads.phones import phone_suffix
from crm_core.models import BusinessLine, Lead, Opportunity, User
from crm_core.platform.bulk import one_of
from crm_core.platform.metadata import fold, list_options

CHUNK = 5000  # keys per IN (...) list, well under SQLite's and PostgreSQL's parameter limits


def chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    """The distinct values, in lists of at most CHUNK."""
    values = list(dict.fromkeys(values))
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def active_channels(session: Session) -> dict[str, str]:
    """How an entrance may name an active channel -> its code: the code in lower case, and
    the code or either label whatever their case or width (`Google`, `谷歌`)."""
    words: dict[str, str] = {}
    for option in list_options(session, "channel"):
        for word in (option.label_zh, option.label_en, option.code):
            words[fold(word)] = option.code
        words[option.code.lower()] = option.code
    return words


def lines_of(session: Session, inputs: Sequence[LeadInput]) -> dict[str, BusinessLine]:
    # Rows of one file share their code lists: read each list once.
    lists = {id(item.business_line_codes): item.business_line_codes for item in inputs}
    raw = {code for codes in lists.values() for code in codes or ()}
    wanted = {(text(code) or "").lower() for code in raw}
    wanted.discard("")
    if not wanted:
        return {}
    rows = session.exec(
        select(BusinessLine).where(col(BusinessLine.code).in_(sorted(wanted)), BusinessLine.active)
    ).all()
    return {line.code: line for line in rows}


@dataclass(frozen=True)
class Known:
    """A stored lead found by a key; a merged lead stands for the lead it went into."""

    lead_id: int
    phone: str | None
    external_id: str | None
    merged: bool


def leads_by(session: Session, column, keys: Iterable[str]) -> dict[str, Known]:
    """key -> the stored lead whose `column` is that key."""
    found: dict[str, Known] = {}
    table = Lead.__table__
    key_column = table.c[column.key]
    connection = session.connection()  # Core: a batch of 100,000 keys pays no ORM overhead
    for chunk in chunks(keys):
        query = select(
            table.c.id, table.c.phone, table.c.external_id, table.c.merged_into_id, key_column
        ).where(one_of(session, key_column, chunk))
        for lead_id, phone, external_id, merged_into, key in connection.execute(query):
            if merged_into is not None:
                found[key] = Known(merged_into, phone, external_id, True)
            else:
                found[key] = Known(lead_id, phone, external_id, False)
    return found


@dataclass(slots=True)
class OpenOpportunity:
    opportunity_id: int | None  # None: planned in this batch
    owner_id: int | None
    owner_name: str | None
    owner_language: str | None
    pool_state: str
    touched_by: int | None = None  # index of the batch row that already logged a touch


def open_opportunities(
    session: Session, lead_ids: Iterable[int]
) -> dict[tuple[int, int], OpenOpportunity]:
    """(lead id, line id) -> the open opportunity, with its owner, for stored leads."""
    found: dict[tuple[int, int], OpenOpportunity] = {}
    for chunk in chunks(lead_ids):
        rows = session.exec(
            select(
                Opportunity.id,
                Opportunity.lead_id,
                Opportunity.business_line_id,
                Opportunity.owner_id,
                Opportunity.pool_state,
                User.full_name,
                User.language,
            )
            .join(User, col(User.id) == col(Opportunity.owner_id), isouter=True)
            .where(one_of(session, Opportunity.lead_id, chunk), Opportunity.pool_state != "closed")
        ).all()
        for opp_id, lead_id, line_id, owner_id, state, owner_name, language in rows:
            found[(lead_id, line_id)] = OpenOpportunity(
                opp_id, owner_id, owner_name, language, state
            )
    return found


@dataclass(slots=True)
class Person:
    """One person of the batch: a stored lead (`lead_id`) or a lead to insert."""

    first_index: int
    lead_id: int | None
    phone: str | None
    external_id: str | None
    values: dict[str, Any] | None = None  # columns of a lead to insert
    fill: dict[str, Any] = field(default_factory=dict)  # missing keys to add to a stored lead
    # A person reached through a merged lead: its own keys are unknown here, so none is
    # filled in.
    fixed: bool = False
    tags: list[str] = field(default_factory=list)

    def set(self, **values: Any) -> None:
        if self.values is not None:
            self.values.update(values)
        else:
            self.fill.update(values)


@dataclass
class Plan:
    """What the batch will write."""

    person_of: dict[int, Person]  # input index -> person
    new_opportunities: list[tuple[Person, int, int]]  # (person, line id, input index)
    touches: list[tuple[int, OpenOpportunity, LeadInput]]  # (input index, opportunity, input)

    @property
    def people(self) -> list[Person]:
        return list({id(p): p for p in self.person_of.values()}.values())


def email_key(text: str | None) -> str | None:
    """An e-mail as the lead library compares it: trimmed, case-folded."""
    text = (text or "").strip().casefold()
    return text or None


def contact_key(values: dict[str, Any]) -> str | None:
    """How a lead without a phone and an external id is found again: its e-mail (folded),
    else its WeChat id (`wechat:` before it, so the two never meet)."""
    if values["phone"] or values["external_id"]:
        return None
    email = email_key(values["email"])
    if email:
        return email
    wechat = (values["wechat"] or "").strip()
    return f"wechat:{wechat}" if wechat else None


def leads_by_contact(session: Session, keys: Iterable[str]) -> dict[str, Known]:
    """contact key -> the stored lead with that e-mail or WeChat id (the lowest id)."""
    keys = list(dict.fromkeys(keys))
    emails = [k for k in keys if not k.startswith("wechat:")]
    wechats = [k[len("wechat:") :] for k in keys if k.startswith("wechat:")]
    table = Lead.__table__
    found: dict[str, Known] = {}
    connection = session.connection()
    folded = func.lower(func.trim(table.c.email))
    for column, wanted, prefix in ((folded, emails, ""), (table.c.wechat, wechats, "wechat:")):
        for chunk in chunks(wanted):
            query = (
                select(table.c.id, table.c.phone, table.c.external_id, table.c.merged_into_id)
                .add_columns(column)
                .where(column.in_(chunk))
                .order_by(table.c.id.desc())
            )
            for lead_id, phone, external_id, merged_into, key in connection.execute(query):
                merged = merged_into is not None
                found[f"{prefix}{key}"] = Known(
                    merged_into if merged else lead_id, phone, external_id, merged
                )
    return found


def find_people(
    session: Session, clean: list[Clean], created_by_id: int | None
) -> dict[int, Person]:
    """Input index -> person, matching by phone, else by external id - and a row with
    neither by its e-mail, else its WeChat id - within the batch and against the stored
    leads (through merges); one person per stored lead."""
    stored_by_phone = leads_by(
        session, Lead.phone, (c.values["phone"] for c in clean if c.values["phone"])
    )
    stored_by_ext = leads_by(
        session,
        Lead.external_id,
        (c.values["external_id"] for c in clean if c.values["external_id"]),
    )
    contacts = {c.index: key for c in clean if (key := contact_key(c.values))}
    stored_by_contact = leads_by_contact(session, contacts.values()) if contacts else {}
    by_phone: dict[str, Person] = {}
    by_ext: dict[str, Person] = {}
    by_contact: dict[str, Person] = {}
    by_lead: dict[int, Person] = {}
    person_of: dict[int, Person] = {}
    for row in clean:
        phone, ext = row.values["phone"], row.values["external_id"]
        contact = contacts.get(row.index)
        person = by_phone.get(phone) if phone else None
        if person is None and ext:
            person = by_ext.get(ext)
        if person is None and contact:
            person = by_contact.get(contact)
        if person is None:
            known = (
                (stored_by_phone.get(phone) if phone else None)
                or (stored_by_ext.get(ext) if ext else None)
                or (stored_by_contact.get(contact) if contact else None)
            )
            if known is not None:
                person = by_lead.get(known.lead_id)
                if person is None:
                    person = Person(
                        row.index,
                        known.lead_id,
                        known.phone,
                        known.external_id,
                        fixed=known.merged,
                    )
                    by_lead[known.lead_id] = person
            else:
                row.values["created_by_id"] = created_by_id  # the row's own dict: no copy
                person = Person(row.index, None, phone, ext, values=row.values)
        # Complete a person's missing phone or external id from this row, when free.
        if not person.fixed:
            if (
                phone
                and person.phone is None
                and phone not in by_phone
                and phone not in stored_by_phone
            ):
                person.phone = phone
                person.set(phone=phone, phone_suffix=phone_suffix(phone), no_phone=False)
            if (
                ext
                and person.external_id is None
                and ext not in by_ext
                and ext not in stored_by_ext
            ):
                person.external_id = ext
                person.set(external_id=ext)
        if person.phone:
            by_phone.setdefault(person.phone, person)
        if person.external_id:
            by_ext.setdefault(person.external_id, person)
        if contact:
            by_contact.setdefault(contact, person)
        if row.tags:
            person.tags.extend(tag for tag in row.tags if tag not in person.tags)
        person_of[row.index] = person
    return person_of


def plan_batch(
    session: Session,
    clean: list[Clean],
    inputs: Sequence[LeadInput],
    lines: dict[str, BusinessLine],
    created_by_id: int | None,
    outcomes: list[IntakeOutcome | None],
) -> Plan:
    """Decide each clean input's outcome (filled into `outcomes`) and what to write."""
    person_of = find_people(session, clean, created_by_id)
    stored_ids = {p.lead_id for p in person_of.values() if p.lead_id is not None}
    open_opps = open_opportunities(session, stored_ids)
    new_opportunities: list[tuple[Person, int, int]] = []
    touches: list[tuple[int, OpenOpportunity, LeadInput]] = []
    planned: set[tuple[int, int]] = set()  # (id(person), line id)
    line_ids = {code: line.id for code, line in lines.items()}  # plain ints: read per row
    for row in clean:
        person = person_of[row.index]
        values = row.values
        outcome = IntakeOutcome(row.index, CREATED, None, values["phone"], values["no_phone"])
        if person.first_index != row.index:
            outcome.duplicate_of = person.first_index
        new_lines = 0
        for code in row.line_codes:
            line_id = line_ids[code]
            existing = (
                open_opps.get((person.lead_id, line_id)) if person.lead_id is not None else None
            )
            if existing is not None:
                if existing.touched_by is None:
                    existing.touched_by = row.index
                    touches.append((row.index, existing, inputs[row.index]))
                    outcome.collisions.append(
                        Collision(
                            code,
                            existing.opportunity_id,
                            existing.owner_id,
                            existing.owner_name,
                            existing.pool_state,
                        )
                    )
            elif (id(person), line_id) not in planned:
                planned.add((id(person), line_id))
                new_opportunities.append((person, line_id, row.index))
                new_lines += 1
        if person.lead_id is None and person.first_index == row.index:
            outcome.status = CREATED
        elif new_lines:
            outcome.status = ADDED_LINE
        elif outcome.collisions:
            outcome.status = COLLISION
        else:
            outcome.status = DUPLICATE
        outcomes[row.index] = outcome
    return Plan(person_of, new_opportunities, touches)
