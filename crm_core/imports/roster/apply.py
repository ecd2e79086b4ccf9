"""Applying a checked roster, all of it or none."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session

from crm_core.imports.file_import import check_preview_owner, one_transaction
from crm_core.imports.roster.fields import (
    CATEGORIES,
    COLUMNS,
    DEFAULT_ROLE,
    REQUIRED,
    parse_date,
    parse_status,
)
from crm_core.imports.roster.preview import (
    Departure,
    NewAccount,
    RosterPreview,
    RosterResult,
    RosterRow,
    RowIssue,
    UserState,
    _roles_of,
    _users_by_number,
    guess_columns,
    missing_columns,
    preview_roster,
)
from crm_core.models import User
from crm_core.org import users
from crm_core.org.auth import validate_new_password
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

# --- apply ---------------------------------------------------------------------------------


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


def _check_not_stale(session: Session, preview: RosterPreview) -> dict[str, User]:
    """The accounts the preview saw, unchanged since; otherwise refuse (preview again)."""
    existing = _users_by_number(session, (row.employee_no for row in preview.rows))
    roles = _roles_of(session, [u.id for u in existing.values()])
    for row in preview.rows:
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


def apply_roster(session: Session, actor: Actor, preview: RosterPreview) -> RosterResult:
    """Apply a preview: every row or none, in one transaction that this function commits
    (or rolls back, re-raising, on any error).

    Refused when the preview has bad rows, was made for another user, or an account it
    describes changed since. New accounts get the employee number (lower-cased) as username
    and a random temporary password to change at first sign-in; a departure ends the
    account's sessions and moves its open opportunities by the unit's departure rule.
    Writes one `roster.apply` audit entry beside the services' per-account entries.
    """
    actor.require(Permission.MANAGE_USERS)
    if preview.issues:
        raise ValidationError(
            N_("The roster has {count} bad rows; nothing was applied."), count=len(preview.bad_rows)
        )
    check_preview_owner(actor, preview)
    created: list[NewAccount] = []
    departures: list[Departure] = []
    before_summary: dict[str, Any] = {}
    after_summary: dict[str, Any] = {}
    with one_transaction(session):
        _check_not_stale(session, preview)
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
    return RosterResult(
        counts=counts,
        created=tuple(created),
        departures=tuple(departures),
        audit_id=audit_id,
    )


__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "REQUIRED",
    "Departure",
    "NewAccount",
    "RosterPreview",
    "RosterResult",
    "RosterRow",
    "RowIssue",
    "UserState",
    "apply_roster",
    "guess_columns",
    "missing_columns",
    "parse_date",
    "parse_status",
    "preview_roster",
    "temporary_password",
]
