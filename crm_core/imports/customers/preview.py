"""Checking a customer file: which rows are new, updated, unchanged or rejected, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.imports.file_import import (
    PHONE_HEADERS,
    PLATFORM_USER_ID_HEADERS,
    FieldIssue,
    FileCells,
    FilePreview,
    RejectedRow,
    category_counts,
    checked_mapping,
    missing_fields,
)
from crm_core.imports.tabular import guess_mapping
from crm_core.leads.masking import display_phone
from crm_core.leads.phones import normalise_phone
from crm_core.models import Customer, Lead
from crm_core.platform.actor import Actor
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, parse_datetime
from crm_core.platform.company_time import file_zone, to_utc
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.permissions import Permission

# Field -> header names it may have in a file, English and Chinese (compared without case,
# spaces, `_`, `-`, `.`, `:` or brackets; see `crm_core.imports.tabular.normalise_header`).
CUSTOMER_COLUMNS: dict[str, tuple[str, ...]] = {
    "platform_user_id": PLATFORM_USER_ID_HEADERS,
    "name": ("name", "full name", "nickname", "姓名", "昵称", "用户名", "学员姓名"),
    "phone": PHONE_HEADERS,
    "email": ("email", "e-mail", "mail", "email address", "邮箱", "电子邮箱", "邮件"),
    "registered_at": (
        "registered at",
        "registration date",
        "registration time",
        "sign-up date",
        "signup date",
        "registered",
        "注册时间",
        "注册日期",
    ),
}
CUSTOMER_FIELDS: tuple[str, ...] = tuple(CUSTOMER_COLUMNS)
REQUIRED: tuple[str, ...] = ("platform_user_id",)
# The fields a file row may change on a stored customer (the user id is its identity).
UPDATABLE: tuple[str, ...] = ("name", "phone", "email", "registered_at")
# Column lengths of the customer table; phones are stored as E.164, which always fits.
MAX_LENGTH: dict[str, int] = {"platform_user_id": 80, "name": 120, "email": 200}

CATEGORIES: tuple[str, ...] = ("new", "updated", "unchanged", "rejected")
REASONS: tuple[str, ...] = (
    N_("The platform user id is required."),
    NC_("customers.reason", "{phone} is not a valid phone number."),
    N_('The date "{value}" cannot be read: use YYYY-MM-DD (with an optional HH:MM).'),
    N_("At most {maximum} characters (this one has {length})."),
    N_("The user id {user_id} is already on row {first_row}."),
)
CHUNK = 2000  # values per IN (...) list, well under every driver's parameter limit


@dataclass(frozen=True)
class CustomerIssue(FieldIssue):
    """Why a row is rejected: translate `key` with `params`. `params` never holds a full
    phone number unless the actor may see one (they went through `display_phone`)."""


@dataclass(frozen=True)
class CustomerState:
    """A stored customer as the preview saw it; applying checks it has not changed since."""

    customer_id: int
    name: str | None
    phone: str | None
    email: str | None
    registered_at: datetime | None

    def value(self, name: str) -> Any:
        return getattr(self, name)


@dataclass(frozen=True)
class CustomerRow:
    """A good row: what storing it does. `values` holds the file's non-blank cells, cleaned
    (phone in E.164); a blank cell keeps what is stored."""

    row: int
    platform_user_id: str
    category: str  # new | updated | unchanged
    values: dict[str, Any]
    changes: tuple[str, ...] = ()
    before: CustomerState | None = None

    def final(self, name: str) -> Any:
        """The field's value once stored: the file's, else the stored one."""
        if self.values.get(name) is not None:
            return self.values[name]
        return self.before.value(name) if self.before is not None else None


@dataclass(frozen=True)
class CustomerPreview(FilePreview):
    """What importing the file would do: the good rows by category, the rejected rows."""

    rows: tuple[CustomerRow, ...]
    leads_to_link: int  # leads without a customer whose phone a good row's customer has

    @property
    def counts(self) -> dict[str, int]:
        return category_counts(self, CATEGORIES)

    def rows_in(self, category: str) -> list[CustomerRow]:
        return [row for row in self.rows if row.category == category]


def guess_customer_mapping(columns: Iterable[str]) -> dict[str, str | None]:
    """The file column for each customer field, guessed from English or Chinese headers."""
    return guess_mapping(columns, CUSTOMER_COLUMNS)


def missing_customer_columns(mapping: Mapping[str, str | None]) -> list[str]:
    """Required fields the mapping leaves without a column."""
    return missing_fields(mapping, REQUIRED)


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    """Sorted distinct values in lists of at most `size`, for IN (...) lists."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def stored_customers(session: Session, user_ids: Iterable[str]) -> dict[str, CustomerState]:
    """platform user id -> the stored customer, read in chunks (a few queries per file)."""
    found: dict[str, CustomerState] = {}
    for chunk in chunks(user_ids):
        for cid, uid, name, phone, email, registered_at in session.exec(
            select(
                Customer.id,
                Customer.platform_user_id,
                Customer.name,
                Customer.phone,
                Customer.email,
                Customer.registered_at,
            ).where(col(Customer.platform_user_id).in_(chunk))
        ).all():
            found[uid] = CustomerState(cid, name, phone, email, registered_at)
    return found


