"""Turning the rows of a lead file into intake inputs. What only the file can get wrong
(a date that is no date, a channel or business line by a name nobody knows) is answered
here with the same kind of outcome the intake gives."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import pandas as pd
from sqlmodel import Session

from crm_core.custom_fields.definitions import CHOICE_KINDS
from crm_core.imports.engine.spec import split_list
from crm_core.imports.leads.columns import (
    COLUMNS,
    IMPORT_KIND,
    OPTION_FIELDS,
    ImportOptions,
)
from crm_core.imports.leads.custom import (
    CustomValues,
    choice_cells,
    is_custom,
    mapped_fields,
    read_custom,
)
from crm_core.imports.leads.owners import Holder, owner_words
from crm_core.imports.value_mapping import (
    ResolvedValue,
    code_map,
    distinct_values,
    field_category,
    resolve_values,
    value_key,
)
from crm_core.leads.intake import IntakeOutcome, LeadInput
from crm_core.leads.intake.inputs import reject
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.cells import parse_datetime
from crm_core.platform.company_time import file_zone, to_utc
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
)
_PLACEHOLDER_MAX = 20  # no placeholder is longer; longer cells skip the check
_BAD_DATE = object()
CLOSED_STAGES = ("won", "lost")

NOT_A_DATE = N_("{value} is not a date (use 2024-03-01 or 2024/3/1 14:30).")
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


@dataclass
class FileRows:
    """The file as intake inputs; `row_numbers[i]` is input i's row in the spreadsheet;
    `outcomes[i]` what input i says beyond the lead (None: nothing)."""

    inputs: list[LeadInput]
    row_numbers: list[int]
    refused: dict[int, IntakeOutcome]  # input index -> why the file's value cannot be read
    outcomes: list[RowOutcome | None] = field(default_factory=list)
    values: dict[str, list[ResolvedValue]] = field(default_factory=dict)  # field -> mapping
    custom: CustomValues = field(default_factory=CustomValues)  # custom fields' values
    categories: dict[str, str] = field(default_factory=dict)  # mapped field -> its list
    # input index -> (field, reason, params): kept, with a notice (the preview shows them)
    warnings: dict[int, tuple[str, str, dict]] = field(default_factory=dict)


def clean_column(values: list, blanks: frozenset[str]) -> list[str | None]:
    """A column's cells with blanks and placeholders as None (the frame is stripped)."""
    # Only a cell that starts like some placeholder is compared in full: names, phones and
    # most codes never are.
    starts = {blank[0] for blank in blanks}
    out: list[str | None] = []
    for value in values:
        if not value:
            out.append(None)
        elif (
            len(value) <= _PLACEHOLDER_MAX
            and value[0].casefold() in starts
            and (
                (key := value.casefold()) in blanks
                or (" " in key and " ".join(key.split()) in blanks)
            )
        ):
            out.append(None)
        else:
            out.append(value)
    return out


def _by_value(cells: list[str | None], read) -> list:
    """`read` applied to each distinct cell once: channels, lines and dates repeat a lot."""
    seen: dict[str, object] = {}
    return [
        None if c is None else (seen[c] if c in seen else seen.setdefault(c, read(c)))
        for c in cells
    ]


def value_columns(
    session: Session, frame: pd.DataFrame, options: ImportOptions
) -> dict[str, list[ResolvedValue]]:
    """For each mapped option column: its distinct values with their row counts and the
    option each resolves to (the user's choice, a remembered mapping, or the option it
    reads as). What the page lists for the user to map."""
    customs = mapped_fields(session, options.mapping)
    categories = option_categories(options.mapping, customs)
    columns = {
        name: clean_column(frame[header].tolist(), options.placeholders)
        for name, header in options.mapping.items()
        if header and name in categories
    }
    return _resolve(session, columns, options, categories, customs)


