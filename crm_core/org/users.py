"""User accounts: creating and editing them, their roles, their status.

Nobody grants a permission, or a reach, beyond their own, and nobody edits an account
that holds more than they could grant it where it is: these checks are here, not in the
pages. A reach is what a role covers from the account's unit (a team role that unit, a
subtree role everything below it), compared with what the granter covers; so creating an
account, changing its roles and moving it to another unit are all checked alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from crm_core.models import USER_STATUSES, OrgUnit, Role, User, UserRole
from crm_core.org.access import reaches_subtree, reaches_unit, unit_clause, user_scope
from crm_core.org.auth import hash_password, validate_new_password
from crm_core.org.departure import DepartureOutcome, move_open_opportunities
from crm_core.org.unit_labels import unit_labels
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import LANGUAGES, N_
from crm_core.platform.permissions import MARKERS, DataScope, Permission
from crm_core.platform.search_keys import contains, search_text

EDITABLE_FIELDS = (
    "full_name",
    "email",
    "title",
    "org_unit_id",
    "status",
    "enabled",
    "skill_tags",
    "dispatch_weight",
    "daily_cap",
    "holding_cap",
    "on_shift",
)


def role_by_code(session: Session, code: str) -> Role:
    role = session.exec(select(Role).where(Role.code == code)).first()
    if role is None:
        raise NotFound(entity="role", id=code)
    return role


def ensure_can_grant(session: Session, actor: Actor, role: Role) -> None:
    """Nobody grants a permission, a scope or a discount limit wider than their own. Being
    a dispatch target is a marker, not a power: a manager may grant it without holding it.

    This is the check of the role alone, wherever it is held (the role editor, the choice
    of roles): its scope must be one the actor could grant to someone somewhere. Giving the
    role to an account, or moving an account, also needs `ensure_reach_from_unit`."""

    if not set(role.permissions or []) - MARKERS <= actor.permissions:
        raise PermissionDenied(
            N_("You cannot grant the role {role}: it has permissions you lack."), role=role.code
        )
    if (role.max_discount_pct or 0) > discount_limit(session, actor):
        raise PermissionDenied(
            N_("You cannot grant the role {role}: its discount limit ({limit}%) is above yours."),
            role=role.code,
            limit=role.max_discount_pct,
        )
    if actor.scope is DataScope.ALL:
        return
    # What a scope reaches is compared, never how wide its kind is: a custom list of one
    # unit and a subtree rank alike, yet only a subtree of the actor's own covers a subtree.
    scope = DataScope(role.data_scope)
    if scope is DataScope.ALL:
        raise PermissionDenied(
            N_("You cannot grant the role {role}: its data scope is wider than yours."),
            role=role.code,
        )
    if scope is DataScope.SUBTREE and not actor.subtree_paths:
        raise PermissionDenied(
            N_("You cannot grant the role {role}: its data scope is wider than yours."),
            role=role.code,
        )
    if scope is DataScope.TEAM and not (actor.exact_unit_ids or actor.subtree_paths):
        raise PermissionDenied(
            N_("You cannot grant the role {role}: its data scope is wider than yours."),
            role=role.code,
        )
    if scope is DataScope.CUSTOM:
        wanted = {int(u) for u in role.scope_unit_ids or []}
        reached = session.exec(
            select(func.count()).where(col(OrgUnit.id).in_(wanted), unit_clause(actor, OrgUnit.id))
        ).one()
        if reached != len(wanted):
            raise PermissionDenied(
                N_("You cannot grant the role {role}: its data scope is wider than yours."),
                role=role.code,
            )


def ensure_reach_from_unit(session: Session, actor: Actor, role: Role, unit_id: int | None) -> None:
    """Refuse unless what `role` reaches for an account in unit `unit_id` lies within what
    the actor reaches: a team role reaches that unit, a subtree role that unit with all
    that is or will be below it (custom and all reach the same from anywhere, and
    `ensure_can_grant` checks them). Raises `users.error.grant_reach` naming the unit."""
    scope = DataScope(role.data_scope)
    if actor.scope is DataScope.ALL or unit_id is None:
        return  # an account without a unit reaches no unit through team or subtree
    if scope not in (DataScope.TEAM, DataScope.SUBTREE):
        return
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(entity="org_unit", id=unit_id)
    if scope is DataScope.TEAM:
        within = reaches_unit(actor, unit.id, unit.path)
    else:
        within = reaches_subtree(actor, unit.path)
    if not within:
        raise PermissionDenied(
            N_(
                "You cannot give the role {role} to someone in {unit}: from there it would reach data outside your own scope."
            ),
            role=role.code,
            unit=unit.name,
        )


def ensure_can_grant_at(session: Session, actor: Actor, role: Role, unit_id: int | None) -> None:
    """`ensure_can_grant`, and the role's reach from unit `unit_id` within the actor's."""
    ensure_can_grant(session, actor, role)
    ensure_reach_from_unit(session, actor, role, unit_id)


def user_roles(session: Session, user_id: int) -> list[Role]:
    return list(
        session.exec(
            select(Role)
            .join(UserRole, col(UserRole.role_id) == col(Role.id))
            .where(UserRole.user_id == user_id)
        ).all()
    )


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """One user within the actor's scope."""
    user = session.exec(select(User).where(User.id == user_id, user_scope(actor))).first()
    if user is None:
        raise NotFound(entity="user", id=user_id)
    return user


