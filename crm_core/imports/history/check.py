"""Checking a history file's rows against the database, over all rows at once (the spec's
`check`): which people are in the lead library already (`library.match_library`, a few
chunked queries), who the owners and qualifiers are and which units the rows are credited
to, with the users and units to create (`people.PeopleMapper`, over the users and units in
the importer's scope loaded once), and what the rows' dates mean.

What real exports hold and the product can keep is a notice on a kept row: a closed row
without a close date takes the latest date it holds; a row closed before it was created
keeps the file's dates; an open row whose owner is no user goes to the pool or to dispatch;
an unknown qualifier is left empty. A bad row's notices are dropped: its reason says it all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm_core.imports.engine import Findings
from crm_core.imports.history.columns import CLOSED, HistorySettings
from crm_core.imports.history.library import LibraryMatches, match_library
from crm_core.imports.history.people import Mapping, PeopleMapper, Refused, Unknown, read_teams
from crm_core.imports.history.rows import ALREADY_OPEN, IMPORTED, HistoryRow, Note
from crm_core.imports.leads.columns import word
from crm_core.models import OPEN_STAGES, OrgUnit
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, to_local
from crm_core.platform.i18n import N_
from crm_core.sales.stages import funnel_rank


def proven_stage(stage: str, stage_before: str | None, qualified: bool) -> str:
    """The furthest open stage a row's own data proves: an open row its stage; a closed
    row the stage it was at before closing (when the file says), or `qualified` when the
    file names who qualified it, or `new`. A won row never gains trial stages it did not
    have: its win is counted from its stage, not from here."""
    if stage in OPEN_STAGES:
        return stage
    proven = "new"
    if stage_before in OPEN_STAGES:
        proven = stage_before
    if qualified and funnel_rank("qualified") > funnel_rank(proven):
        proven = "qualified"
    return proven


class _Checker:
    """The rows in file order, with what the whole file shares."""

    def __init__(self, session: Session, actor: Actor, rows: list[HistoryRow], settings) -> None:
        self.settings: HistorySettings = settings or HistorySettings()
        self.teams, _ = read_teams(self.settings)  # a bad team file is refused before
        self.mapper = PeopleMapper(session, actor, self.settings)
        self.library: LibraryMatches = match_library(
            session,
            {r.business_line_id for r in rows},
            {r.lead_external_id for r in rows if r.lead_external_id},
            {r.phone for r in rows if r.phone},
            {r.email for r in rows if r.email},
        )
        self.zone = company_zone(session)
        self.now = clock.now()
        self.taken: set[int] = set()  # stored opportunities a row is written onto
        self.open_people: set[object] = set()  # (person, line) given an open row

    def check(self, row: HistoryRow) -> list[Note]:
        """Fill in the row's people, lead and dates; its notices. Raises Refused."""
        notes: list[Note] = []
        closed_row = row.stage in CLOSED
        stored_start = self._person(row, closed_row)
        if closed_row and row.closed_at is None:
            row.closed_at = self._last_known_date(row, stored_start, notes)
        notes += row.notes
        if row.created_at is None:
            row.created_at = stored_start or row.closed_at or self.now
        if row.closed_at is not None and row.created_at > row.closed_at:
            notes.append(
                ("closed_at", N_("Closed before it was created: the file's dates are kept."), {})
            )
        if row.created_at > self.now:
            raise Refused("created_at", N_("A date in the future."))
        if row.closed_at is not None and row.closed_at > self.now:
            raise Refused("closed_at", N_("A date in the future."))
        self._people(row, closed_row, notes)
        if closed_row:
            row.pool_state = "closed"
        elif row.owner is not None:
            row.pool_state = "owned"
        else:
            row.pool_state = "public" if self.settings.unowned == "pool" else "unassigned"
        row.furthest = proven_stage(row.stage, row.stage_before, bool(row.qualifier_name))
        return notes

    def _person(self, row: HistoryRow, closed_row: bool) -> datetime | None:
        """Which lead the row's person is (stored, or new) and the stored opportunity it is
        written onto, if any; returns that opportunity's start."""
        row.lead_id = self.library.lead_of(row.lead_external_id, row.phone, row.email)
        line = row.business_line_id
        stored = self.library.open_in_line.get((row.lead_id, line)) if row.lead_id else None
        if stored is not None and stored.adoptable and stored.id not in self.taken:
            self.taken.add(stored.id)
            row.takeover = stored.id
            return stored.created_at
        person: Any = row.lead_id
        if person is None:
            person = next(
                (
                    (kind, value)
                    for kind, value in (
                        ("id", row.lead_external_id),
                        ("phone", row.phone),
                        ("email", row.email),
                    )
                    if value
                ),
                None,
            )
        if not closed_row and person is not None:
            if stored is not None or (person, line) in self.open_people:
                raise Refused(row.person_field or "lead_id", ALREADY_OPEN)
            self.open_people.add((person, line))
        return None

    def _last_known_date(self, row: HistoryRow, stored: datetime | None, notes) -> datetime:
        known = [d for d in (row.created_at, stored) if d is not None]
        if not known:
            raise Refused("closed_at", N_("A closed opportunity needs a date: it has none."))
        last = max(known)
        notes.append(
            (
                "closed_at",
                N_("No close date: its last known date {date} is used."),
                {"date": to_local(last, row.zone or self.zone).strftime("%Y-%m-%d %H:%M")},
            )
        )
        return last

    def _people(self, row: HistoryRow, closed_row: bool, notes: list[Note]) -> None:
        """The row's owner, unit and qualifier keys. Unknown people: a closed row's become
        resigned accounts when asked (else the row is bad); an open row goes without an
        owner."""
        mapper, name = self.mapper, row.owner_name
        team = self.teams.get(word(name)) if name else None
        if team is None and row.team_name:
            team = (row.team_name, None)
        if name:
            try:
                row.owner, row.unit = mapper.owner(name, team, create=closed_row)
            except Unknown:
                if closed_row:
                    raise Refused("owner", N_("No user called {owner}."), owner=name) from None
                notes.append(
                    (
                        "owner",
                        N_("No user called {owner}: the row goes to the pool or to dispatch."),
                        {"owner": name},
                    )
                )
        if row.owner is None:
            row.unit = mapper.unit(*team) if team else (mapper.parent.id if mapper.parent else None)
        qualifier = row.qualifier_name
        if qualifier:
            try:
                row.qualifier = mapper.person(qualifier, row.unit, create=closed_row)
            except Unknown:
                notes.append(
                    (
                        "qualifier",
                        N_("No user called {owner}: who qualified it is left empty."),
                        {"owner": qualifier},
                    )
                )
            except Refused as refusal:
                raise Refused("qualifier", refusal.reason, **refusal.params) from None


