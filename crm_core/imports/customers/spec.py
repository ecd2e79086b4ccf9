"""The customer file as an import spec: its fields, the typed row, which rows are new,
updated or unchanged (stored customers read in chunks), and the leads storing them would
link."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.imports.engine import CUSTOM_PREFIX, FieldSpec, Findings, RowReader
from crm_core.imports.file_import import PHONE_HEADERS, PLATFORM_USER_ID_HEADERS
from crm_core.models import Customer, Lead
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_, NC_

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "platform_user_id",
        PLATFORM_USER_ID_HEADERS,
        required=True,
        max_length=80,
        messages={"missing": N_("The platform user id is required.")},
    ),
    FieldSpec(
        "name",
        ("name", "full name", "nickname", "姓名", "昵称", "用户名", "学员姓名"),
        max_length=120,
    ),
    FieldSpec(
        "phone",
        PHONE_HEADERS,
        kind="phone",
        messages={"invalid": NC_("customers.reason", "{phone} is not a valid phone number.")},
    ),
    FieldSpec(
        "email",
        ("email", "e-mail", "mail", "email address", "邮箱", "电子邮箱", "邮件"),
        max_length=200,
    ),
    FieldSpec(
        "registered_at",
        (
            "registered at",
            "registration date",
            "registration time",
            "sign-up date",
            "signup date",
            "registered",
            "注册时间",
            "注册日期",
        ),
        kind="datetime",  # read in the file's zone, stored as the instant
    ),
)
CUSTOMER_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS)
# The fields a file row may change on a stored customer (the user id is its identity).
UPDATABLE: tuple[str, ...] = ("name", "phone", "email", "registered_at")
CATEGORIES: tuple[str, ...] = ("new", "updated", "unchanged")
DUPLICATE = N_("The user id {user_id} is already on row {first_row}.")
CHUNK = 2000  # values per IN (...) list, well under every driver's parameter limit


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


def read_customer(reader: RowReader) -> CustomerRow | None:
    """The row as a customer to store: the non-blank cells (custom fields apart)."""
    if reader.issues:
        return None
    given = {
        name: value
        for name, value in reader.values.items()
        if value is not None and name != "platform_user_id" and not name.startswith(CUSTOM_PREFIX)
    }
    return CustomerRow(reader.number, reader["platform_user_id"], "new", given)


def check_customers(
    session: Session, actor: Actor, rows: list[CustomerRow], found: Findings
) -> list[CustomerRow]:
    """Each row as new, updated (naming the changed fields) or unchanged against the stored
    customers, and how many leads storing them would link (`leads_to_link`)."""
    existing = stored_customers(session, (row.platform_user_id for row in rows))
    checked = []
    for row in rows:
        before = existing.get(row.platform_user_id)
        if before is None:
            checked.append(row)
            continue
        changes = tuple(
            n for n in UPDATABLE if n in row.values and row.values[n] != before.value(n)
        )
        category = "updated" if changes else "unchanged"
        checked.append(replace(row, category=category, changes=changes, before=before))
    found.details["leads_to_link"] = count_unlinked_leads(
        session, {row.final("phone") for row in checked if not found.is_bad(row.row)}
    )
    return checked