def option_categories(mapping, customs) -> dict[str, str]:
    """Mapped field -> the list its values map onto: the built-in option fields and the
    custom choice fields."""
    categories = {name: OPTION_FIELDS[name] for name in mapping if name in OPTION_FIELDS}
    for name, custom in customs.items():
        if custom.kind in CHOICE_KINDS:
            categories[name] = field_category(custom.id)
    return categories


def _resolve(session, columns, options, categories, customs) -> dict[str, list[ResolvedValue]]:
    resolved = {}
    for name, cells in columns.items():
        if name == "business_line":
            cells = [part for cell in cells if cell is not None for part in split_list(cell)]
        elif name in customs:
            cells = choice_cells(customs[name], cells)
        resolved[name] = resolve_values(
            session,
            IMPORT_KIND,
            categories[name],
            distinct_values(cells),
            options.value_choices.get(name),
        )
    return resolved


def read_rows(
    session: Session, actor: Actor, frame: pd.DataFrame, options: ImportOptions
) -> FileRows:
    """Every data row of `frame` as a LeadInput, with the file-level refusals and what each
    row says beyond the lead. Works column by column, so a 200,000-row file costs little
    more than its cells."""
    count = len(frame.index)
    blank = [None] * count
    column = {
        name: clean_column(frame[header].tolist(), options.placeholders)
        for name, header in options.mapping.items()
        if header
    }
    customs = mapped_fields(session, options.mapping)
    categories = option_categories(options.mapping, customs)
    resolved = _resolve(
        session, {n: c for n, c in column.items() if n in categories}, options, categories, customs
    )
    maps = {name: code_map(values) for name, values in resolved.items()}

    def mapped(name: str):
        """cell -> its option code, or the cell itself when unmapped (the intake names it)."""
        codes = maps.get(name, {})
        return lambda cell: codes.get(value_key(cell), cell)

    channels = _by_value(column.get("channel", blank), mapped("channel"))
    default_lines = list(options.default_line_codes)
    line_of = mapped("business_line")
    lines = _by_value(
        column.get("business_line", blank), lambda c: [line_of(x) for x in split_list(c)]
    )
    tags = _by_value(column.get("tags", blank), split_list)

    zone = file_zone(session, options.time_zone)  # the file's times, read as instants

    def date_of(text: str):
        try:
            return to_utc(parse_datetime(text), zone)
        except ValueError:
            return _BAD_DATE

    dates = _by_value(column.get("created_at", blank), date_of)
    if options.default_channel:
        channels = [c or options.default_channel for c in channels]
    leading = [
        channels if name == "channel" else column.get(name, blank) for name in _LEADING_FIELDS
    ]
    inputs: list[LeadInput] = []
    refused: dict[int, IntakeOutcome] = {}
    no_tags: list[str] = []
    # Rows share the list objects of equal cells: the intake only reads them.
    for i, values in enumerate(zip(*leading, strict=True)):
        created = dates[i]
        if created is _BAD_DATE:
            value = column["created_at"][i]
            refused[i] = reject(i, NOT_A_DATE, "created_at", value=value)
            created = None
        inputs.append(LeadInput(*values, lines[i] or default_lines, created, tags[i] or no_tags))
    rows = FileRows(inputs, [int(n) for n in frame.index], refused, values=resolved)
    rows.categories = categories
    if customs:
        rows.custom = read_custom(customs, column, maps, refused, count)
    if any(name in column for name in ("stage", "owner", "lost_reason", "intention_level")):
        rows.outcomes = _outcomes(session, actor, column, maps, dates, date_of, refused, count)
        _amounts_and_dates(actor, column, rows, dates)
    return rows