def manageable_user(session: Session, actor: Actor, user_id: int) -> User:
    """A user the actor may edit: in scope, and holding nothing the actor could not grant
    them where they are."""
    actor.require(Permission.MANAGE_USERS)
    user = get_user(session, actor, user_id)
    for role in user_roles(session, user.id):
        ensure_can_grant_at(session, actor, role, user.org_unit_id)
    return user


def _unit_in_scope(session: Session, actor: Actor, unit_id: int | None) -> OrgUnit | None:
    if unit_id is None:
        if actor.scope is not DataScope.ALL:
            raise PermissionDenied(N_("Choose a unit for the user."))
        return None
    unit = session.exec(
        select(OrgUnit).where(OrgUnit.id == unit_id, unit_clause(actor, OrgUnit.id))
    ).first()
    if unit is None:
        raise NotFound(entity="org_unit", id=unit_id)
    if not unit.active:
        raise ValidationError(N_("The unit {unit} is disabled."), unit=unit.name)
    return unit


def _ensure_may_move(session: Session, actor: Actor, user: User, unit_id: int | None) -> None:
    """Moving an account moves the reach of its team and subtree roles with it: the target
    unit must be in the actor's scope, and every role the account holds must reach, from
    there, nothing beyond what the actor reaches."""
    _unit_in_scope(session, actor, unit_id)
    for role in user_roles(session, user.id):
        ensure_reach_from_unit(session, actor, role, unit_id)


def _snapshot(session: Session, user: User) -> dict[str, Any]:
    data = {name: getattr(user, name) for name in EDITABLE_FIELDS}
    data["roles"] = sorted(r.code for r in user_roles(session, user.id))
    return data


