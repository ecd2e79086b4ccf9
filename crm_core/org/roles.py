"""Roles: the permission matrix and data scope, edited by admins.

A role's permissions and scope may never exceed the editor's own; built-in roles and roles
in use cannot be deleted. Editing a role changes every holder at once, so an editor changes
only roles whose holders are all within their reach, with a reach from each holder's unit
within their own; built-in roles, held across the company, only an administrator changes.
A change takes effect on each holder's next page action, since the actor is rebuilt from
the roles on every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crm_core.models import OrgUnit, Role, User, UserRole
from crm_core.org.access import unit_clause, user_scope
from crm_core.org.users import discount_limit, ensure_can_grant, ensure_reach_from_unit
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_, NP_
from crm_core.platform.permissions import ADMIN_PERMISSIONS, ALL_PERMISSIONS, DataScope, Permission

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


@dataclass(frozen=True)
class RoleRow:
    id: int
    code: str
    name: str
    permissions: list[str]
    data_scope: str
    scope_unit_ids: list[int]
    builtin: bool
    holders: int
    max_discount_pct: int = 0


def list_roles(session: Session, actor: Actor) -> list[RoleRow]:
    """Every role with how many users hold it."""
    actor.require(Permission.MANAGE_ROLES)
    holders = dict(
        session.exec(select(UserRole.role_id, func.count()).group_by(UserRole.role_id)).all()
    )
    return [
        RoleRow(
            r.id,
            r.code,
            r.name,
            sorted(r.permissions or []),
            r.data_scope,
            list(r.scope_unit_ids or []),
            r.builtin,
            holders.get(r.id, 0),
            r.max_discount_pct,
        )
        for r in session.exec(select(Role).order_by(col(Role.builtin).desc(), Role.code)).all()
    ]


def grantable_roles(session: Session, actor: Actor) -> list[Role]:
    """The roles the actor may give to users (for the user editor's choices)."""
    roles = []
    for role in session.exec(select(Role).order_by(Role.code)).all():
        try:
            ensure_can_grant(session, actor, role)
        except PermissionDenied:  # a refusal just leaves the role out
            continue
        roles.append(role)
    return roles


def _snapshot(role: Role) -> dict:
    return {
        "code": role.code,
        "name": role.name,
        "permissions": sorted(role.permissions or []),
        "data_scope": role.data_scope,
        "scope_unit_ids": list(role.scope_unit_ids or []),
        "max_discount_pct": role.max_discount_pct,
    }


def _check_discount(session: Session, actor: Actor, role: Role, pct: int | None) -> int:
    """The role's discount limit after the edit (None keeps it). Nobody sets a limit above
    their own, as nobody grants a permission they lack; a limit left as it is stays."""
    current = role.max_discount_pct or 0
    if pct is None:
        return current
    if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
        raise ValidationError(N_("The discount limit is a whole percent from 0 to 100."))
    if pct != current:
        own = discount_limit(session, actor)
        if pct > own:
            raise PermissionDenied(
                N_("You cannot set a discount limit above your own ({limit}%)."), limit=own
            )
    return pct


def _ensure_may_change_holders(session: Session, actor: Actor, role: Role, candidate: Role) -> None:
    """An edit of `role` (into `candidate`) changes what every holder may do and reach, so
    it is granting the new role to each of them: refused for a built-in role unless the
    actor is an administrator (those roles are held across the company), when any holder
    is outside the actor's reach, and when, from a holder's unit, the role as it is or as
    it would be reaches beyond the actor."""
    if role.builtin and not actor.is_administrator:
        raise PermissionDenied(
            N_(
                "Only an administrator can change the built-in role {code}: it is held across the whole company."
            ),
            code=role.code,
        )
    if actor.scope is DataScope.ALL:
        return
    holders = (
        select(User.org_unit_id)
        .join(UserRole, col(UserRole.user_id) == col(User.id))
        .where(UserRole.role_id == role.id)
    )

    # All holders minus those in scope: a NOT over the scope would miss a holder without a
    # unit (the unit test is NULL for them, and NOT NULL is not true).
    def count(query) -> int:
        return session.exec(select(func.count()).select_from(query.subquery())).one()

    outside = count(holders) - count(holders.where(user_scope(actor)))
    if outside:
        raise PermissionDenied(
            NP_(
                "You cannot change the role {code}: {count} person who holds it is outside your scope.",
                "You cannot change the role {code}: {count} of the people who hold it are outside your scope.",
            ),
            code=role.code,
            count=outside,
        )
    for unit_id in session.exec(holders.distinct()).all():
        for version in (role, candidate):
            ensure_reach_from_unit(session, actor, version, unit_id)


def save_role(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    permissions: list[str],
    data_scope: str,
    scope_unit_ids: list[int] | None = None,
    role_id: int | None = None,
    max_discount_pct: int | None = None,
) -> Role:
    """Create a role, or update `role_id`. The code of a built-in role cannot change.
    `max_discount_pct` (0-100; None keeps it, 0 for a new role) is the largest discount its
    holders give without approval; nobody sets it above their own."""
    actor.require(Permission.MANAGE_ROLES)
    code = (code or "").strip().lower()
    name = (name or "").strip()
    if not CODE_PATTERN.match(code):
        raise ValidationError(
            N_(
                "A role code is 2-60 lower-case letters, digits or _ and starts with a letter ({code})."
            ),
            code=code,
        )
    if not name:
        raise ValidationError(N_("A role needs a name."))
    unknown = sorted(set(permissions) - ALL_PERMISSIONS)
    if unknown:
        raise ValidationError(
            N_("Unknown permission: {permission}."), permission=", ".join(unknown)
        )
    try:
        scope = DataScope(data_scope)
    except ValueError as exc:
        raise ValidationError(N_("Unknown data scope {scope}."), scope=data_scope) from exc
    units = sorted({int(u) for u in scope_unit_ids or []}) if scope is DataScope.CUSTOM else []
    if scope is DataScope.CUSTOM:
        if not units:
            raise ValidationError(N_("A custom scope needs at least one unit."))
        found = session.exec(
            select(func.count()).where(col(OrgUnit.id).in_(units), unit_clause(actor, OrgUnit.id))
        ).one()
        if found != len(units):
            raise NotFound(entity="org_unit", id=units)
    role = session.get(Role, role_id) if role_id is not None else Role(code=code, name=name)
    if role is None:
        raise NotFound(entity="role", id=role_id)
    if role_id is None or role.code != code:
        if role.builtin:
            raise ValidationError(N_("A built-in role keeps its code."))
        clash = session.exec(select(Role.id).where(Role.code == code)).first()
        if clash is not None and clash != role_id:
            raise ValidationError(N_("The role code {code} is taken."), code=code)
    before = _snapshot(role) if role_id is not None else None
    if role_id is not None:
        ensure_can_grant(session, actor, role)  # nobody edits a role wider than themselves
    if (
        role.builtin
        and role.code == "admin"
        and (set(permissions) != ADMIN_PERMISSIONS or scope is not DataScope.ALL)
    ):
        raise ValidationError(
            N_("The administrator role always holds every permission over everything.")
        )
    candidate = Role(
        code=code,
        name=name,
        permissions=sorted(set(permissions)),
        data_scope=str(scope),
        scope_unit_ids=units,
    )
    ensure_can_grant(session, actor, candidate)
    if role_id is not None:
        _ensure_may_change_holders(session, actor, role, candidate)
    discount = _check_discount(session, actor, role, max_discount_pct)
    role.code, role.name = code, name
    role.max_discount_pct = discount
    role.permissions, role.data_scope, role.scope_unit_ids = (
        candidate.permissions,
        candidate.data_scope,
        candidate.scope_unit_ids,
    )
    session.add(role)
    session.flush()
    action = "role.create" if before is None else "role.update"
    audit.record(session, actor, action, "role", role.id, before, _snapshot(role))
    session.flush()
    return role


def delete_role(session: Session, actor: Actor, role_id: int) -> None:
    """Delete a role that is neither built in nor held by anyone."""
    actor.require(Permission.MANAGE_ROLES)
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound(entity="role", id=role_id)
    if role.builtin:
        raise ValidationError(N_("The built-in role {code} cannot be deleted."), code=role.code)
    holders = session.exec(
        select(func.count()).select_from(UserRole).where(UserRole.role_id == role_id)
    ).one()
    if holders:
        raise ValidationError(
            NP_(
                "The role {code} is held by {count} user and cannot be deleted.",
                "The role {code} is held by {count} users and cannot be deleted.",
            ),
            code=role.code,
            count=holders,
        )
    ensure_can_grant(session, actor, role)
    audit.record(session, actor, "role.delete", "role", role.id, _snapshot(role), None)
    session.delete(role)
    session.flush()


def dispatch_receivers(session: Session) -> ColumnElement[bool]:
    """Users holding a role with `receive_dispatch` (reps, team leads): a manager, an
    executive or an admin inside a target unit is never handed any."""
    roles = session.exec(select(Role.id, Role.permissions)).all()
    working = [rid for rid, perms in roles if Permission.RECEIVE_DISPATCH.value in (perms or [])]
    return col(User.id).in_(select(UserRole.user_id).where(col(UserRole.role_id).in_(working)))
