"""Who a history file names: owners (and who qualified) matched to users, teams to units,
and what must be created for them.

Owners are matched to users in the importer's scope by username or full name, and teams to
units by name under the chosen parent. A name nobody matches becomes, when the importer
asks for it, a resigned account that cannot sign in - but only for a closed row, whose past
(a win, a loss) must keep counting for that person; an open row with an unknown owner goes
to the pool or to dispatch instead (`Unknown`), never to a made-up account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from crm_core.imports.history.columns import HistorySettings
from crm_core.imports.leads.columns import word
from crm_core.models import OrgUnit, User
from crm_core.org.access import org_unit_scope, user_scope
from crm_core.platform.actor import Actor
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, clean_cell, placeholder_set
from crm_core.platform.i18n import N_

_BLANKS = placeholder_set(DEFAULT_PLACEHOLDERS)
# A bad row of the team file refuses the file as a whole: the credit of all the owner's
# rows would be wrong.
NO_OWNER = N_("Row {row} of the team file names no owner.")
NO_TEAM = N_("Row {row} of the team file names no team.")
TWO_TEAMS = N_("Row {row} of the team file gives {owner} a second team.")


@dataclass(frozen=True)
class HistoryIssue:
    """A bad row (or, among the warnings, a kept row's notice): which file (`pipeline` or
    `teams`), its spreadsheet row, the file's column header and the reason (a message with
    its fields)."""

    row: int
    column: str | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    file: str = "pipeline"


class Refused(Exception):
    """Why a row cannot be imported: the field at fault, the reason and its fields."""

    def __init__(self, column: str, reason: str, /, **params: Any) -> None:
        self.column, self.reason, self.params = column, reason, params


class Unknown(Exception):
    """A person the file names whom no user matches, and who is not to be created."""


def cells_of(frame: pd.DataFrame, header: str | None, placeholders: frozenset[str]) -> list:
    """A column's cells with blanks and placeholders as None (all None: no such column)."""
    if not header:
        return [None] * len(frame.index)
    return [clean_cell(v, placeholders) for v in frame[header].tolist()]


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


def read_teams(
    settings: HistorySettings, placeholders: frozenset[str] = _BLANKS
) -> tuple[dict[str, tuple[str, str | None]], list[HistoryIssue]]:
    """owner word -> (team, parent unit name) from the team file, and its bad rows."""
    frame = settings.teams
    if frame is None:
        return {}, []
    mapping = settings.team_mapping
    owners = cells_of(frame, mapping.get("owner"), placeholders)
    teams = cells_of(frame, mapping.get("team"), placeholders)
    parents = cells_of(frame, mapping.get("parent"), placeholders)
    found: dict[str, tuple[str, str | None]] = {}
    issues: list[HistoryIssue] = []
    for row, owner, team, parent in zip(frame.index, owners, teams, parents, strict=True):
        at = int(row)
        if not owner:
            issues.append(HistoryIssue(at, mapping.get("owner"), NO_OWNER, {"row": at}, "teams"))
            continue
        if not team:
            issues.append(HistoryIssue(at, mapping.get("team"), NO_TEAM, {"row": at}, "teams"))
            continue
        key = word(owner)
        if key in found and found[key] != (team, parent):
            params = {"row": at, "owner": owner}
            issues.append(HistoryIssue(at, mapping.get("team"), TWO_TEAMS, params, "teams"))
            continue
        found[key] = (team, parent)
    return found, issues


class PeopleMapper:
    """Matches owners and teams, planning creations as it goes."""

    def __init__(self, session: Session, actor: Actor, options: HistorySettings) -> None:
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
            raise Refused("team", N_("Several units are called {team}."), team=team)
        if candidates:
            found: int | str = candidates[0].id
        elif not self.options.create_missing:
            raise Refused("team", N_("No unit called {team}."), team=team)
        elif parent is None:
            raise Refused("team", N_("Choose where to create {team}."), team=team)
        else:
            found = self._plan_unit(team.strip(), parent)
        self.mapping.units[cache_key] = found
        return found

    def person(self, name: str, home: int | str | None, *, create: bool) -> int | str:
        """The key of the user called `name`: found, planned (when `create` and the
        importer asked for creation), else Unknown. `home` is a new account's unit."""
        key = word(name)
        if key in self.mapping.users:
            known = self.mapping.users[key]
            # A planned (resigned) account carries closed rows only.
            if isinstance(known, str) and not create:
                raise Unknown(name)
            return known
        users = self.users.get(key, [])
        if len(users) > 1:
            users = [u for u in users if word(u.username) == key] or users
        if len(users) > 1:
            raise Refused("owner", N_("Several users are called {owner}."), owner=name)
        if users:
            found: int | str = users[0].id
        elif not (create and self.options.create_missing):
            raise Unknown(name)
        else:
            if home is None:
                home = self.parent.id if self.parent else None
            if home is None:
                raise Refused("owner", N_("{owner} has no team to be credited to."), owner=name)
            found = f"user:{len(self.mapping.new_users) + 1}"
            self.mapping.new_users.append(PlannedUser(found, name.strip(), home))
        self.mapping.users[key] = found
        return found

    def owner(
        self, name: str, team: tuple[str, str | None] | None, *, create: bool
    ) -> tuple[int | str, int | str]:
        """(the owner's key, the unit the row is credited to)."""
        unit = self.unit(*team) if team else None
        owner = self.person(name, unit, create=create)
        if unit is None:
            unit = self.home_of(owner)
        return owner, unit

    def home_of(self, owner: int | str) -> int | str:
        if isinstance(owner, str):
            return next(u.unit for u in self.mapping.new_users if u.key == owner)
        user = next(u for users in self.users.values() for u in users if u.id == owner)
        if user.org_unit_id is None:
            raise Refused(
                "owner", N_("{owner} has no team to be credited to."), owner=user.full_name
            )
        return user.org_unit_id