def validate_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise editable fields; raise ValidationError naming the first bad one."""
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValidationError(N_("{field} cannot be edited here."), field=name)
        if name == "full_name":
            value = (value or "").strip()
            if not value:
                raise ValidationError(N_("A name is required."))
        elif name == "status" and value not in USER_STATUSES:
            raise ValidationError(N_("Unknown status {status}."), status=value)
        elif name in ("dispatch_weight", "daily_cap", "holding_cap"):
            try:
                value = int(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError(N_("{field} must be a whole number."), field=name) from exc
            if value < 0:
                raise ValidationError(N_("{field} cannot be negative."), field=name)
        elif name == "skill_tags":
            if isinstance(value, str):
                value = [v for v in (p.strip() for p in value.replace(",", ",").split(",")) if v]
            value = sorted({str(v).strip() for v in value or [] if str(v).strip()})
        elif name in ("enabled", "on_shift"):
            value = bool(value)
        elif name in ("email", "title"):
            value = (value or "").strip() or None
        clean[name] = value
    return clean


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    employee_no: str,
    password: str,
    org_unit_id: int | None,
    role_codes: Iterable[str],
    status: str = "active",
    email: str | None = None,
    title: str | None = None,
    language: str = "zh",
    skill_tags: Iterable[str] = (),
    dispatch_weight: int = 1,
    daily_cap: int = 30,
    holding_cap: int = 300,
    hired_on: datetime | None = None,
    must_change_password: bool = False,
    password_hash: str | None = None,
) -> User:
    """Create an account in a unit within the actor's scope, with roles the actor may grant.

    `password_hash` lets bulk setup reuse one hash for many demo accounts.
    """
    actor.require(Permission.MANAGE_USERS)
    username = (username or "").strip().lower()
    employee_no = (employee_no or "").strip()
    if not username:
        raise ValidationError(N_("A username is required."))
    if not employee_no:
        raise ValidationError(N_("An employee number is required."))
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise ValidationError(N_("The username {username} is taken."), username=username)
    if session.exec(select(User.id).where(User.employee_no == employee_no)).first() is not None:
        raise ValidationError(
            N_("The employee number {employee_no} is taken."), employee_no=employee_no
        )
    _unit_in_scope(session, actor, org_unit_id)
    roles = [role_by_code(session, code) for code in role_codes]
    for role in roles:
        ensure_can_grant_at(session, actor, role, org_unit_id)
    fields = validate_fields(
        {
            "full_name": full_name,
            "status": status,
            "email": email,
            "title": title,
            "skill_tags": list(skill_tags),
            "dispatch_weight": dispatch_weight,
            "daily_cap": daily_cap,
            "holding_cap": holding_cap,
        }
    )
    if password_hash is None:
        validate_new_password(password)
        password_hash = hash_password(password)
    user = User(
        username=username,
        employee_no=employee_no,
        password_hash=password_hash,
        org_unit_id=org_unit_id,
        language=language if language in LANGUAGES else "zh",
        hired_on=hired_on,
        must_change_password=must_change_password,
        **fields,
    )
    session.add(user)
    session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role_id=role.id))
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, None, _snapshot(session, user))
    session.flush()
    return user


@dataclass(frozen=True)
class UserChange:
    user: User
    departure: DepartureOutcome | None = None


def update_user(session: Session, actor: Actor, user_id: int, **changes: Any) -> UserChange:
    """Edit an account. Moving it needs the target unit in scope; setting it to resigned
    ends its sessions and moves its open opportunities by the departure rule."""
    user = manageable_user(session, actor, user_id)
    clean = validate_fields(changes)
    if "org_unit_id" in clean and clean["org_unit_id"] != user.org_unit_id:
        _ensure_may_move(session, actor, user, clean["org_unit_id"])
    leaving = clean.get("status") == "resigned" or clean.get("enabled") is False
    if leaving and _is_admin(session, user):
        _ensure_not_last_admin(session, user)
    before = _snapshot(session, user)
    was_resigned = user.status == "resigned"
    for name, value in clean.items():
        setattr(user, name, value)
    departure = None
    if user.status == "resigned" and not was_resigned:
        departure = _leave(session, actor, user)
    elif was_resigned and user.status != "resigned":
        # Back after leaving: the old password may have travelled, so it must change.
        user.left_on = None
        user.must_change_password = True
    if not user.enabled and before["enabled"]:
        user.sessions_valid_after = clock.now()
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.update", "user", user.id, before, _snapshot(session, user))
    session.flush()
    return UserChange(user, departure)


def _leave(session: Session, actor: Actor, user: User) -> DepartureOutcome:
    user.left_on = clock.now()
    user.sessions_valid_after = clock.now()
    session.add(user)
    session.flush()
    return move_open_opportunities(session, actor, user)


def _ensure_not_last_admin(session: Session, user: User) -> None:
    """Keep at least one active, enabled administrator, or nobody could run the system."""
    admin_ids = (
        select(UserRole.user_id)
        .join(Role, col(Role.id) == col(UserRole.role_id))
        .where(Role.code == "admin")
    )
    others = session.exec(
        select(func.count()).where(
            col(User.id).in_(admin_ids),
            User.id != user.id,
            User.status != "resigned",
            User.enabled,
        )
    ).one()
    if not others:
        raise ValidationError(
            N_("This is the last active administrator; make someone else an administrator first.")
        )


def _is_admin(session: Session, user: User) -> bool:
    return any(r.code == "admin" for r in user_roles(session, user.id))


def set_user_roles(session: Session, actor: Actor, user_id: int, role_codes: Iterable[str]) -> User:
    """Replace a user's roles; every role added or removed must be one the actor may grant."""
    user = manageable_user(session, actor, user_id)
    if user.id == actor.user_id and actor.scope is not DataScope.ALL:
        raise PermissionDenied(N_("You cannot change your own roles."))
    wanted = {code: role_by_code(session, code) for code in set(role_codes)}
    current = {r.code: r for r in user_roles(session, user.id)}
    for role in list(wanted.values()) + list(current.values()):
        ensure_can_grant_at(session, actor, role, user.org_unit_id)
    if "admin" in current and "admin" not in wanted:
        _ensure_not_last_admin(session, user)
    before = _snapshot(session, user)
    for code, role in current.items():
        if code not in wanted:
            link = session.get(UserRole, (user.id, role.id))
            session.delete(link)
    for code, role in wanted.items():
        if code not in current:
            session.add(UserRole(user_id=user.id, role_id=role.id))
    session.flush()
    audit.record(
        session, actor, "user.set_roles", "user", user.id, before, _snapshot(session, user)
    )
    session.flush()
    return user


