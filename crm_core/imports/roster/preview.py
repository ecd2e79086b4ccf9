"""Checking a roster and saying what it would change (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.imports.file_import import checked_mapping, missing_fields
from crm_core.imports.roster.fields import (
    CATEGORIES,
    COLUMNS,
    MAX_LENGTH,
    REQUIRED,
    _word,
    parse_date,
    parse_status,
    split_unit_path,
    title_map,
)
from crm_core.imports.tabular import guess_mapping
from crm_core.models import OrgUnit, Role, User, UserRole, path_ids
from crm_core.org import users
from crm_core.org.access import org_unit_scope
from crm_core.org.units import unit_by_path_names
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope, Permission

# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowIssue:
    """Why a row is bad: translate `key` with `params` in the page."""

    row: int
    column: str  # the field (employee_no, name, unit, title, status, date) or "" for the row
    header: str  # the file's column header for that field
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UserState:
    """An existing account as the preview saw it; apply checks it has not changed since."""

    full_name: str
    org_unit_id: int | None
    unit_label: str
    status: str
    title: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RosterRow:
    """A good row and what applying it does."""

    row: int
    employee_no: str
    full_name: str
    unit_id: int
    unit_label: str
    status: str
    title: str | None  # None: the file gives no title (keep the account's)
    role_code: str | None  # the role the title maps to; None without a title
    effective_date: date | None
    category: str
    changes: tuple[str, ...]  # of: name, title, unit, status, roles
    user_id: int | None = None
    before: UserState | None = None
    roles_after: tuple[str, ...] | None = None  # None: roles stay as they are


@dataclass(frozen=True)
class RosterPreview:
    rows: tuple[RosterRow, ...]
    issues: tuple[RowIssue, ...]
    mapping: dict[str, str | None]
    source: str
    actor_user_id: int | None
    total_rows: int

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def bad_rows(self) -> list[int]:
        return sorted({issue.row for issue in self.issues})

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CATEGORIES, 0)
        for row in self.rows:
            counts[row.category] += 1
        return counts

    def rows_in(self, category: str) -> list[RosterRow]:
        return [row for row in self.rows if row.category == category]


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


# --- preview -------------------------------------------------------------------------------


def guess_columns(columns: Iterable[str]) -> dict[str, str | None]:
    """The file column for each roster field, guessed from English or Chinese headers."""
    return guess_mapping(columns, COLUMNS)


def missing_columns(mapping: Mapping[str, str | None]) -> list[str]:
    """Required fields the mapping leaves without a column."""
    return missing_fields(mapping, REQUIRED)


def _chunks(values: list, size: int = 900) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _users_by_number(session: Session, numbers: Iterable[str]) -> dict[str, User]:
    """Existing users by lower-cased employee number (an exact match wins a case clash)."""
    keys = sorted({n.lower() for n in numbers if n})
    found: dict[str, User] = {}
    for chunk in _chunks(keys):
        for user in session.exec(
            select(User).where(func.lower(User.employee_no).in_(chunk)).order_by(User.id)
        ).all():
            found.setdefault(user.employee_no.lower(), user)
    return found


def _roles_of(session: Session, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    roles: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        for user_id, code in session.exec(
            select(UserRole.user_id, Role.code)
            .join(Role, col(Role.id) == col(UserRole.role_id))
            .where(col(UserRole.user_id).in_(chunk))
        ).all():
            roles.setdefault(user_id, []).append(code)
    return {user_id: tuple(sorted(codes)) for user_id, codes in roles.items()}


def _unit_label(units: dict[int, OrgUnit], unit_id: int | None) -> str:
    if unit_id is None or unit_id not in units:
        return ""
    ids = path_ids(units[unit_id].path)
    return " / ".join(units[i].name for i in ids if i in units)


def _state(user: User, units: dict[int, OrgUnit], roles: tuple[str, ...]) -> UserState:
    return UserState(
        full_name=user.full_name,
        org_unit_id=user.org_unit_id,
        unit_label=_unit_label(units, user.org_unit_id),
        status=user.status,
        title=user.title,
        roles=roles,
    )


def _grantable(
    session: Session,
    actor: Actor,
    role: Role,
    unit_id: int | None,
    memo: dict[tuple[str, int | None], bool],
) -> bool:
    """Whether the actor may grant `role` to an account in unit `unit_id`, as the services
    will check it when the file is applied (remembered per role and unit: a file names few
    of each)."""
    key = (role.code, unit_id)
    if key not in memo:
        try:
            users.ensure_can_grant_at(session, actor, role, unit_id)
        except PermissionDenied:
            memo[key] = False
        else:
            memo[key] = True
    return memo[key]


def _category(before: UserState | None, status: str, changes: tuple[str, ...]) -> str:
    if before is None:
        return "skipped" if status == "resigned" else "new"
    old = before.status
    if status == "resigned" and old != "resigned":
        return "left"
    if old == "resigned" and status != "resigned":
        return "rejoined"
    if old == "on_leave" and status == "active":
        return "back_from_leave"
    if old == "active" and status == "on_leave":
        return "on_leave"
    if "unit" in changes:
        return "moved"
    if changes:
        return "changed"
    return "unchanged"


def preview_roster(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    mapping: Mapping[str, str | None] | None = None,
    *,
    source: str | None = None,
) -> RosterPreview:
    """Check every row of `frame` (from `read_table`) and say what applying it would do.

    `mapping` is field -> file column (guessed from the headers when None). Rows are
    numbered as in the file: the header is row 1, the first data row row 2. Reads with a
    handful of queries whatever the size of the file; writes nothing.
    """
    actor.require(Permission.MANAGE_USERS)
    mapping = checked_mapping(frame, mapping, COLUMNS, missing_columns)
    source = source or str(frame.attrs.get("filename") or "")
    numbers = (
        [int(n) for n in frame.index]
        if frame.index.name == "row"
        else list(range(2, len(frame) + 2))
    )

    def texts(column: str | None) -> list[str]:
        if column is None:
            return [""] * len(frame)
        return ["" if pd.isna(v) else str(v).strip() for v in frame[column].tolist()]

    columns = {name: texts(mapping[name]) for name in COLUMNS}
    records = [
        {name: columns[name][position] for name in COLUMNS} | {"row": number}
        for position, number in enumerate(numbers)
    ]

    # Everything the checks need, in a few queries.
    units = {u.id: u for u in session.exec(select(OrgUnit)).all()}
    in_scope = (
        None
        if actor.scope is DataScope.ALL
        else set(session.exec(select(OrgUnit.id).where(org_unit_scope(actor))).all())
    )
    existing = _users_by_number(session, (r["employee_no"] for r in records))
    current_roles = _roles_of(session, [u.id for u in existing.values()])
    all_roles = list(session.exec(select(Role)).all())
    roles_by_code = {role.code: role for role in all_roles}
    titles = title_map(all_roles)
    new_usernames = sorted(
        {r["employee_no"].lower() for r in records if r["employee_no"]} - set(existing)
    )
    taken_usernames: set[str] = set()
    for chunk in _chunks(new_usernames):
        taken_usernames.update(
            session.exec(select(User.username).where(col(User.username).in_(chunk))).all()
        )
    resolved: dict[tuple[str, ...], OrgUnit | None] = {}
    grantable: dict[tuple[str, int | None], bool] = {}

    rows_by_number: dict[str, list[int]] = {}
    for record in records:
        if record["employee_no"]:
            rows_by_number.setdefault(record["employee_no"].lower(), []).append(record["row"])

    issues: list[RowIssue] = []
    good: list[RosterRow] = []
    for record in records:
        number = record["row"]
        row_issues: list[RowIssue] = []

        def bad(name: str, key: str, _number: int = number, _out=row_issues, **params) -> None:
            _out.append(RowIssue(_number, name, mapping.get(name) or "", key, params))

        for name in REQUIRED:
            if not record[name]:
                bad(name, N_("A value is required."))
        for name, limit in MAX_LENGTH.items():
            if len(record[name]) > limit:
                bad(name, N_("Too long: at most {maximum} characters."), maximum=limit)
        employee_no = record["employee_no"]
        key = employee_no.lower()
        if employee_no and len(rows_by_number[key]) > 1:
            bad(
                "employee_no",
                N_("The employee number {employee_no} appears more than once (rows {rows})."),
                employee_no=employee_no,
                rows=", ".join(str(n) for n in rows_by_number[key]),
            )

        status = None
        if record["status"]:
            status = parse_status(record["status"])
            if status is None:
                bad(
                    "status",
                    N_("Unknown status “{value}”: use active, on leave or resigned."),
                    value=record["status"],
                )

        effective = None
        if record["date"]:
            try:
                effective = parse_date(record["date"])
            except ValueError:
                bad("date", N_("Bad date “{value}”: use YYYY-MM-DD."), value=record["date"])

        unit = None
        if record["unit"]:
            names = split_unit_path(record["unit"])
            path_key = tuple(n.lower() for n in names)
            if path_key not in resolved:
                resolved[path_key] = unit_by_path_names(session, names) if names else None
            unit = resolved[path_key]
            if unit is None:
                bad("unit", N_("Unknown unit “{unit}”."), unit=record["unit"])

        title = record["title"] or None
        role = None
        if title:
            code = titles.get(_word(title))
            role = roles_by_code.get(code) if code else None
            if role is None:
                bad("title", N_("No role matches the title “{title}”."), title=title)
            elif not _grantable(session, actor, role, unit.id if unit else None, grantable):
                bad("title", N_("You cannot grant the role {role}."), role=role.code)

        user = existing.get(key) if employee_no else None
        before = _state(user, units, current_roles.get(user.id, ())) if user is not None else None
        if user is not None and in_scope is not None and user.id != actor.user_id:
            if user.org_unit_id not in in_scope:
                bad("employee_no", N_("Outside your scope."))
        if unit is not None and in_scope is not None and unit.id not in in_scope:
            bad("unit", N_("Outside your scope."))

        if row_issues or status is None or unit is None:
            issues.extend(row_issues)
            continue

        name = record["name"]
        changes: list[str] = []
        roles_after: tuple[str, ...] | None = None
        if before is not None:
            if name != before.full_name:
                changes.append("name")
            if title is not None and title != before.title:
                changes.append("title")
            if unit.id != before.org_unit_id:
                changes.append("unit")
            if status != before.status:
                changes.append("status")
            if role is not None and role.code not in before.roles:
                kept = [
                    c for c in before.roles if c in roles_by_code and not roles_by_code[c].builtin
                ]
                roles_after = tuple(sorted({role.code, *kept}))
                changes.append("roles")
        category = _category(before, status, tuple(changes))

        if category == "new" and key in taken_usernames:
            bad(
                "employee_no",
                N_("The username {username} is taken by another account."),
                username=key,
            )
        if category in ("new", "rejoined") or "unit" in changes:
            if not unit.active:
                bad("unit", N_("The unit “{unit}” is disabled."), unit=record["unit"])
        if user is not None and changes:
            if not all(
                _grantable(session, actor, roles_by_code[c], before.org_unit_id, grantable)
                for c in before.roles
                if c in roles_by_code
            ):
                bad(
                    "employee_no",
                    N_("This account holds a role you cannot grant, so you cannot change it."),
                )
            elif "unit" in changes:
                # The move is applied before any new role: the roles held now go along, and
                # must not reach, from the new unit, beyond the actor.
                for code in before.roles:
                    if code in roles_by_code and not _grantable(
                        session, actor, roles_by_code[code], unit.id, grantable
                    ):
                        bad(
                            "unit",
                            N_(
                                "In this unit the account's role {role} would reach data outside your scope."
                            ),
                            role=code,
                        )
            if user.id == actor.user_id:
                if roles_after is not None and actor.scope is not DataScope.ALL:
                    bad("title", N_("You cannot change your own roles."))
                if category == "left":
                    bad("status", N_("You cannot mark yourself as left."))
        if row_issues:
            issues.extend(row_issues)
            continue
        good.append(
            RosterRow(
                row=number,
                employee_no=employee_no,
                full_name=name,
                unit_id=unit.id,
                unit_label=_unit_label(units, unit.id),
                status=status,
                title=title,
                role_code=role.code if role else None,
                effective_date=effective,
                category=category,
                changes=tuple(changes),
                user_id=user.id if user is not None else None,
                before=before,
                roles_after=roles_after,
            )
        )
    return RosterPreview(
        rows=tuple(good),
        issues=tuple(issues),
        mapping=mapping,
        source=source,
        actor_user_id=actor.user_id,
        total_rows=len(records),
    )