def count_unlinked_leads(session: Session, phones: Iterable[str]) -> int:
    """Leads (not merged away) without a customer whose phone is one of `phones`."""
    total = 0
    for chunk in chunks(p for p in phones if p):
        total += session.exec(
            select(func.count())
            .select_from(Lead)
            .where(
                col(Lead.phone).in_(chunk),
                col(Lead.customer_id).is_(None),
                col(Lead.merged_into_id).is_(None),
            )
        ).one()
    return int(total)


def preview_customer_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    mapping: Mapping[str, str | None] | None = None,
    placeholders: Iterable[str] = DEFAULT_PLACEHOLDERS,
    *,
    source: str | None = None,
    time_zone: str | None = None,
) -> CustomerPreview:
    """Check every row of `frame` (from `crm_core.imports.tabular.read_table`) and say what storing
    it would do; writes nothing.

    `mapping` is field -> file column (guessed from the headers when None); cells equal to
    one of `placeholders` count as blank. Row numbers are the frame's index (the file's
    row numbers). A row is rejected for a missing user id, a bad phone or date, a value
    too long, or a user id an earlier row of the file already has. Reads the stored
    customers and the leads to link in chunks, never a query per row.
    """
    actor.require(Permission.MANAGE_CUSTOMERS)
    mapping = checked_mapping(frame, mapping, CUSTOMER_COLUMNS, missing_customer_columns)
    source = source or str(frame.attrs.get("filename") or "")
    cells = FileCells(frame, placeholders)
    numbers = cells.numbers
    zone = file_zone(session, time_zone)  # the file's registration times, read as instants

    checked: list[tuple[int, dict[str, Any], list[CustomerIssue]]] = []
    first_row: dict[str, int] = {}
    for position, number in enumerate(numbers):
        issues: list[CustomerIssue] = []
        values: dict[str, Any] = cells.values(position, mapping)

        def bad(name: str, key: str, _issues=issues, _number=number, **params: Any) -> None:
            _issues.append(CustomerIssue(_number, name, mapping[name] or "", key, params))

        user_id = values["platform_user_id"]
        if user_id is None:
            bad("platform_user_id", N_("The platform user id is required."))
        for name, limit in MAX_LENGTH.items():
            if values[name] is not None and len(values[name]) > limit:
                bad(
                    name,
                    N_("At most {maximum} characters (this one has {length})."),
                    maximum=limit,
                    length=len(values[name]),
                )
        if values["phone"] is not None:
            phone = normalise_phone(values["phone"])
            if phone is None:
                # The number as this actor may see it: the reason is shown and exported.
                bad(
                    "phone",
                    NC_("customers.reason", "{phone} is not a valid phone number."),
                    phone=display_phone(actor, values["phone"]),
                )
            values["phone"] = phone
        if values["registered_at"] is not None:
            try:
                values["registered_at"] = to_utc(parse_datetime(values["registered_at"]), zone)
            except ValueError:
                bad(
                    "registered_at",
                    N_(
                        'The date "{value}" cannot be read: use YYYY-MM-DD (with an optional HH:MM).'
                    ),
                    value=values["registered_at"],
                )
                values["registered_at"] = None
        if user_id is not None:
            if user_id in first_row:
                # The first row wins so that the user sees which row the later one repeats.
                bad(
                    "platform_user_id",
                    N_("The user id {user_id} is already on row {first_row}."),
                    user_id=user_id,
                    first_row=first_row[user_id],
                )
            else:
                first_row[user_id] = number
        checked.append((position, values, issues))

    existing = stored_customers(session, (v["platform_user_id"] for _, v, i in checked if not i))
    good: list[CustomerRow] = []
    rejected: list[RejectedRow] = []
    for position, values, issues in checked:
        number = numbers[position]
        if issues:
            rejected.append(RejectedRow(number, cells.cells(position), tuple(issues)))
            continue
        user_id = values.pop("platform_user_id")
        given = {name: value for name, value in values.items() if value is not None}
        before = existing.get(user_id)
        if before is None:
            good.append(CustomerRow(number, user_id, "new", given))
            continue
        changes = tuple(n for n in UPDATABLE if n in given and given[n] != before.value(n))
        category = "updated" if changes else "unchanged"
        good.append(CustomerRow(number, user_id, category, given, changes, before))

    return CustomerPreview(
        rows=tuple(good),
        rejected=tuple(rejected),
        columns=cells.columns,
        mapping=mapping,
        source=source,
        actor_user_id=actor.user_id,
        total_rows=len(numbers),
        leads_to_link=count_unlinked_leads(session, {row.final("phone") for row in good}),
    )