def reset_password(session: Session, actor: Actor, user_id: int, new_password: str) -> User:
    """Set a temporary password that the user must change at next sign-in; their current
    sessions end."""
    user = manageable_user(session, actor, user_id)
    validate_new_password(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.failed_login_count = 0
    user.locked_until = None
    user.sessions_valid_after = clock.now()
    session.add(user)
    audit.record(session, actor, "user.reset_password", "user", user.id)
    session.flush()
    return user


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    key: str
    params: dict


def bulk_update_users(
    session: Session, actor: Actor, rows: list[dict[str, Any]]
) -> tuple[int, list[RowError]]:
    """Apply edits from a table: every row is validated first, and nothing is written unless
    all rows are valid. Each row has `id` plus the changed fields. Returns (changed, errors)."""
    errors: list[RowError] = []
    plans: list[tuple[int, dict[str, Any]]] = []
    for number, row in enumerate(rows, start=1):
        changes = {k: v for k, v in row.items() if k != "id"}
        try:
            user = manageable_user(session, actor, int(row["id"]))
            clean = validate_fields(changes)
            if "org_unit_id" in clean:
                _ensure_may_move(session, actor, user, clean["org_unit_id"])
        except (ValidationError, PermissionDenied, NotFound) as error:
            column = str(error.params.get("field", "")) or next(iter(changes), "id")
            errors.append(RowError(number, column, error.key, error.params))
            continue
        plans.append((int(row["id"]), clean))
    if errors:
        return 0, errors
    for user_id, clean in plans:
        if clean:
            update_user(session, actor, user_id, **clean)
    return sum(1 for _, clean in plans if clean), []


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    employee_no: str
    full_name: str
    unit_id: int | None
    unit_name: str | None
    status: str
    enabled: bool
    title: str | None
    roles: list[str]
    skill_tags: list[str]
    dispatch_weight: int
    daily_cap: int
    holding_cap: int
    must_change_password: bool
    locked_until: datetime | None


def list_users(
    session: Session,
    actor: Actor,
    *,
    search: str | None = None,
    unit_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[UserRow], int]:
    """A page of the users in the actor's scope, with their roles, and the total count.

    `search` matches part of the username, name or employee number, literally (`%` and `_`
    are characters, not wildcards); past `SEARCH_MAX_CHARS` it is refused."""
    actor.require(Permission.MANAGE_USERS)
    search = search_text(search)
    query = (
        select(User, OrgUnit.name)
        .join(OrgUnit, col(OrgUnit.id) == col(User.org_unit_id), isouter=True)
        .where(user_scope(actor))
    )
    if search:
        query = query.where(
            or_(
                contains(col(User.username), search),
                contains(col(User.full_name), search),
                contains(col(User.employee_no), search),
            )
        )
    if unit_id is not None:
        unit = session.get(OrgUnit, unit_id)
        if unit is not None:
            query = query.where(
                col(User.org_unit_id).in_(
                    select(OrgUnit.id).where(col(OrgUnit.path).like(f"{unit.path}%"))
                )
            )
    if status:
        query = query.where(User.status == status)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(User.employee_no).limit(limit).offset(offset)).all()
    ids = [user.id for user, _ in rows]
    roles: dict[int, list[str]] = {}
    for user_id, code in session.exec(
        select(UserRole.user_id, Role.code)
        .join(Role, col(Role.id) == col(UserRole.role_id))
        .where(col(UserRole.user_id).in_(ids))
    ).all():
        roles.setdefault(user_id, []).append(code)
    units = unit_labels(session, {u.org_unit_id for u, _ in rows})
    return [
        UserRow(
            id=u.id,
            username=u.username,
            employee_no=u.employee_no,
            full_name=u.full_name,
            unit_id=u.org_unit_id,
            unit_name=units.get(u.org_unit_id, unit_name),
            status=u.status,
            enabled=u.enabled,
            title=u.title,
            roles=sorted(roles.get(u.id, [])),
            skill_tags=list(u.skill_tags or []),
            dispatch_weight=u.dispatch_weight,
            daily_cap=u.daily_cap,
            holding_cap=u.holding_cap,
            must_change_password=u.must_change_password,
            locked_until=u.locked_until,
        )
        for u, unit_name in rows
    ], total


def set_language(session: Session, actor: Actor, language: str) -> None:
    """Remember the actor's interface language; flushes, the caller commits."""
    if language not in LANGUAGES:
        raise ValidationError(N_("Unknown language {language}."), language=language)
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound(entity="user", id=actor.user_id)
    user.language = language
    session.add(user)
    session.flush()


def role_names(session: Session, user_id: int) -> list[str]:
    """The codes of a user's roles."""
    return sorted(r.code for r in user_roles(session, user_id))


def staff_names(session: Session) -> dict[int, str]:
    """Every employee's name by id: pages show who changed a rule, ran a job or received
    opportunities, also when that colleague is outside the reader's scope. Names only."""
    return {user_id: name for user_id, name in session.exec(select(User.id, User.full_name))}


def discount_limit(session: Session, actor: Actor) -> int:
    """The largest discount (percent) the actor gives without approval: the largest of
    their roles' limits; the system's is 100."""
    if actor.is_system:
        return 100
    value = session.exec(
        select(func.max(Role.max_discount_pct))
        .join(UserRole, col(UserRole.role_id) == col(Role.id))
        .where(UserRole.user_id == actor.user_id)
    ).one()
    return int(value or 0)
