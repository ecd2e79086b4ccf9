"""The HR roster as an import spec: its fields, the cells of a row, and what applying each row
would change (accounts, units, roles and scope read in a handful of queries whatever the
size of the file). See the package docstring for the categories and the roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.imports.engine import FieldSpec, Findings, RowReader
from crm_core.imports.roster.fields import (
    COLUMNS,
    MAX_LENGTH,
    REQUIRED,
    _word,
    parse_date,
    parse_status,
    split_unit_path,
    title_map,
)
from crm_core.models import OrgUnit, Role, User, UserRole, path_ids
from crm_core.org import users
from crm_core.org.access import org_unit_scope
from crm_core.org.units import unit_by_path_names
from crm_core.platform.actor import Actor
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope

FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(
        name,
        synonyms,
        required=name in REQUIRED,
        max_length=MAX_LENGTH.get(name),
        messages={
            "missing": N_("A value is required."),
            "too_long": N_("Too long: at most {maximum} characters."),
        },
    )
    for name, synonyms in COLUMNS.items()
)
OUTSIDE = N_("Outside your scope.")


@dataclass(frozen=True)
class RosterCells:
    """A row's cells as read, before the accounts, units and roles are looked up."""

    row: int
    employee_no: str | None
    name: str | None
    unit: str | None
    title: str | None
    status: str | None
    effective_date: date | None


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


def _chunks(values: list, size: int = 900) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def users_by_number(session: Session, numbers: Iterable[str]) -> dict[str, User]:
    """Existing users by lower-cased employee number (an exact match wins a case clash)."""
    keys = sorted({n.lower() for n in numbers if n})
    found: dict[str, User] = {}
    for chunk in _chunks(keys):
        for user in session.exec(
            select(User).where(func.lower(User.employee_no).in_(chunk)).order_by(User.id)
        ).all():
            found.setdefault(user.employee_no.lower(), user)
    return found


