"""Turning a lead file into the import's rows (`LeadRow`: an intake input, and what the row
says beyond the lead), column by column (`ColumnReader`), so a 200,000-row file costs little
more than its cells. What only the file can get wrong (a date that is no date, a stage,
owner or amount nobody knows) rejects the row here, with the field's reason; what the
intake judges (names, phones, channels, business lines) it judges in the spec's check."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session

from crm_core.imports.engine import ColumnReader, split_list
from crm_core.imports.leads.columns import COLUMNS, NOT_A_DATE
from crm_core.imports.leads.custom import is_custom
from crm_core.imports.leads.owners import Holder, owner_words
from crm_core.imports.value_mapping import value_key
from crm_core.leads.intake import LeadInput
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

# LeadInput's leading fields, in its order: text straight from the cells, except the
# channel, which is read through value mapping.
_LEADING_FIELDS = (
    "name",
    "phone",
    "external_id",
    "channel",
    "campaign",
    "landing_page",
    "keyword",
    "region",
    "city",
    "email",
    "wechat",
    "qq",
)
CLOSED_STAGES = ("won", "lost")

UNMAPPED_STAGE = N_("{value} is not mapped onto a stage.")
UNMAPPED_LOST_REASON = N_("{value} is not mapped onto a lost reason.")
UNMAPPED_INTENTION = N_("{value} is not mapped onto an intention level.")
UNKNOWN_OWNER = N_(
    "{value} is no active colleague in your reach who can hold opportunities (give the username or full name)."
)
CLOSED_IN_FUTURE = N_("The close date lies in the future.")
CLOSED_BEFORE_CREATED = N_("Closed before it was created: the file's dates are kept.")
NOT_AN_AMOUNT = N_("Not an amount of money: {value}.")
WIN_NEEDS_PAYMENTS = N_(
    "A won opportunity brings revenue: importing it needs the right to record payments."
)


@dataclass(slots=True)
class RowOutcome:
    """What a row says beyond the lead: its stage (a won or lost row closes its opportunity
    at `closed_at`), its owner, its lost reason and intention level."""

    stage: str | None = None
    closed_at: datetime | None = None
    owner: Holder | None = None
    lost_reason: str | None = None
    intention_level: str | None = None
    amount: Decimal | None = None  # a won row's amount: revenue, as a paid order


@dataclass(slots=True)
class LeadRow:
    """One good row of a lead file: its row number, the intake input, what it says beyond
    the lead (None: nothing), its custom field values (field id -> value) and a notice to
    show when it is stored (field, reason, params). `category` is what the intake makes of
    it (created, added_line, collision, duplicate) or `already_imported`."""

    row: int
    input: LeadInput
    outcome: RowOutcome | None = None
    custom: Mapping[int, Any] | None = None
    warning: tuple[str, str, dict] | None = None
    category: str = ""


def _by_value(cells: list[str | None], read: Callable[[str], Any]) -> list:
    """`read` applied to each distinct cell once: channels, lines and dates repeat a lot."""
    seen: dict[str, object] = {}
    return [
        None if c is None else (seen[c] if c in seen else seen.setdefault(c, read(c)))
        for c in cells
    ]


def _mapped(reader: ColumnReader, name: str) -> Callable[[str], str]:
    """cell -> its option code, or the cell itself when unmapped (the intake names it)."""
    codes = reader.codes.get(name, {})
    return lambda cell: codes.get(value_key(cell), cell)


def read_leads(session: Session, actor: Actor, reader: ColumnReader) -> list[LeadRow]:
    """The good rows of the file as intake inputs, with what each row says beyond the lead;
    rows whose cells cannot be read are rejected through `reader.bad`. Column by column."""
    count = reader.count
    channels = _by_value(reader.text("channel"), _mapped(reader, "channel"))
    default_channel = reader.default("channel")
    if default_channel:
        channels = [c or default_channel for c in channels]
    line_of = _mapped(reader, "business_line")
    lines = _by_value(reader.text("business_line"), lambda c: [line_of(x) for x in split_list(c)])
    default_lines = list(reader.default("business_line") or ())
    tags = _by_value(reader.text("tags"), split_list)
    dates = reader.read("created_at")
    leading = [channels if name == "channel" else reader.text(name) for name in _LEADING_FIELDS]
    outcomes: list[RowOutcome | None] = [None] * count
    warnings: dict[int, tuple[str, str, dict]] = {}
    if any(reader.mapped(n) for n in ("stage", "owner", "lost_reason", "intention_level")):
        outcomes = _outcomes(session, actor, reader, dates)
        _amounts_and_dates(actor, reader, outcomes, dates, warnings)
    numbers, custom = reader.numbers, reader.custom
    no_tags: list[str] = []
    rows: list[LeadRow] = []
    # Rows share the list objects of equal cells: the intake only reads them.
    for i, values in enumerate(zip(*leading, strict=True)):
        if reader.is_bad(i):
            continue
        item = LeadInput(*values, lines[i] or default_lines, dates[i], tags[i] or no_tags)
        rows.append(LeadRow(numbers[i], item, outcomes[i], custom.get(i), warnings.get(i)))
    return rows


def _outcomes(
    session: Session, actor: Actor, reader: ColumnReader, dates: list
) -> list[RowOutcome | None]:
    """Each row's stage, close date, owner, lost reason and intention level; a value that
    maps onto nothing rejects the row."""
    count = reader.count
    stages, closes = reader.text("stage"), reader.text("closed_at")
    owners = reader.text("owner")
    reasons, levels = reader.text("lost_reason"), reader.text("intention_level")
    stage_codes = reader.codes.get("stage", {})
    reason_codes = reader.codes.get("lost_reason", {})
    level_codes = reader.codes.get("intention_level", {})
    holders = owner_words(session, actor) if reader.mapped("owner") else {}
    close_dates, bad_closes = reader.typed("closed_at")  # only a closed row's date counts
    now = clock.now()
    outcomes: list[RowOutcome | None] = [None] * count
    bad = reader.bad
    for i in range(count):
        stage_cell, owner_cell = stages[i], owners[i]
        reason_cell, level_cell = reasons[i], levels[i]
        if stage_cell is None and owner_cell is None and reason_cell is None and level_cell is None:
            continue
        outcome = RowOutcome()
        if stage_cell is not None:
            outcome.stage = stage_codes.get(value_key(stage_cell))
            if outcome.stage is None:
                bad(i, "stage", UNMAPPED_STAGE, value=stage_cell)
        if outcome.stage in CLOSED_STAGES:
            closed = close_dates[i]
            if i in bad_closes:
                bad(i, "closed_at", NOT_A_DATE, value=closes[i])
            elif closed is not None and closed > now:
                bad(i, "closed_at", CLOSED_IN_FUTURE)
            # No close date: the row closed when it was created, or now for an undated row.
            outcome.closed_at = closed or dates[i] or now
        if owner_cell is not None:
            outcome.owner = holders.get(" ".join(owner_cell.split()).casefold())
            if outcome.owner is None:
                bad(i, "owner", UNKNOWN_OWNER, value=owner_cell)
        if reason_cell is not None:
            outcome.lost_reason = reason_codes.get(value_key(reason_cell))
            if outcome.lost_reason is None:
                bad(i, "lost_reason", UNMAPPED_LOST_REASON, value=reason_cell)
        if level_cell is not None:
            outcome.intention_level = level_codes.get(value_key(level_cell))
            if outcome.intention_level is None:
                bad(i, "intention_level", UNMAPPED_INTENTION, value=level_cell)
        outcomes[i] = outcome
    return outcomes


def _amount(text: str) -> Decimal:
    value = Decimal(re.sub(r"[,\s¥$€￥]", "", text))
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value.quantize(Decimal("0.01"))


def _amounts_and_dates(
    actor: Actor,
    reader: ColumnReader,
    outcomes: list[RowOutcome | None],
    dates: list,
    warnings: dict[int, tuple[str, str, dict]],
) -> None:
    """A won row's amount (revenue only for an importer who may record payments: else the
    row is bad, as in the history import); a row closed before it was created is kept with
    a warning. Rows without an amount create no revenue."""
    amounts = reader.text("amount") if reader.mapped("amount") else None
    may_pay = actor.can(Permission.RECORD_PAYMENTS)
    for i, said in enumerate(outcomes):
        if said is None or reader.is_bad(i) or said.stage not in CLOSED_STAGES:
            continue
        created = dates[i]
        if said.closed_at is not None and created is not None and said.closed_at < created:
            warnings[i] = ("closed_at", CLOSED_BEFORE_CREATED, {})
        cell = amounts[i] if amounts is not None and said.stage == "won" else None
        if cell is None:
            continue
        if not may_pay:
            reader.bad(i, "amount", WIN_NEEDS_PAYMENTS)
            continue
        try:
            said.amount = _amount(cell)
        except (InvalidOperation, ValueError):
            reader.bad(i, "amount", NOT_AN_AMOUNT, value=cell)


def field_of(intake_field: str | None) -> str | None:
    """The file field an intake outcome points at."""
    if intake_field == "business_line_codes":
        return "business_line"
    if is_custom(intake_field):
        return intake_field
    return intake_field if intake_field in COLUMNS else None
