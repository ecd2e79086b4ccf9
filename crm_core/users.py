"""User accounts: creating them, their roles, and what a user sets for themselves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from crm_core import audit
from crm_core.access import Actor, unit_clause
from crm_core.auth import hash_password, validate_new_password
from crm_core.errors import NotFound, PermissionDenied, ValidationError
from crm_core.i18n import LANGUAGES
from crm_core.models import OrgUnit, Role, User, UserRole
from crm_core.permissions import SCOPE_WIDTH, DataScope, Permission


def role_by_code(session: Session, code: str) -> Role:
    role = session.exec(select(Role).where(Role.code == code)).first()
    if role is None:
        raise NotFound(entity="role", id=code)
    return role


def ensure_can_grant(actor: Actor, role: Role) -> None:
    """Nobody grants a permission or a scope wider than their own."""
    if actor.scope is DataScope.ALL:
        return
    if not set(role.permissions or []) <= actor.permissions:
        raise PermissionDenied("users.error.grant_permissions", role=role.code)
    if SCOPE_WIDTH[DataScope(role.data_scope)] > SCOPE_WIDTH[actor.scope]:
        raise PermissionDenied("users.error.grant_scope", role=role.code)
    if role.data_scope == DataScope.CUSTOM and not set(role.scope_unit_ids or []) <= set(
        actor.exact_unit_ids
    ):
        raise PermissionDenied("users.error.grant_scope", role=role.code)


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
    if not username:
        raise ValidationError("users.error.username_required")
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise ValidationError("users.error.username_taken", username=username)
    if org_unit_id is not None:
        in_scope = session.exec(
            select(OrgUnit.id).where(OrgUnit.id == org_unit_id, unit_clause(actor, OrgUnit.id))
        ).first()
        if in_scope is None:
            raise NotFound(entity="org_unit", id=org_unit_id)
    elif actor.scope is not DataScope.ALL:
        raise PermissionDenied("users.error.unit_required")
    roles = [role_by_code(session, code) for code in role_codes]
    for role in roles:
        ensure_can_grant(actor, role)
    if password_hash is None:
        validate_new_password(password)
        password_hash = hash_password(password)
    user = User(
        username=username,
        full_name=full_name.strip(),
        employee_no=employee_no.strip(),
        password_hash=password_hash,
        org_unit_id=org_unit_id,
        status=status,
        email=email,
        title=title,
        language=language if language in LANGUAGES else "zh",
        skill_tags=list(skill_tags),
        dispatch_weight=dispatch_weight,
        daily_cap=daily_cap,
        holding_cap=holding_cap,
        hired_on=hired_on,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role_id=role.id))
    audit.record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        None,
        {"username": username, "org_unit_id": org_unit_id, "roles": sorted(r.code for r in roles)},
    )
    session.flush()
    return user


def set_language(session: Session, actor: Actor, language: str) -> None:
    """Remember the actor's interface language."""
    if language not in LANGUAGES:
        raise ValidationError("users.error.language", language=language)
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound(entity="user", id=actor.user_id)
    user.language = language
    session.add(user)
    session.commit()


def role_names(session: Session, user_id: int) -> list[str]:
    """The codes of a user's roles."""
    return list(
        session.exec(
            select(Role.code)
            .join(UserRole, col(UserRole.role_id) == col(Role.id))
            .where(UserRole.user_id == user_id)
            .order_by(Role.code)
        )
    )