def roles_of(session: Session, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
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


def read_roster(reader: RowReader) -> RosterCells:
    """The row's status and date read; returned even when bad, so a repeated employee
    number is reported on every row that has it."""
    status = None
    if reader["status"] is not None:
        status = parse_status(reader["status"])
        if status is None:
            reader.bad(
                "status",
                N_("Unknown status “{value}”: use active, on leave or resigned."),
                value=reader["status"],
            )
    effective = None
    if reader["date"] is not None:
        try:
            effective = parse_date(reader["date"])
        except ValueError:
            reader.bad("date", N_("Bad date “{value}”: use YYYY-MM-DD."), value=reader["date"])
    number = reader.texts.get("employee_no")  # also when too long: it is still repeated
    return RosterCells(
        reader.number, number, reader["name"], reader["unit"], reader["title"], status, effective
    )


def _changes(
    before: UserState | None,
    cells: RosterCells,
    unit: OrgUnit,
    role: Role | None,
    roles_by_code: dict[str, Role],
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """What applying the row changes on the account, and its roles after (None: kept)."""
    if before is None:
        return (), None
    changes: list[str] = []
    roles_after: tuple[str, ...] | None = None
    if cells.name != before.full_name:
        changes.append("name")
    if cells.title is not None and cells.title != before.title:
        changes.append("title")
    if unit.id != before.org_unit_id:
        changes.append("unit")
    if cells.status != before.status:
        changes.append("status")
    if role is not None and role.code not in before.roles:
        kept = [c for c in before.roles if c in roles_by_code and not roles_by_code[c].builtin]
        roles_after = tuple(sorted({role.code, *kept}))
        changes.append("roles")
    return tuple(changes), roles_after


def check_roster(
    session: Session, actor: Actor, rows: list[RosterCells], found: Findings
) -> list[RosterRow]:
    """Each row against the accounts, units and roles: a repeated employee number, an
    unknown unit or title, a role the actor cannot grant, an account or unit outside the
    actor's scope, a taken username, a disabled unit, an account the actor may not change
    or themselves marked as left are reasons; a good row gets its category and changes."""
    units = {u.id: u for u in session.exec(select(OrgUnit)).all()}
    in_scope = (
        None
        if actor.scope is DataScope.ALL
        else set(session.exec(select(OrgUnit.id).where(org_unit_scope(actor))).all())
    )
    existing = users_by_number(session, (r.employee_no for r in rows if r.employee_no))
    current_roles = roles_of(session, [u.id for u in existing.values()])
    all_roles = list(session.exec(select(Role)).all())
    roles_by_code = {role.code: role for role in all_roles}
    titles = title_map(all_roles)
    new_usernames = sorted({r.employee_no.lower() for r in rows if r.employee_no} - set(existing))
    taken_usernames: set[str] = set()
    for chunk in _chunks(new_usernames):
        taken_usernames.update(
            session.exec(select(User.username).where(col(User.username).in_(chunk))).all()
        )
    resolved: dict[tuple[str, ...], OrgUnit | None] = {}
    grantable: dict[tuple[str, int | None], bool] = {}
    rows_by_number: dict[str, list[int]] = {}
    for cells in rows:
        if cells.employee_no:
            rows_by_number.setdefault(cells.employee_no.lower(), []).append(cells.row)

    good: list[RosterRow] = []
    for cells in rows:
        number = cells.row

        def bad(name: str, key: str, _number: int = number, **params) -> None:
            found.reject(_number, name, key, **params)

        employee_no = cells.employee_no or ""
        key = employee_no.lower()
        if employee_no and len(rows_by_number[key]) > 1:
            bad(
                "employee_no",
                N_("The employee number {employee_no} appears more than once (rows {rows})."),
                employee_no=employee_no,
                rows=", ".join(str(n) for n in rows_by_number[key]),
            )
        unit = None
        if cells.unit:
            names = split_unit_path(cells.unit)
            path_key = tuple(n.lower() for n in names)
            if path_key not in resolved:
                resolved[path_key] = unit_by_path_names(session, names) if names else None
            unit = resolved[path_key]
            if unit is None:
                bad("unit", N_("Unknown unit “{unit}”."), unit=cells.unit)
        role = None
        if cells.title:
            code = titles.get(_word(cells.title))
            role = roles_by_code.get(code) if code else None
            if role is None:
                bad("title", N_("No role matches the title “{title}”."), title=cells.title)
            elif not _grantable(session, actor, role, unit.id if unit else None, grantable):
                bad("title", N_("You cannot grant the role {role}."), role=role.code)
        user = existing.get(key) if employee_no else None
        before = _state(user, units, current_roles.get(user.id, ())) if user is not None else None
        if user is not None and in_scope is not None and user.id != actor.user_id:
            if user.org_unit_id not in in_scope:
                bad("employee_no", OUTSIDE)
        if unit is not None and in_scope is not None and unit.id not in in_scope:
            bad("unit", OUTSIDE)
        if found.is_bad(number) or cells.status is None or unit is None:
            continue

        changes, roles_after = _changes(before, cells, unit, role, roles_by_code)
        category = _category(before, cells.status, changes)
        if category == "new" and key in taken_usernames:
            bad(
                "employee_no",
                N_("The username {username} is taken by another account."),
                username=key,
            )
        if category in ("new", "rejoined") or "unit" in changes:
            if not unit.active:
                bad("unit", N_("The unit “{unit}” is disabled."), unit=cells.unit)
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
        if found.is_bad(number):
            continue
        good.append(
            RosterRow(
                row=number,
                employee_no=employee_no,
                full_name=cells.name or "",
                unit_id=unit.id,
                unit_label=_unit_label(units, unit.id),
                status=cells.status,
                title=cells.title,
                role_code=role.code if role else None,
                effective_date=cells.effective_date,
                category=category,
                changes=changes,
                user_id=user.id if user is not None else None,
                before=before,
                roles_after=roles_after,
            )
        )
    return good
