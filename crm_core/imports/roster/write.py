"""Applying a checked roster, all of it or none, through the user services (which audit each
account and run the departure rule)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session

from crm_core.imports.engine import Preview, WriteOutcome
from crm_core.imports.roster.fields import DEFAULT_ROLE
from crm_core.imports.roster.spec import RosterRow, roles_of, users_by_number
from crm_core.models import User
from crm_core.org import users
from crm_core.org.auth import validate_new_password
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_


@dataclass(frozen=True)
class NewAccount:
    """An account the roster created; the temporary password is shown once, to hand out."""

    employee_no: str
    username: str
    full_name: str
    temporary_password: str = field(repr=False)


@dataclass(frozen=True)
class Departure:
    employee_no: str
    full_name: str
    target: str  # team_lead | public_pool | redispatch
    moved: int
    to_owner_id: int | None
    fell_back: bool


@dataclass(frozen=True)
class RosterResult:
    counts: dict[str, int]
    created: tuple[NewAccount, ...]
    departures: tuple[Departure, ...]
    audit_id: int | None

    @property
    def opportunities_moved(self) -> int:
        return sum(d.moved for d in self.departures)


def temporary_password(length: int = 12) -> str:
    """A random password with letters and digits, for a new account to change at sign-in."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "lIO0o1")
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            validate_new_password(password)
        except ValidationError:
            continue
        return password


def _at_midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time()) if day is not None else None


def _check_not_stale(session: Session, rows: Iterable[RosterRow]) -> dict[str, User]:
    """The accounts the preview saw, unchanged since; otherwise refuse (preview again)."""
    rows = list(rows)
    existing = users_by_number(session, (row.employee_no for row in rows))
    roles = roles_of(session, [u.id for u in existing.values()])
    for row in rows:
        user = existing.get(row.employee_no.lower())
        if row.before is None:
            fresh = user is None
        else:
            fresh = (
                user is not None
                and user.id == row.user_id
                and (user.full_name, user.org_unit_id, user.status, user.title)
                == (
                    row.before.full_name,
                    row.before.org_unit_id,
                    row.before.status,
                    row.before.title,
                )
                and roles.get(user.id, ()) == row.before.roles
            )
        if not fresh:
            raise ValidationError(
                N_(
                    "The account on row {row} ({employee_no}) changed after the preview; nothing was applied. Upload the file again."
                ),
                row=row.row,
                employee_no=row.employee_no,
            )
    return existing


def _summary(user: User, roles: Iterable[str]) -> dict[str, Any]:
    return {
        "name": user.full_name,
        "unit_id": user.org_unit_id,
        "status": user.status,
        "title": user.title,
        "roles": sorted(roles),
        "hired_on": user.hired_on.date().isoformat() if user.hired_on else None,
        "left_on": user.left_on.date().isoformat() if user.left_on else None,
    }


def write_roster(session: Session, actor: Actor, preview: Preview) -> WriteOutcome:
    """Apply every row, refused when an account the preview describes changed since. New
    accounts get the employee number (lower-cased) as username and a random temporary
    password to change at first sign-in; a departure ends the account's sessions and moves
    its open opportunities by the unit's departure rule. Records one `roster.apply` audit
    entry (the accounts before and after) beside the services' per-account entries."""
    created: list[NewAccount] = []
    departures: list[Departure] = []
    before_summary: dict[str, Any] = {}
    after_summary: dict[str, Any] = {}
    _check_not_stale(session, preview.rows)
    for row in preview.rows:
        if row.category in ("unchanged", "skipped"):
            continue
        if row.user_id is None:
            password = temporary_password()
            user = users.create_user(
                session,
                actor,
                username=row.employee_no.lower(),
                full_name=row.full_name,
                employee_no=row.employee_no,
                password=password,
                org_unit_id=row.unit_id,
                role_codes=[row.role_code or DEFAULT_ROLE],
                status=row.status,
                title=row.title,
                hired_on=_at_midnight(row.effective_date),
                must_change_password=True,
            )
            created.append(NewAccount(row.employee_no, user.username, row.full_name, password))
            after_summary[row.employee_no] = _summary(user, [row.role_code or DEFAULT_ROLE])
            continue

        before = row.before
        before_summary[row.employee_no] = {
            "name": before.full_name,
            "unit_id": before.org_unit_id,
            "status": before.status,
            "title": before.title,
            "roles": list(before.roles),
        }
        fields: dict[str, Any] = {}
        if "name" in row.changes:
            fields["full_name"] = row.full_name
        if "title" in row.changes:
            fields["title"] = row.title
        if "unit" in row.changes:
            fields["org_unit_id"] = row.unit_id
        if "status" in row.changes:
            fields["status"] = row.status
        change = None
        if row.category == "left" and "org_unit_id" in fields:
            # Leave from the current unit first, so the departure rule of the unit where
            # the opportunities were worked applies; then record the new unit.
            change = users.update_user(session, actor, row.user_id, status="resigned")
            fields.pop("status")
            users.update_user(session, actor, row.user_id, **fields)
        elif fields:
            change = users.update_user(session, actor, row.user_id, **fields)
        if row.roles_after is not None:
            users.set_user_roles(session, actor, row.user_id, row.roles_after)
        user = session.get(User, row.user_id)
        if row.category == "left" and row.effective_date is not None:
            user.left_on = _at_midnight(row.effective_date)
        if row.category == "rejoined" and row.effective_date is not None:
            user.hired_on = _at_midnight(row.effective_date)
        session.add(user)
        if change is not None and change.departure is not None:
            outcome = change.departure
            departures.append(
                Departure(
                    employee_no=row.employee_no,
                    full_name=row.full_name,
                    target=outcome.target,
                    moved=outcome.moved,
                    to_owner_id=outcome.to_owner_id,
                    fell_back=outcome.fell_back,
                )
            )
        after_summary[row.employee_no] = _summary(
            user, row.roles_after if row.roles_after is not None else before.roles
        ) | ({"date": row.effective_date.isoformat()} if row.effective_date else {})
    counts = {k: v for k, v in preview.counts.items() if v}
    entry = audit.record(
        session,
        actor,
        "roster.apply",
        "roster",
        (preview.source or "roster")[:80],
        {"rows": preview.total_rows, "users": before_summary},
        {
            "counts": counts,
            "opportunities_moved": sum(d.moved for d in departures),
            "departures": [
                {"employee_no": d.employee_no, "target": d.target, "moved": d.moved}
                for d in departures
            ],
            "users": after_summary,
        },
    )
    session.flush()
    audit_id = entry.id
    result = RosterResult(counts, tuple(created), tuple(departures), audit_id)
    return WriteOutcome(counts, result=result, audit_id=audit_id)
