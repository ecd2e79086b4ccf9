"""Accounts: users, roles and the sign-in log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from crm_core.models.base import (
    created_at_field,
    datetime_field,
    json_list_field,
)

USER_STATUSES = ("active", "on_leave", "resigned")


class Role(SQLModel, table=True):
    """A named set of permissions plus a data scope."""

    __tablename__ = "role"
    __table_args__ = (
        CheckConstraint(
            "data_scope IN ('self','team','subtree','custom','all')", name="ck_role_scope"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=120)
    permissions: list[str] = json_list_field()
    data_scope: str = Field(default="self", max_length=20)
    scope_unit_ids: list[int] = json_list_field()
    # The largest discount (percent off the list price) its holders may give on an order
    # without a manager's approval; a user's limit is the largest of their roles'.
    max_discount_pct: int = 0
    builtin: bool = False
    created_at: datetime = created_at_field()


class User(SQLModel, table=True):
    """An employee's CRM account. Every account is an employee (HR owns the roster)."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("status IN ('active','on_leave','resigned')", name="ck_user_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    employee_no: str = Field(max_length=40, unique=True)
    full_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=200)
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    status: str = Field(default="active", max_length=20, index=True)
    enabled: bool = True
    title: str | None = Field(default=None, max_length=120)
    skill_tags: list[str] = json_list_field()
    dispatch_weight: int = 1
    daily_cap: int = 30
    holding_cap: int = 300
    on_shift: bool = True
    language: str = Field(default="zh", max_length=8)
    password_hash: str = Field(max_length=100)
    must_change_password: bool = False
    # Sessions (cookies) issued before this moment are refused: set by log-out and by a
    # password change, so a copied cookie dies with them.
    sessions_valid_after: datetime | None = datetime_field()
    failed_login_count: int = 0
    locked_until: datetime | None = datetime_field()
    hired_on: datetime | None = datetime_field()
    left_on: datetime | None = datetime_field()
    created_at: datetime = created_at_field()


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    role_id: int = Field(foreign_key="role.id", primary_key=True, index=True)


class LoginEvent(SQLModel, table=True):
    """Every sign-in attempt, failure and lock; append-only."""

    __tablename__ = "login_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    username: str = Field(max_length=200, index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    event: str = Field(max_length=40)
    detail: str | None = Field(default=None, max_length=400)


class SetupToken(SQLModel, table=True):
    """The one-time token that lets whoever started an empty console create its company
    (`crm_core.org.setup`): only its hash is kept; wrong tries are throttled like sign-in."""

    __tablename__ = "setup_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=100)
    created_at: datetime = created_at_field()
    consumed_at: datetime | None = datetime_field()
    failed_count: int = 0
    locked_until: datetime | None = datetime_field()
