"""Reading a history file into rows: what each row says, where it goes and what it warns.

What a row gets wrong (no id, a stage or channel value mapped onto no option, a date that
is no date, a custom field's cell that is not of its kind, a win the importer may not bring
as revenue ...) makes it a bad row: its spreadsheet row, the
file's column and the reason. What real exports hold and the product can keep makes a
warning on a kept row instead: a closed row without a close date takes the latest date it
holds; a row closed before it was created keeps the file's dates; a win without an amount
counts as a win with no revenue; an open row whose owner is no user goes to the pool or to
dispatch; an unknown qualifier is left empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.custom_fields.cells import FieldValue
from crm_core.custom_fields.values import UNKNOWN_FIELD
from crm_core.imports.history.columns import CLOSED, COLUMNS, HistoryOptions
from crm_core.imports.history.custom import CustomColumn, custom_columns, read_custom
from crm_core.imports.history.library import email_key, match_library, phone_key
from crm_core.imports.history.people import (
    HistoryIssue,
    Mapping,
    PeopleMapper,
    Refused,
    Unknown,
    cells_of,
    read_teams,
)
from crm_core.imports.history.values import ValueColumn, ValueMaps, proven_stage, value_columns
from crm_core.imports.leads.columns import word
from crm_core.models import Lead, Opportunity
from crm_core.platform.actor import Actor
from crm_core.platform.cells import parse_datetime
from crm_core.platform.company_time import file_zone, to_local, to_utc
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MAX_ID = 60  # the source's id; with the source prefix it fits the 80-character columns
ALREADY_OPEN = N_("This person already has an open opportunity in this business line.")


@dataclass
class HistoryRow:
    """One good row, read and mapped. `owner`, `qualifier` and `unit` are keys of the plan:
    an existing id (int), a planned new one (str), or None (no owner: the pool or
    dispatch). `lead_id` is a stored lead the row's person is; `lead_key` groups the rows
    of one new person; `takeover` is the stored opportunity the row is written onto."""

    row: int
    external_id: str
    name: str
    stage: str
    created_at: datetime
    closed_at: datetime | None
    amount: Decimal | None
    owner: int | str | None
    unit: int | str | None
    qualifier: int | str | None = None
    furthest: str = "new"
    pool_state: str = "owned"
    lost_reason: str | None = None
    channel: str | None = None
    campaign: str | None = None
    landing_page: str | None = None
    lead_external_id: str | None = None
    phone: str | None = None
    email: str | None = None
    lead_id: int | None = None
    lead_key: tuple[str, str] | None = None
    takeover: int | None = None
    business_line_id: int = 0
    intention_level: str | None = None
    # Custom field values the row gives: entity (lead / opportunity) -> {field id: value}.
    custom: dict[str, dict[int, FieldValue]] = field(default_factory=dict)


@dataclass
class FileReading:
    """A file read: its good rows, bad rows, warnings, rows imported before, people."""

    rows: list[HistoryRow] = field(default_factory=list)
    issues: list[HistoryIssue] = field(default_factory=list)
    warnings: list[HistoryIssue] = field(default_factory=list)
    skipped: int = 0
    mapping: Mapping = field(default_factory=Mapping)
    # The option columns with their distinct values (value mapping), and the custom fields.
    values: dict[str, ValueColumn] = field(default_factory=dict)
    custom: dict[str, CustomColumn] = field(default_factory=dict)


def _amount(text: str) -> Decimal:
    value = Decimal(re.sub(r"[,\s¥$€￥]", "", text))
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value.quantize(Decimal("0.01"))


def _known(session: Session, ids: list[str]) -> set[str]:
    """Which external ids are stored already (on an opportunity or a lead)."""
    known: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for column in (Opportunity.external_id, Lead.external_id):
            known.update(session.exec(select(column).where(col(column).in_(chunk))).all())
    return known


def external_key(options: HistoryOptions, source_id: str) -> str:
    """The id an imported opportunity (and a lead without a lead id) is stored under."""
    return f"{options.source}:{source_id}"


def _date(cell, name: str, zone: ZoneInfo) -> datetime | None:
    text = cell(name)
    if not text:
        return None
    try:
        return to_utc(parse_datetime(text), zone)
    except ValueError:
        raise Refused(name, N_("Not a date: {value}."), value=text) from None


class _Reader:
    """Reads the rows one by one, with what the whole file shares."""

    def __init__(self, session, actor, frame, teams_frame, options, now) -> None:
        self.options, self.now = options, now
        self.teams, issues = read_teams(teams_frame, options)
        self.out = FileReading(issues=issues)
        header = options.mapping
        self.cells = {name: cells_of(frame, header.get(name), options) for name in header}
        self.zone = file_zone(session, options.time_zone)
        self.mapper = PeopleMapper(session, actor, options)
        offered = custom_columns(session, actor)
        unknown = [n for n, c in header.items() if c and n not in COLUMNS and n not in offered]
        if unknown:
            raise ValidationError(UNKNOWN_FIELD, field=unknown[0])
        self.custom = {n: c for n, c in offered.items() if header.get(n)}
        self.out.custom = self.custom
        self.out.values = value_columns(session, self.cells, options, self.custom)
        self.maps = ValueMaps(session, self.out.values)
        # A won row becomes a paid order, i.e. revenue on the dashboards: only someone who
        # may record payments may bring revenue in, as by hand or by the payment import.
        self.may_record_revenue = actor.can(Permission.RECORD_PAYMENTS)
        blank = [None] * len(frame.index)
        ids = [c for c in self.cells.get("external_id", blank) if c]
        self.known = _known(session, [external_key(options, i) for i in ids])
        lines = {options.business_line_id}
        for value in self.out.values.get("business_line", ValueColumn("", [])).values:
            if value.code is not None:
                lines.add(self.maps.lines[value.code])
        self.library = match_library(
            session,
            lines,
            {c for c in self.cells.get("lead_id", blank) if c},
            {p for c in self.cells.get("phone", blank) if (p := phone_key(c))},
            {e for c in self.cells.get("email", blank) if (e := email_key(c))},
        )
        self.first_row: dict[str, int] = {}
        self.taken: set[int] = set()  # stored opportunities a row is written onto
        self.open_people: set[object] = set()  # lead ids / keys given an open row

    def warn(self, row: int, name: str | None, reason: str, **params) -> None:
        column = self.options.mapping.get(name) if name else None
        self.out.warnings.append(HistoryIssue(row, column, reason, params))

    def read(self, row: int, cell) -> HistoryRow | None:
        options = self.options
        source_id = cell("external_id")
        if not source_id:
            raise Refused("external_id", N_("No opportunity id."))
        if len(source_id) > MAX_ID:
            raise Refused("external_id", N_("The id is longer than {max} characters."), max=MAX_ID)
        if source_id in self.first_row:
            raise Refused(
                "external_id", N_("The same id as row {first}."), first=self.first_row[source_id]
            )
        self.first_row[source_id] = row
        if external_key(options, source_id) in self.known:
            self.out.skipped += 1
            return None
        maps = self.maps
        stage = maps.code("stage", cell("stage")) or options.default_stage
        if not stage:
            raise Refused("stage", N_("No stage."))
        closed_row = stage in CLOSED
        stage_before = maps.code("stage_before", cell("stage_before"))
        lost_reason = maps.code("lost_reason", cell("lost_reason")) if stage == "lost" else None
        channel = maps.code("channel", cell("channel"))
        line = maps.line(cell("business_line")) or options.business_line_id
        intention = maps.code("intention_level", cell("intention_level"))
        custom: dict[str, dict[int, FieldValue]] = {}
        for name, column in self.custom.items():
            value = read_custom(column, cell(name), maps.choice)
            if value is not None:
                custom.setdefault(column.entity, {})[column.field.id] = value
        created, closed = _date(cell, "created_at", self.zone), _date(cell, "closed_at", self.zone)
        if stage == "won" and not self.may_record_revenue:
            raise Refused(
                "stage",
                N_(
                    "A won opportunity brings revenue: importing it needs the right to record payments."
                ),
            )
        person = self._person(row, cell, closed_row, line)
        if closed_row and closed is None:
            closed = self._last_known_date(row, created, person)
        elif not closed_row:
            closed = None  # an open row's close date (expected close) is no close
        amount = self._amount(row, cell) if stage == "won" else None
        if created is None:
            created = person.get("created_at") or closed or self.now
        if closed is not None and created > closed:
            self.warn(
                row, "closed_at", N_("Closed before it was created: the file's dates are kept.")
            )
        if created > self.now:
            raise Refused("created_at", N_("A date in the future."))
        if closed is not None and closed > self.now:
            raise Refused("closed_at", N_("A date in the future."))
        owner, unit, qualifier = self._people(row, cell, closed_row)
        if closed_row:
            pool_state = "closed"
        elif owner is not None:
            pool_state = "owned"
        else:
            pool_state = "public" if options.unowned == "pool" else "unassigned"
        return HistoryRow(
            row,
            source_id,
            (cell("name") or source_id)[:120],
            stage,
            created,
            closed,
            amount,
            owner,
            unit,
            qualifier=qualifier,
            furthest=proven_stage(stage, stage_before, bool(cell("qualifier"))),
            pool_state=pool_state,
            lost_reason=lost_reason,
            channel=channel,
            campaign=(cell("campaign") or None),
            landing_page=cell("landing_page"),
            lead_external_id=person["lead_external_id"],
            phone=person["phone"],
            email=person["email"],
            lead_id=person["lead_id"],
            lead_key=person["lead_key"],
            takeover=person["takeover"],
            business_line_id=line,
            intention_level=intention,
            custom=custom,
        )

    def _person(self, row: int, cell, closed_row: bool, line: int) -> dict:
        """Which lead the row's person is (stored, or new and shared with the file's other
        rows of that person) and the stored opportunity it is written onto, if any."""
        lead_external_id = cell("lead_id")
        phone, email = phone_key(cell("phone")), email_key(cell("email"))
        lead_id = self.library.lead_of(lead_external_id, phone, email)
        lead_key = None
        if lead_id is None:
            for kind, value in (("id", lead_external_id), ("phone", phone), ("email", email)):
                if value:
                    lead_key = (kind, value)
                    break
        found = {
            "lead_external_id": lead_external_id,
            "phone": phone,
            "email": email,
            "lead_id": lead_id,
            "lead_key": lead_key,
            "takeover": None,
        }
        stored = self.library.open_in_line.get((lead_id, line)) if lead_id is not None else None
        if stored is not None and stored.adoptable and stored.id not in self.taken:
            self.taken.add(stored.id)
            found.update(takeover=stored.id, created_at=stored.created_at)
            return found
        person = lead_id if lead_id is not None else lead_key
        if not closed_row and person is not None:
            if stored is not None or (person, line) in self.open_people:
                column = next(n for n in ("lead_id", "phone", "email") if cell(n))
                raise Refused(column, ALREADY_OPEN)
            self.open_people.add((person, line))
        return found

    def _last_known_date(self, row: int, created, person: dict) -> datetime:
        known = [d for d in (created, person.get("created_at")) if d is not None]
        if not known:
            raise Refused("closed_at", N_("A closed opportunity needs a date: it has none."))
        last = max(known)
        self.warn(
            row,
            "closed_at",
            N_("No close date: its last known date {date} is used."),
            date=to_local(last, self.zone).strftime("%Y-%m-%d %H:%M"),
        )
        return last

    def _amount(self, row: int, cell) -> Decimal:
        text = cell("amount")
        if not text:
            self.warn(row, "amount", N_("A win without an amount: counted with no revenue."))
            return Decimal(0)
        try:
            return _amount(text)
        except (InvalidOperation, ValueError):
            raise Refused("amount", N_("Not an amount of money: {value}."), value=text) from None

    def _people(self, row: int, cell, closed_row: bool):
        """(owner, unit, qualifier) keys. Unknown people: a closed row's become resigned
        accounts when asked (else the row is bad); an open row goes without an owner."""
        owner_name = cell("owner")
        team = self.teams.get(word(owner_name)) if owner_name else None
        if team is None and cell("team"):
            team = (cell("team"), None)
        owner: int | str | None = None
        unit: int | str | None = None
        if owner_name:
            try:
                owner, unit = self.mapper.owner(owner_name, team, create=closed_row)
            except Unknown:
                if closed_row:
                    raise Refused(
                        "owner", N_("No user called {owner}."), owner=owner_name
                    ) from None
                self.warn(
                    row,
                    "owner",
                    N_("No user called {owner}: the row goes to the pool or to dispatch."),
                    owner=owner_name,
                )
        if owner is None:
            unit = (
                self.mapper.unit(*team)
                if team
                else (self.mapper.parent.id if self.mapper.parent else None)
            )
        qualifier = None
        name = cell("qualifier")
        if name:
            try:
                qualifier = self.mapper.person(name, unit, create=closed_row)
            except Unknown:
                self.warn(
                    row,
                    "qualifier",
                    N_("No user called {owner}: who qualified it is left empty."),
                    owner=name,
                )
            except Refused as refusal:
                raise Refused("qualifier", refusal.reason, **refusal.params) from None
        return owner, unit, qualifier


def read_history(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams_frame: pd.DataFrame | None,
    options: HistoryOptions,
    now: datetime,
) -> FileReading:
    """The file's good rows (not imported before), its bad rows, its warnings, how many
    rows were imported before (skipped), and the owners' and teams' mapping."""
    reader = _Reader(session, actor, frame, teams_frame, options, now)
    blank = [None] * len(frame.index)
    cells = reader.cells
    for position, row_number in enumerate(frame.index):
        row = int(row_number)

        def cell(name: str, position: int = position) -> str | None:
            return cells.get(name, blank)[position]

        warned = len(reader.out.warnings)
        try:
            read = reader.read(row, cell)
        except Refused as refusal:
            # A bad row's notices would only confuse: its reason says it all.
            del reader.out.warnings[warned:]
            column = options.mapping.get(refusal.column)
            reader.out.issues.append(HistoryIssue(row, column, refusal.reason, refusal.params))
            continue
        if read is not None:
            reader.out.rows.append(read)
    reader.out.mapping = reader.mapper.mapping
    return reader.out