def _outcomes(session, actor, column, maps, dates, date_of, refused, count):
    """Each row's stage, close date, owner, lost reason and intention level; a value that
    maps onto nothing refuses the row (unless the row is refused already)."""
    blank = [None] * count
    stages, closes = column.get("stage", blank), column.get("closed_at", blank)
    owners = column.get("owner", blank)
    reasons, levels = column.get("lost_reason", blank), column.get("intention_level", blank)
    stage_codes = maps.get("stage", {})
    reason_codes = maps.get("lost_reason", {})
    level_codes = maps.get("intention_level", {})
    holders = owner_words(session, actor) if "owner" in column else {}
    close_dates = _by_value(closes, date_of)
    now = clock.now()
    outcomes: list[RowOutcome | None] = [None] * count

    def refuse(i: int, reason: str, name: str, **params) -> None:
        if i not in refused:
            refused[i] = reject(i, reason, name, **params)

    for i in range(count):
        stage_cell, owner_cell = stages[i], owners[i]
        reason_cell, level_cell = reasons[i], levels[i]
        if stage_cell is None and owner_cell is None and reason_cell is None and level_cell is None:
            continue
        outcome = RowOutcome()
        if stage_cell is not None:
            outcome.stage = stage_codes.get(value_key(stage_cell))
            if outcome.stage is None:
                refuse(i, UNMAPPED_STAGE, "stage", value=stage_cell)
        if outcome.stage in CLOSED_STAGES:
            closed = close_dates[i]
            if closed is _BAD_DATE:
                refuse(i, NOT_A_DATE, "closed_at", value=closes[i])
            elif closed is not None and closed > now:
                refuse(i, CLOSED_IN_FUTURE, "closed_at")
            created = dates[i] if dates[i] is not _BAD_DATE else None
            # No close date: the row closed when it was created, or now for an undated row.
            outcome.closed_at = closed if isinstance(closed, datetime) else (created or now)
        if owner_cell is not None:
            outcome.owner = holders.get(" ".join(owner_cell.split()).casefold())
            if outcome.owner is None:
                refuse(i, UNKNOWN_OWNER, "owner", value=owner_cell)
        if reason_cell is not None:
            outcome.lost_reason = reason_codes.get(value_key(reason_cell))
            if outcome.lost_reason is None:
                refuse(i, UNMAPPED_LOST_REASON, "lost_reason", value=reason_cell)
        if level_cell is not None:
            outcome.intention_level = level_codes.get(value_key(level_cell))
            if outcome.intention_level is None:
                refuse(i, UNMAPPED_INTENTION, "intention_level", value=level_cell)
        outcomes[i] = outcome
    return outcomes


def _amount(text: str) -> Decimal:
    value = Decimal(re.sub(r"[,\s¥$€￥]", "", text))
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value.quantize(Decimal("0.01"))


def _amounts_and_dates(actor: Actor, column, rows: FileRows, dates) -> None:
    """A won row's amount (revenue only for an importer who may record payments: else the
    row is bad, as in the history import); a row closed before it was created is kept with
    a warning. Rows without an amount create no revenue."""
    amounts = column.get("amount")
    may_pay = actor.can(Permission.RECORD_PAYMENTS)
    for i, said in enumerate(rows.outcomes):
        if said is None or i in rows.refused or said.stage not in CLOSED_STAGES:
            continue
        created = dates[i] if isinstance(dates[i], datetime) else None
        if said.closed_at is not None and created is not None and said.closed_at < created:
            rows.warnings[i] = ("closed_at", CLOSED_BEFORE_CREATED, {})
        cell = amounts[i] if amounts is not None and said.stage == "won" else None
        if cell is None:
            continue
        if not may_pay:
            rows.refused[i] = reject(i, WIN_NEEDS_PAYMENTS, "amount")
            continue
        try:
            said.amount = _amount(cell)
        except (InvalidOperation, ValueError):
            rows.refused[i] = reject(i, NOT_AN_AMOUNT, "amount", value=cell)


def field_of(intake_field: str | None) -> str | None:
    """The file field an intake outcome points at."""
    if intake_field == "business_line_codes":
        return "business_line"
    if is_custom(intake_field):
        return intake_field
    return intake_field if intake_field in COLUMNS else None
