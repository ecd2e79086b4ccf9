"""What an entrance hands to the intake, what it answers per input, and the checks on one
input before any database work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_core.leads.phones import normalise_phone, phone_suffix
from crm_core.models import BusinessLine
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import fold
from crm_core.platform.search_keys import name_key

CREATED = "created"
ADDED_LINE = "added_line"
COLLISION = "collision"
DUPLICATE = "duplicate"
REJECTED = "rejected"
OUTCOME_STATUSES = (CREATED, ADDED_LINE, COLLISION, DUPLICATE, REJECTED)

# Rejection reasons (translation keys); the tests check each exists in both languages.
REASONS = (
    N_("A name is required."),
    N_("{phone} is not a valid phone number."),
    N_("Give a phone number, or an external id, e-mail or WeChat id for a lead without one."),
    N_("A channel is required."),
    N_("Unknown or disabled channel {channel}."),
    N_("Choose at least one business line."),
    N_("Unknown or disabled business line {code}."),
    N_("{field} has at most {max} characters."),
    N_("The date lies in the future."),
    N_("A tag has at most {max} characters."),
)

# Text fields of a lead and their column lengths.
TEXT_FIELDS = {
    "name": 120,
    "external_id": 80,
    "email": 200,
    "wechat": 80,
    "qq": 20,
    "region": 80,
    "city": 80,
    "campaign": 120,
    "landing_page": 400,
    "keyword": 120,
}
TAG_MAX = 60
_TEXT_ITEMS = tuple(TEXT_FIELDS.items())


@dataclass(slots=True)
class LeadInput:
    """One lead as an entrance delivers it; strings are taken as given and cleaned here.

    `created_at` is the first contact of a record migrated from another system (default:
    now); `tags` are added to the person's lead, new or known.
    """

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
    qq: str | None = None
    business_line_codes: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Opening:
    """How a migrated record's new opportunity opens, where it is more than a fresh inquiry
    (`intake_leads(openings=...)`): its stage (a won or lost one is `closed` at
    `closed_at`), its owner with their unit (`owned`), its lost reason and intention level.
    Written with the opportunity, so no entrance moves it afterwards."""

    stage: str = "new"
    owner_id: int | None = None
    org_unit_id: int | None = None
    closed_at: datetime | None = None
    lost_reason: str | None = None
    intention_level: str | None = None
    amount: Decimal | None = None  # a won one's amount (its paid order is the caller's)

    @property
    def closed(self) -> bool:
        return self.stage in ("won", "lost")

    @property
    def pool_state(self) -> str:
        if self.closed:
            return "closed"
        return "owned" if self.owner_id is not None else "unassigned"


@dataclass(frozen=True)
class Collision:
    """An open opportunity the person already has on a line; the inquiry was logged on it.

    `hidden`: the opportunity lies outside the scope of whoever ran the intake, who may
    learn only that a colleague has the person; its number, owner and state are None then
    (see `crm_core.leads.intake.collisions`).
    """

    business_line_code: str
    opportunity_id: int | None
    owner_id: int | None  # None: unassigned, in the pool or dormant (or hidden)
    owner_name: str | None
    pool_state: str | None
    hidden: bool = False


@dataclass(slots=True)
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
    dry_run: bool = False
    refused: bool = False  # all or nothing was asked and some input was rejected

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


@dataclass(slots=True)
class Clean:
    """An input that passed the checks: lead columns, lines and tags."""

    index: int
    values: dict[str, Any]
    line_codes: list[str]
    tags: list[str]


def text(value: Any) -> str | None:
    if value is None:
        return None
    cleaned = str(value).strip()
    return cleaned or None


def reject(index: int, reason: str, field_name: str | None, **params: Any) -> IntakeOutcome:
    return IntakeOutcome(
        index=index, status=REJECTED, reason=reason, params=params, field=field_name
    )


def validate(
    index: int,
    item: LeadInput,
    channels: dict[str, str],
    lines: dict[str, BusinessLine],
    now: datetime,
) -> Clean | IntakeOutcome:
    """The input's lead columns, or the first reason to refuse it. Written for speed: it
    runs once per row of a 200,000-row import."""
    values: dict[str, Any] = {}
    too_long = None
    for name, limit in _TEXT_ITEMS:
        value = getattr(item, name)
        if value is not None:
            value = (value if type(value) is str else str(value)).strip() or None
            if value is not None and too_long is None and len(value) > limit:
                too_long = (name, limit)
        values[name] = value
    if not values["name"]:
        return reject(index, N_("A name is required."), "name")
    if too_long is not None:
        name, limit = too_long
        return reject(
            index, N_("{field} has at most {max} characters."), name, field=name, max=limit
        )
    raw_phone = str(item.phone).strip() if item.phone is not None else None
    phone = None
    if raw_phone:
        phone = normalise_phone(raw_phone)
        if phone is None:
            return reject(
                index, N_("{phone} is not a valid phone number."), "phone", phone=raw_phone
            )
    elif values["external_id"] is None and values["email"] is None and values["wechat"] is None:
        # Web exports carry no phones; a lead id, an e-mail or a WeChat id reaches them.
        return reject(
            index,
            N_(
                "Give a phone number, or an external id, e-mail or WeChat id for a lead without one."
            ),
            "phone",
        )
    channel = str(item.channel).strip().lower() if item.channel is not None else ""
    if not channel:
        return reject(index, N_("A channel is required."), "channel")
    code = channels.get(channel)
    if code is None:
        code = channels.get(fold(channel))  # a label, or another width
    if code is None:
        return reject(
            index, N_("Unknown or disabled channel {channel}."), "channel", channel=channel
        )
    channel = code
    codes: list[str] = []
    for code in item.business_line_codes or ():
        code = str(code).strip().lower()
        if code and code not in codes:
            if code not in lines:
                return reject(
                    index,
                    N_("Unknown or disabled business line {code}."),
                    "business_line_codes",
                    code=code,
                )
            codes.append(code)
    if not codes:
        return reject(index, N_("Choose at least one business line."), "business_line_codes")
    if item.created_at is not None and item.created_at > now:
        return reject(index, N_("The date lies in the future."), "created_at")
    tags: list[str] = []
    for tag in item.tags or []:
        tag = " ".join(str(tag).split())
        if len(tag) > TAG_MAX:
            return reject(index, N_("A tag has at most {max} characters."), "tags", max=TAG_MAX)
        if tag and tag not in tags:
            tags.append(tag)
    values.update(
        name_key=name_key(values["name"]),
        phone=phone,
        phone_suffix=phone_suffix(phone),
        no_phone=phone is None,
        channel=channel,
        created_at=item.created_at or now,
    )
    return Clean(index=index, values=values, line_codes=codes, tags=tags)
