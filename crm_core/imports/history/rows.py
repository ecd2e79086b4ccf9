"""Reading a history file into rows, and mapping its owners to users and its teams to
units.

What a row can get wrong (no id, an unknown stage, a date that is no date, a won deal
without a value ...) becomes an issue with its spreadsheet row, the file's column and the
reason. Owners are matched to users in the importer's scope by username or full name, and
teams to units by name under the chosen parent; what matches nothing is planned for
creation when the importer asked for it, and is an issue otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session, col, select

from crm_core.imports.history.columns import CLOSED, HistoryOptions
from crm_core.imports.leads.columns import word
from crm_core.models import DEFAULT_STAGES, Lead, Opportunity, OrgUnit, User
from crm_core.org.access import org_unit_scope, user_scope
from crm_core.platform.actor import Actor
from crm_core.platform.cells import clean_cell, parse_datetime
from crm_core.platform.company_time import file_zone, to_utc
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.permissions import Permission

MAX_ID = 60  # the source's id; with the source prefix it fits the 80-character columns


@dataclass(frozen=True)
class HistoryIssue:
    """A bad row: which file (`pipeline` or `teams`), its spreadsheet row, the file's
    column header and the reason (a translation key with its parameters)."""

    row: int
    column: str | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    file: str = "pipeline"


@dataclass
class HistoryRow:
    """One good row, read and mapped. `owner` and `unit` are keys of the plan: an existing
    id (int) or a planned new one (str)."""

    row: int
    external_id: str
    name: str
    stage: str
    created_at: datetime
    closed_at: datetime | None
    amount: Decimal | None
    owner: int | str
    unit: int | str


@dataclass
class PlannedUnit:
    key: str
    name: str
    parent: int | str  # an existing unit id or another planned unit's key


@dataclass
class PlannedUser:
    key: str
    name: str
    unit: int | str


@dataclass
class Mapping:
    """Owners and teams as the rows refer to them, with what must be created."""

    users: dict[str, int | str] = field(default_factory=dict)  # owner word -> key
    units: dict[tuple[str, str], int | str] = field(default_factory=dict)  # (parent, team)
    new_units: list[PlannedUnit] = field(default_factory=list)
    new_users: list[PlannedUser] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, column: str, reason: str, **params: Any) -> None:
        self.column, self.reason, self.params = column, reason, params


def _cells(frame: pd.DataFrame, header: str | None, options: HistoryOptions) -> list:
    if not header:
        return [None] * len(frame.index)
    return [clean_cell(v, options.placeholders) for v in frame[header].tolist()]


def _amount(text: str) -> Decimal:
    value = Decimal(re.sub(r"[,\s¥$€￥]", "", text))
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value.quantize(Decimal("0.01"))


def read_teams(
    frame: pd.DataFrame | None, options: HistoryOptions
) -> tuple[dict[str, tuple[str, str | None]], list[HistoryIssue]]:
    """owner word -> (team, parent unit name) from the team file, and its bad rows."""
    if frame is None:
        return {}, []
    mapping = options.team_mapping
    owners = _cells(frame, mapping.get("owner"), options)
    teams = _cells(frame, mapping.get("team"), options)
    parents = _cells(frame, mapping.get("parent"), options)
    found: dict[str, tuple[str, str | None]] = {}
    issues: list[HistoryIssue] = []
    for row, owner, team, parent in zip(frame.index, owners, teams, parents, strict=True):
        if not owner:
            issues.append(
                HistoryIssue(
                    int(row),
                    mapping.get("owner"),
                    N_("No owner."),
                    file="teams",
                )
            )
            continue
        if not team:
            issues.append(HistoryIssue(int(row), mapping.get("team"), N_("No team."), file="teams"))
            continue
        key = word(owner)
        if key in found and found[key] != (team, parent):
            issues.append(
                HistoryIssue(
                    int(row),
                    mapping.get("team"),
                    N_("{owner} is given two different teams."),
                    {"owner": owner},
                    file="teams",
                )
            )
            continue
        found[key] = (team, parent)
    return found, issues


def _known(session: Session, options: HistoryOptions, ids: list[str]) -> set[str]:
    """Which external ids are stored already (on an opportunity or a lead)."""
    known: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        known.update(
            session.exec(
                select(Opportunity.external_id).where(col(Opportunity.external_id).in_(chunk))
            ).all()
        )
        known.update(
            session.exec(select(Lead.external_id).where(col(Lead.external_id).in_(chunk))).all()
        )
    return known


def external_key(options: HistoryOptions, source_id: str) -> str:
    """The id an imported opportunity and its lead are stored under."""
    return f"{options.source}:{source_id}"


class _Mapper:
    """Matches owners and teams, planning creations as it goes."""

    def __init__(self, session: Session, actor: Actor, options: HistoryOptions) -> None:
        self.options = options
        self.mapping = Mapping()
        units = session.exec(select(OrgUnit).where(org_unit_scope(actor))).all()
        parent = session.get(OrgUnit, options.parent_unit_id) if options.parent_unit_id else None
        self.parent = parent if parent is not None and parent in units else None
        # Units named as the file names them, under the chosen parent (or anywhere in scope).
        self.units_by_name: dict[str, list[OrgUnit]] = {}
        for unit in units:
            if self.parent is None or unit.path.startswith(self.parent.path):
                self.units_by_name.setdefault(word(unit.name), []).append(unit)
        self.users: dict[str, list[User]] = {}
        for user in session.exec(select(User).where(user_scope(actor))).all():
            for name in {word(user.username), word(user.full_name)}:
                self.users.setdefault(name, []).append(user)

    def _plan_unit(self, name: str, parent: int | str) -> str:
        key = f"unit:{len(self.mapping.new_units) + 1}"
        self.mapping.new_units.append(PlannedUnit(key, name, parent))
        return key

    def unit(self, team: str, parent_name: str | None) -> int | str:
        """The unit of `team` (under `parent_name` when given): found, planned, or refused."""
        cache_key = (word(parent_name or ""), word(team))
        if cache_key in self.mapping.units:
            return self.mapping.units[cache_key]
        parent: int | str | None = self.parent.id if self.parent else None
        candidates = self.units_by_name.get(word(team), [])
        if parent_name:
            parent_key = self.unit(parent_name, None)
            parent = parent_key
            if isinstance(parent_key, int):
                candidates = [u for u in candidates if u.parent_id == parent_key]
            else:
                candidates = []
        if len(candidates) > 1:
            raise _Refused("team", N_("Several units are called {team}."), team=team)
        if candidates:
            found: int | str = candidates[0].id
        elif not self.options.create_missing:
            raise _Refused("team", N_("No unit called {team}."), team=team)
        elif parent is None:
            raise _Refused("team", N_("Choose where to create {team}."), team=team)
        else:
            found = self._plan_unit(team.strip(), parent)
        self.mapping.units[cache_key] = found
        return found

    def owner(self, name: str, team: tuple[str, str | None] | None) -> tuple[int | str, int | str]:
        """(the owner's key, the unit the row is credited to)."""
        key = word(name)
        unit = self.unit(*team) if team else None
        if key in self.mapping.users:
            owner = self.mapping.users[key]
        else:
            users = self.users.get(key, [])
            if len(users) > 1:
                users = [u for u in users if word(u.username) == key] or users
            if len(users) > 1:
                raise _Refused("owner", N_("Several users are called {owner}."), owner=name)
            if users:
                owner = users[0].id
            elif not self.options.create_missing:
                raise _Refused("owner", N_("No user called {owner}."), owner=name)
            else:
                home = unit if unit is not None else (self.parent.id if self.parent else None)
                if home is None:
                    raise _Refused(
                        "owner", N_("{owner} has no team to be credited to."), owner=name
                    )
                owner = f"user:{len(self.mapping.new_users) + 1}"
                self.mapping.new_users.append(PlannedUser(owner, name.strip(), home))
            self.mapping.users[key] = owner
        if unit is None:
            unit = self._home_of(owner)
        return owner, unit

    def _home_of(self, owner: int | str) -> int | str:
        if isinstance(owner, str):
            return next(u.unit for u in self.mapping.new_users if u.key == owner)
        user = next(u for users in self.users.values() for u in users if u.id == owner)
        if user.org_unit_id is None:
            raise _Refused(
                "owner", N_("{owner} has no team to be credited to."), owner=user.full_name
            )
        return user.org_unit_id


def read_history(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    teams_frame: pd.DataFrame | None,
    options: HistoryOptions,
    now: datetime,
) -> tuple[list[HistoryRow], list[HistoryIssue], int, Mapping]:
    """The file's good rows (not imported before), its bad rows, how many rows were
    imported before (skipped), and the owners' and teams' mapping."""
    teams, issues = read_teams(teams_frame, options)
    header = options.mapping
    cells = {name: _cells(frame, header.get(name), options) for name in header}
    count = len(frame.index)
    blank = [None] * count
    ids = [c or "" for c in cells.get("external_id", blank)]
    known = _known(session, options, [external_key(options, i) for i in ids if i])
    stages = {word(k): v for k, v in options.stage_map.items()}
    zone = file_zone(session, options.time_zone)
    mapper = _Mapper(session, actor, options)
    # A won row becomes a paid order, i.e. revenue on the dashboards: only someone who may
    # record payments may bring revenue in, as by hand or by the payment import.
    may_record_revenue = actor.can(Permission.RECORD_PAYMENTS)
    first_row: dict[str, int] = {}
    rows: list[HistoryRow] = []
    skipped = 0
    for position, row_number in enumerate(frame.index):
        row = int(row_number)

        def cell(name: str, position: int = position) -> str | None:
            return cells.get(name, blank)[position]

        try:
            source_id = cell("external_id")
            if not source_id:
                raise _Refused("external_id", N_("No opportunity id."))
            if len(source_id) > MAX_ID:
                raise _Refused(
                    "external_id", N_("The id is longer than {max} characters."), max=MAX_ID
                )
            if source_id in first_row:
                raise _Refused(
                    "external_id", N_("The same id as row {first}."), first=first_row[source_id]
                )
            first_row[source_id] = row
            if external_key(options, source_id) in known:
                skipped += 1
                continue
            history = _read_row(cell, stages, now, zone)
            if history[0] == "won" and not may_record_revenue:
                raise _Refused(
                    "stage",
                    N_(
                        "A won opportunity brings revenue: importing it needs the right to record payments."
                    ),
                )
            owner_name = cell("owner")
            if not owner_name:
                raise _Refused("owner", N_("No owner."))
            team = teams.get(word(owner_name))
            if team is None and cell("team"):
                team = (cell("team"), None)
            owner, unit = mapper.owner(owner_name, team)
        except _Refused as refusal:
            issues.append(
                HistoryIssue(row, header.get(refusal.column), refusal.reason, refusal.params)
            )
            continue
        stage, created, closed, amount = history
        name = (cell("name") or source_id)[:120]
        rows.append(HistoryRow(row, source_id, name, stage, created, closed, amount, owner, unit))
    return rows, issues, skipped, mapper.mapping


def _date(cell, name: str, zone: ZoneInfo) -> datetime | None:
    text = cell(name)
    if not text:
        return None
    try:
        return to_utc(parse_datetime(text), zone)
    except ValueError:
        raise _Refused(name, N_("Not a date: {value}."), value=text) from None


def _read_row(cell, stages: dict[str, str], now: datetime, zone: ZoneInfo):
    """(our stage, created at, closed at, amount) of a row, or _Refused."""
    source_stage = cell("stage")
    if not source_stage:
        raise _Refused("stage", N_("No stage."))
    stage = stages.get(word(source_stage))
    if stage not in DEFAULT_STAGES:
        raise _Refused(
            "stage", NC_("history_import.error", "Unknown stage: {stage}."), stage=source_stage
        )
    engaged, closed = _date(cell, "created_at", zone), _date(cell, "closed_at", zone)
    amount = None
    if stage in CLOSED:
        if closed is None:
            raise _Refused("closed_at", N_("A closed opportunity needs its close date."))
        if stage == "won":
            text = cell("amount")
            if not text:
                raise _Refused("amount", N_("A won opportunity needs its value."))
            try:
                amount = _amount(text)
            except (InvalidOperation, ValueError):
                raise _Refused(
                    "amount", N_("Not an amount of money: {value}."), value=text
                ) from None
    else:
        closed = None  # an open row's close date (expected close) is no close
    created = engaged or closed or now
    if closed is not None and created > closed:
        raise _Refused("closed_at", N_("Closed before it was created."))
    if created > now:
        raise _Refused("created_at", N_("A date in the future."))
    if closed is not None and closed > now:
        raise _Refused("closed_at", N_("A date in the future."))
    return stage, created, closed, amount