def check_history(
    session: Session, actor: Actor, rows: list[HistoryRow], found: Findings
) -> list[HistoryRow]:
    """The rows that can be imported, each with its people, lead and dates; the others
    rejected with their reason, the kept rows' notices as warnings, and the users and
    units to create in `found.details` (`people`, `new_users`, `new_units`)."""
    fresh = [r for r in rows if r.category == IMPORTED and not found.is_bad(r.row)]
    checker = _Checker(session, actor, fresh, found.settings)
    for row in fresh:
        try:
            notes = checker.check(row)
        except Refused as refusal:
            found.reject(row.row, refusal.column, refusal.reason, **refusal.params)
            continue
        for name, reason, params in notes:
            found.warn(row.row, name, reason, **params)
    people = checker.mapper.mapping
    found.details["people"] = people
    found.details.update(_named_plan(session, people))
    return [r for r in rows if not found.is_bad(r.row)]


def _named_plan(session: Session, people: Mapping) -> dict[str, list[tuple[str, str]]]:
    """The users and units to create, each with the name of the unit it goes under."""
    ids = {u.unit for u in people.new_users if isinstance(u.unit, int)}
    ids |= {u.parent for u in people.new_units if isinstance(u.parent, int)}
    names = {}
    if ids:
        query = select(OrgUnit.id, OrgUnit.name).where(col(OrgUnit.id).in_(ids))
        names = dict(session.exec(query).all())
    planned = {u.key: u.name for u in people.new_units}

    def name_of(key: int | str) -> str:
        return planned.get(key) or names.get(key, "")  # type: ignore[arg-type]

    return {
        "new_users": [(u.name, name_of(u.unit)) for u in people.new_users],
        "new_units": [(u.name, name_of(u.parent)) for u in people.new_units],
    }
