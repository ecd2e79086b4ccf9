"""Lead intake: the one path by which leads enter, from every entrance (form, chat, API,
manual entry, list import).

`intake_leads` takes a batch and works set-based - a handful of queries for the whole batch,
bulk inserts, never a query per row:

1. normalise and validate every input (name; phone valid, or no phone and an external id,
   flagged `no_phone`; an active channel; business lines that exist and are active);
2. find each person: by phone, else by external id - within the batch (a later row of the
   same person merges into the earlier one) and against the database;
3. apply the collision rule per business line: the person already has an open opportunity
   on that line -> no new opportunity, the touch is logged on it as a `note` follow-up and
   the owner is reported; a line the person has no open opportunity on -> a new opportunity;
   a new person -> a lead and one opportunity per line, `unassigned`, stage `new`, with its
   stage history row and a flow event entering `unassigned`.

Rows are answered one by one (`IntakeOutcome`), so a rejected row does not stop the others.
Everything is flushed in the caller's transaction; the caller commits (or rolls back, e.g.
for a preview). On an error the session is rolled back and nothing remains.

The collision note does not count as the owner's follow-up: `last_follow_up_at` is left
alone, so an incoming inquiry never shields an idle opportunity from recycling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_core import clock
from crm_core.access import Actor
from crm_core.errors import ValidationError
from crm_core.i18n import translate
from crm_core.models import (
    BusinessLine,
    FlowEvent,
    FollowUp,
    Lead,
    MetadataOption,
    Opportunity,
    StageHistory,
    User,
)
from crm_core.permissions import Permission
from crm_core.phones import normalise_phone, phone_suffix
from crm_core.search_keys import name_key

CREATED = "created"
ADDED_LINE = "added_line"
COLLISION = "collision"
DUPLICATE = "duplicate"
REJECTED = "rejected"
OUTCOME_STATUSES = (CREATED, ADDED_LINE, COLLISION, DUPLICATE, REJECTED)

# Rejection reasons (translation keys); the tests check each exists in both languages.
REASONS = (
    "leads.error.name_required",
    "leads.error.phone_invalid",
    "leads.error.phone_or_external_id_required",
    "leads.error.channel_required",
    "leads.error.channel_unknown",
    "leads.error.business_line_required",
    "leads.error.business_line_unknown",
    "leads.error.too_long",
)

# Text fields of a lead and their column lengths.
_TEXT_FIELDS = {
    "name": 120,
    "external_id": 80,
    "email": 200,
    "wechat": 80,
    "region": 80,
    "city": 80,
    "campaign": 120,
    "landing_page": 400,
    "keyword": 120,
}
_CHUNK = 2000  # ids per IN (...) list, well under every driver's parameter limit


@dataclass
class LeadInput:
    """One lead as an entrance delivers it; strings are taken as given and cleaned here."""

    name: str | None = None
    phone: str | None = None
    external_id: str | None = None
    channel: str | None = None
    campaign: str | None = None
    landing_page: str | None = None
    keyword: str | None = None
    region: str | None = None
    city: str | None = None
    email: str | None = None
    wechat: str | None = None
    business_line_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Collision:
    """An open opportunity the person already has on a line; the inquiry was logged on it."""

    business_line_code: str
    opportunity_id: int
    owner_id: int | None  # None: unassigned, in the pool or dormant
    owner_name: str | None
    pool_state: str


@dataclass
class IntakeOutcome:
    """What happened to one input (`index` is its position in the batch).

    status: created (new lead), added_line (known person, new opportunity on at least one
    line), collision (known person, every line already open; see `collisions`), duplicate
    (repeats an earlier row of this batch and adds nothing), rejected (see `reason`,
    `params` and `field`, to translate and point at the bad column).
    """

    index: int
    status: str
    lead_id: int | None = None
    phone: str | None = None
    no_phone: bool = False
    opportunity_ids: list[int] = field(default_factory=list)
    collisions: list[Collision] = field(default_factory=list)
    duplicate_of: int | None = None  # the earlier row of the batch for the same person
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    field: str | None = None


@dataclass
class IntakeResult:
    source: str
    outcomes: list[IntakeOutcome]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in OUTCOME_STATUSES}

    @property
    def rejected(self) -> list[IntakeOutcome]:
        return [o for o in self.outcomes if o.status == REJECTED]

    @property
    def collisions(self) -> list[tuple[int, Collision]]:
        """(input index, collision) for every collision reported in the batch."""
        return [(o.index, c) for o in self.outcomes for c in o.collisions]


# --- validation ----------------------------------------------------------------------------


@dataclass
class _Clean:
    index: int
    values: dict[str, Any]  # lead columns
    line_codes: list[str]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _reject(index: int, reason: str, field_name: str | None, **params: Any) -> IntakeOutcome:
    return IntakeOutcome(
        index=index, status=REJECTED, reason=reason, params=params, field=field_name
    )


def _validate(
    index: int, item: LeadInput, channels: set[str], lines: dict[str, BusinessLine]
) -> _Clean | IntakeOutcome:
    values: dict[str, Any] = {name: _text(getattr(item, name)) for name in _TEXT_FIELDS}
    if not values["name"]:
        return _reject(index, "leads.error.name_required", "name")
    for name, limit in _TEXT_FIELDS.items():
        if values[name] is not None and len(values[name]) > limit:
            return _reject(index, "leads.error.too_long", name, field=name, max=limit)
    raw_phone = _text(item.phone)
    phone = None
    if raw_phone is not None:
        phone = normalise_phone(raw_phone)
        if phone is None:
            return _reject(index, "leads.error.phone_invalid", "phone", phone=raw_phone)
    elif values["external_id"] is None:
        return _reject(index, "leads.error.phone_or_external_id_required", "phone")
    channel = (_text(item.channel) or "").lower()
    if not channel:
        return _reject(index, "leads.error.channel_required", "channel")
    if channel not in channels:
        return _reject(index, "leads.error.channel_unknown", "channel", channel=channel)
    codes: list[str] = []
    for code in item.business_line_codes or []:
        code = (_text(code) or "").lower()
        if code and code not in codes:
            codes.append(code)
    if not codes:
        return _reject(index, "leads.error.business_line_required", "business_line_codes")
    for code in codes:
        if code not in lines:
            return _reject(
                index, "leads.error.business_line_unknown", "business_line_codes", code=code
            )
    values.update(
        name_key=name_key(values["name"]),
        phone=phone,
        phone_suffix=phone_suffix(phone),
        no_phone=phone is None,
        channel=channel,
    )
    return _Clean(index=index, values=values, line_codes=codes)


# --- queries -------------------------------------------------------------------------------


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    values = sorted(set(values))
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _active_channels(session: Session) -> set[str]:
    return set(
        session.exec(
            select(MetadataOption.code).where(
                MetadataOption.category == "channel",
                MetadataOption.active,
                col(MetadataOption.business_line_id).is_(None),
            )
        ).all()
    )


def _lines(session: Session, inputs: Sequence[LeadInput]) -> dict[str, BusinessLine]:
    wanted = {
        (_text(code) or "").lower() for item in inputs for code in item.business_line_codes or []
    }
    wanted.discard("")
    if not wanted:
        return {}
    rows = session.exec(
        select(BusinessLine).where(col(BusinessLine.code).in_(sorted(wanted)), BusinessLine.active)
    ).all()
    return {line.code: line for line in rows}


def _leads_by(
    session: Session, column, keys: Iterable[str]
) -> dict[str, tuple[int, str | None, str | None]]:
    """key -> (lead id, phone, external id) for the leads whose `column` is one of `keys`."""
    found: dict[str, tuple[int, str | None, str | None]] = {}
    for chunk in _chunks(keys):
        for lead_id, phone, external_id, key in session.exec(
            select(Lead.id, Lead.phone, Lead.external_id, column).where(col(column).in_(chunk))
        ).all():
            found[key] = (lead_id, phone, external_id)
    return found


@dataclass
class _OpenOpp:
    opportunity_id: int | None  # None: planned in this batch
    owner_id: int | None
    owner_name: str | None
    owner_language: str | None
    pool_state: str
    touched_by: int | None = None  # index of the batch row that already logged a touch


def _open_opportunities(
    session: Session, lead_ids: Iterable[int]
) -> dict[tuple[int, int], _OpenOpp]:
    """(lead id, line id) -> the open opportunity, with its owner, for existing leads."""
    found: dict[tuple[int, int], _OpenOpp] = {}
    for chunk in _chunks(lead_ids):
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
            .where(col(Opportunity.lead_id).in_(chunk), Opportunity.pool_state != "closed")
        ).all()
        for opp_id, lead_id, line_id, owner_id, state, owner_name, language in rows:
            found[(lead_id, line_id)] = _OpenOpp(opp_id, owner_id, owner_name, language, state)
    return found


# --- the intake ----------------------------------------------------------------------------


@dataclass
class _Person:
    """One person of the batch: an existing lead (`lead_id`) or a lead to insert."""

    first_index: int
    lead_id: int | None
    phone: str | None
    external_id: str | None
    values: dict[str, Any] | None = None  # columns of a lead to insert
    fill: dict[str, Any] = field(default_factory=dict)  # missing keys to add to an old lead


def intake_leads(
    session: Session, actor: Actor, inputs: Sequence[LeadInput], *, source: str
) -> IntakeResult:
    """Take in a batch of leads from the entrance `source` (form, chat, api, manual, import).

    Requires create_leads (and import_leads when `source` is "import"). Flushes; the caller
    commits. See the module docstring for the rules.
    """
    actor.require(Permission.CREATE_LEADS)
    if source == "import":
        actor.require(Permission.IMPORT_LEADS)
    try:
        return _intake(session, actor, list(inputs), source)
    except IntegrityError as error:
        # Another intake stored the same phone or external id at the same moment.
        session.rollback()
        raise ValidationError("leads.error.concurrent_intake") from error
    except Exception:
        session.rollback()
        raise


def _intake(session: Session, actor: Actor, inputs: list[LeadInput], source: str) -> IntakeResult:
    now = clock.now()
    channels = _active_channels(session)
    lines = _lines(session, inputs)
    outcomes: list[IntakeOutcome | None] = [None] * len(inputs)
    clean: list[_Clean] = []
    for index, item in enumerate(inputs):
        checked = _validate(index, item, channels, lines)
        if isinstance(checked, IntakeOutcome):
            outcomes[index] = checked
        else:
            clean.append(checked)

    old_by_phone = _leads_by(
        session, Lead.phone, (c.values["phone"] for c in clean if c.values["phone"])
    )
    old_by_ext = _leads_by(
        session,
        Lead.external_id,
        (c.values["external_id"] for c in clean if c.values["external_id"]),
    )

    # Who is who: one _Person per person, reached by phone or external id.
    by_phone: dict[str, _Person] = {}
    by_ext: dict[str, _Person] = {}
    person_of: dict[int, _Person] = {}
    for row in clean:
        phone, ext = row.values["phone"], row.values["external_id"]
        person = by_phone.get(phone) if phone else None
        if person is None and ext:
            person = by_ext.get(ext)
        if person is None:
            old = (old_by_phone.get(phone) if phone else None) or (
                old_by_ext.get(ext) if ext else None
            )
            if old is not None:
                person = _Person(row.index, old[0], old[1], old[2])
            else:
                values = dict(row.values, created_by_id=actor.user_id, created_at=now)
                person = _Person(row.index, None, phone, ext, values=values)
        # Complete a person's missing phone or external id from this row, when free.
        if phone and person.phone is None and phone not in by_phone and phone not in old_by_phone:
            person.phone = phone
            _set(person, phone=phone, phone_suffix=phone_suffix(phone), no_phone=False)
        if ext and person.external_id is None and ext not in by_ext and ext not in old_by_ext:
            person.external_id = ext
            _set(person, external_id=ext)
        for key, index in ((person.phone, by_phone), (person.external_id, by_ext)):
            if key:
                index.setdefault(key, person)
        person_of[row.index] = person

    old_ids = {p.lead_id for p in person_of.values() if p.lead_id is not None}
    open_opps = _open_opportunities(session, old_ids)

    # Lines: new opportunities to make, touches to log.
    planned: list[tuple[_Person, int, int]] = []  # (person, line id, input index)
    touches: list[tuple[int, _OpenOpp, LeadInput]] = []
    planned_open: dict[tuple[int, int], _OpenOpp] = {}  # (id(person), line id)
    for row in clean:
        person = person_of[row.index]
        outcome = IntakeOutcome(
            index=row.index,
            status=CREATED,
            phone=row.values["phone"],
            no_phone=row.values["no_phone"],
        )
        if person.first_index != row.index:
            outcome.duplicate_of = person.first_index
        new_lines = 0
        for code in row.line_codes:
            line_id = lines[code].id
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
            elif (id(person), line_id) not in planned_open:
                planned_open[(id(person), line_id)] = _OpenOpp(None, None, None, None, "unassigned")
                planned.append((person, line_id, row.index))
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

    _write(session, actor, now, source, person_of, planned, touches, outcomes)
    return IntakeResult(source=source, outcomes=[o for o in outcomes if o is not None])


def _set(person: _Person, **values: Any) -> None:
    if person.values is not None:
        person.values.update(values)
    else:
        person.fill.update(values)


def _write(
    session: Session,
    actor: Actor,
    now,
    source: str,
    person_of: dict[int, _Person],
    planned: list[tuple[_Person, int, int]],
    touches: list[tuple[int, _OpenOpp, LeadInput]],
    outcomes: list[IntakeOutcome | None],
) -> None:
    people = list({id(p): p for p in person_of.values()}.values())

    # Existing leads that gain a phone or an external id.
    fills = [dict(p.fill, id=p.lead_id) for p in people if p.lead_id is not None and p.fill]
    for fill in fills:
        session.execute(update(Lead).where(Lead.id == fill.pop("id")).values(**fill))

    # New leads, then their ids by phone / external id.
    new_people = [p for p in people if p.lead_id is None]
    if new_people:
        session.execute(insert(Lead), [p.values for p in new_people])
        ids_by_phone = _leads_by(session, Lead.phone, (p.phone for p in new_people if p.phone))
        ids_by_ext = _leads_by(
            session, Lead.external_id, (p.external_id for p in new_people if not p.phone)
        )
        for p in new_people:
            p.lead_id = (ids_by_phone[p.phone] if p.phone else ids_by_ext[p.external_id])[0]

    # New opportunities, then their ids by (lead, line).
    opp_ids: dict[tuple[int, int], int] = {}
    if planned:
        session.execute(
            insert(Opportunity),
            [
                {
                    "lead_id": person.lead_id,
                    "business_line_id": line_id,
                    "pipeline_type": "new",
                    "stage": "new",
                    "pool_state": "unassigned",
                    "stage_changed_at": now,
                    "locked": False,
                    "recycle_count": 0,
                    "created_at": now,
                }
                for person, line_id, _ in planned
            ],
        )
        for chunk in _chunks(person.lead_id for person, _, _ in planned):
            for opp_id, lead_id, line_id in session.exec(
                select(Opportunity.id, Opportunity.lead_id, Opportunity.business_line_id).where(
                    col(Opportunity.lead_id).in_(chunk), Opportunity.pool_state != "closed"
                )
            ).all():
                opp_ids[(lead_id, line_id)] = opp_id
        new_opp_ids = [opp_ids[(person.lead_id, line_id)] for person, line_id, _ in planned]
        session.execute(
            insert(StageHistory),
            [
                {"opportunity_id": opp_id, "from_stage": None, "to_stage": "new",
                 "changed_at": now, "actor_id": actor.user_id}
                for opp_id in new_opp_ids
            ],
        )  # fmt: skip
        session.execute(
            insert(FlowEvent),
            [
                {"opportunity_id": opp_id, "at": now, "from_state": None,
                 "to_state": "unassigned", "reason": "intake", "actor_id": actor.user_id,
                 "note": source[:400]}
                for opp_id in new_opp_ids
            ],
        )  # fmt: skip
        for (_, _, index), opp_id in zip(planned, new_opp_ids, strict=True):
            outcomes[index].opportunity_ids.append(opp_id)

    # The touch on an opportunity someone already has: a note in its reader's language.
    if touches:
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
                for _, opp, item in touches
            ],
        )

    for index, person in person_of.items():
        outcomes[index].lead_id = person.lead_id
    session.flush()
