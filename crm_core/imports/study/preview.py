"""Checking a study activity file: which rows are new, update a stored course, change
nothing or are older than what is stored, and which are rejected and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session

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
from crm_core.imports.study.lookups import (
    PersonLead,
    leads_by_customer,
    leads_by_phone,
    stored_activity,
)
from crm_core.imports.tabular import guess_mapping
from crm_core.leads.learning import company_today
from crm_core.leads.masking import display_phone
from crm_core.leads.phones import normalise_phone
from crm_core.platform.actor import Actor
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, parse_datetime
from crm_core.platform.company_time import company_zone, file_zone, to_local, to_utc
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

# Field -> header names it may have in a file, English and Chinese (compared without case,
# spaces, `_`, `-`, `.`, `:` or brackets; see `crm_core.imports.tabular.normalise_header`).
LEARNING_COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": PHONE_HEADERS,
    "customer_id": ("customer id", *PLATFORM_USER_ID_HEADERS),
    "course": (
        "course",
        "course name",
        "class",
        "class name",
        "课程",
        "课程名称",
        "课程名",
        "班级",
        "班级名称",
    ),
    "progress_pct": (
        "progress",
        "progress %",
        "progress pct",
        "progress percent",
        "completion",
        "completion rate",
        "学习进度",
        "进度",
        "完成度",
        "完成率",
        "学习进度%",
        "进度%",
    ),
    "last_studied_on": (
        "last study date",
        "last studied",
        "last studied on",
        "last study",
        "last active",
        "last learning date",
        "最近学习日期",
        "最后学习日期",
        "最近学习时间",
        "最后学习时间",
        "最近学习",
        "最后学习",
    ),
}
LEARNING_FIELDS: tuple[str, ...] = tuple(LEARNING_COLUMNS)
REQUIRED: tuple[str, ...] = ("course", "progress_pct")
PERSON_FIELDS: tuple[str, ...] = ("phone", "customer_id")
MAX_COURSE = 200  # the column's length

# new: no stored row; updated: the stored row changes; unchanged: it already says this;
# older: the stored row has a later study date, so it stays as it is.
CATEGORIES: tuple[str, ...] = ("new", "updated", "unchanged", "older", "rejected")
WRITTEN: tuple[str, ...] = ("new", "updated")
REASONS: tuple[str, ...] = (
    N_("Neither a phone nor a customer id: the row names no student."),
    N_("“{phone}” is not a phone number."),
    N_("No lead has the phone {phone}."),
    N_("No customer has the id “{customer}”."),
    N_("Customer “{customer}” is linked to no lead."),
    N_("Customer “{customer}” and phone {phone} belong to different leads."),
    N_("The course is missing."),
    N_("The course name has {length} characters; at most {maximum}."),
    N_("“{value}” is not a progress from 0 to 100."),
    N_("“{value}” is not a date like 2026-11-30."),
    N_("{value} is in the future."),
    N_("The student's course “{course}” is already in row {first_row}."),
)


@dataclass(frozen=True)
class LearningIssue(FieldIssue):
    """Why a row is rejected: translate `key` with `params`. A phone in `params` went
    through `display_phone`, so it is masked for readers without view_full_phone."""


@dataclass(frozen=True)
class StoredStudy:
    """A stored (lead, course) row as the preview saw it."""

    customer_id: int | None
    progress_pct: int
    last_studied_on: date | None


@dataclass(frozen=True)
class LearningRow:
    """A good row: the lead it belongs to and what storing it does. `phone` is the lead's
    number as the actor may see it."""

    row: int
    lead_id: int
    lead_name: str
    phone: str
    customer_id: int | None
    course: str
    progress_pct: int
    last_studied_on: date | None
    category: str  # new | updated | unchanged | older
    before: StoredStudy | None = None


@dataclass(frozen=True)
class LearningPreview(FilePreview):
    """What importing the file would do: the good rows by category, the rejected rows."""

    rows: tuple[LearningRow, ...]

    @property
    def counts(self) -> dict[str, int]:
        return category_counts(self, CATEGORIES)

    def rows_in(self, *categories: str) -> list[LearningRow]:
        return [row for row in self.rows if row.category in categories]


def guess_learning_mapping(columns: Iterable[str]) -> dict[str, str | None]:
    """The file column for each field, guessed from English or Chinese headers."""
    return guess_mapping(columns, LEARNING_COLUMNS)


def missing_learning_columns(mapping: Mapping[str, str | None]) -> list[str]:
    """Fields the mapping must give a column and does not: the course, the progress, and
    one of phone and customer id (reported as `phone`)."""
    missing = missing_fields(mapping, REQUIRED)
    if not any(mapping.get(name) for name in PERSON_FIELDS):
        missing.append("phone")
    return missing


def parse_progress(text: str) -> int | None:
    """A progress cell as a whole percent 0-100 (`75`, `75%`, `62.5` rounds to 63), or
    None when it is not one. Fractions are not guessed: `0.75` is 1%."""
    value = text.strip().rstrip("%％").strip()
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or not 0 <= number <= 100:
        return None
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class _Checked:
    """A row after the cell checks, before the leads are looked up."""

    position: int
    number: int
    values: dict[str, Any]
    issues: list[LearningIssue]


def _study_date(value: datetime, file: ZoneInfo, company: ZoneInfo) -> date:
    """The company's date of a study time in the file's zone; a bare date (no time of day)
    is already a calendar date and stays as it is."""
    if value.time() == time():
        return value.date()
    return to_local(to_utc(value, file), company).date()


def _check_cells(
    actor: Actor, mapping: dict, checked: _Checked, today: date, zones: tuple[ZoneInfo, ZoneInfo]
) -> None:
    values, number = checked.values, checked.number

    def bad(name: str, key: str, **params: Any) -> None:
        checked.issues.append(LearningIssue(number, name, mapping.get(name) or "", key, params))

    if values["phone"] is None and values["customer_id"] is None:
        bad("", N_("Neither a phone nor a customer id: the row names no student."))
    if values["phone"] is not None:
        phone = normalise_phone(values["phone"])
        if phone is None:
            bad(
                "phone",
                N_("“{phone}” is not a phone number."),
                phone=display_phone(actor, values["phone"]),
            )
        values["phone"] = phone
    course = values["course"]
    if course is None:
        bad("course", N_("The course is missing."))
    else:
        values["course"] = course = " ".join(course.split())
        if len(course) > MAX_COURSE:
            bad(
                "course",
                N_("The course name has {length} characters; at most {maximum}."),
                maximum=MAX_COURSE,
                length=len(course),
            )
    raw_progress = values["progress_pct"]
    values["progress_pct"] = parse_progress(raw_progress) if raw_progress is not None else None
    if values["progress_pct"] is None:
        bad(
            "progress_pct",
            N_("“{value}” is not a progress from 0 to 100."),
            value=raw_progress or "",
        )
    raw_date = values["last_studied_on"]
    if raw_date is not None:
        try:
            studied = _study_date(parse_datetime(raw_date), *zones)
        except ValueError:
            bad("last_studied_on", N_("“{value}” is not a date like 2026-11-30."), value=raw_date)
            studied = None
        if studied is not None and studied > today:
            bad("last_studied_on", N_("{value} is in the future."), value=raw_date)
        values["last_studied_on"] = studied


def _category(
    before: StoredStudy | None, customer_id: int | None, progress: int, studied: date | None
) -> str:
    if before is None:
        return "new"
    if studied is not None and before.last_studied_on is not None:
        if studied < before.last_studied_on:
            return "older"
    same_customer = customer_id is None or customer_id == before.customer_id
    if same_customer and (progress, studied) == (before.progress_pct, before.last_studied_on):
        return "unchanged"
    return "updated"


def preview_learning_import(
    session: Session,
    actor: Actor,
    frame: pd.DataFrame,
    mapping: Mapping[str, str | None] | None = None,
    placeholders: Iterable[str] = DEFAULT_PLACEHOLDERS,
    *,
    source: str | None = None,
    time_zone: str | None = None,
) -> LearningPreview:
    """Check every row of `frame` (from `crm_core.imports.tabular.read_table`) and say what storing
    it would do; writes nothing.

    `mapping` is field -> file column (guessed when None); cells equal to one of
    `placeholders` count as blank. A row names its person by phone or customer id (the
    learning platform's user id of a customer), or both, which must then be the same
    lead; only leads in the actor's scope are found. A row is rejected with every reason:
    no person, a phone that reads as no number, no lead with that phone, an unknown
    customer id or a customer linked to no lead, no course, a progress that is not a
    number from 0 to 100, a bad or future study date, or a (person, course) an earlier
    row of the file already has. The leads and stored rows are read in chunks."""
    actor.require(Permission.MANAGE_CUSTOMERS)
    mapping = checked_mapping(frame, mapping, LEARNING_COLUMNS, missing_learning_columns)
    source = source or str(frame.attrs.get("filename") or "")
    cells = FileCells(frame, placeholders)
    numbers = cells.numbers
    today = company_today(session)
    zones = (file_zone(session, time_zone), company_zone(session))

    checked: list[_Checked] = []
    for position, number in enumerate(numbers):
        row = _Checked(position, number, cells.values(position, mapping), [])
        _check_cells(actor, mapping, row, today, zones)
        checked.append(row)

    by_phone = leads_by_phone(
        session, actor, {r.values["phone"] for r in checked if r.values["phone"]}
    )
    by_customer = leads_by_customer(
        session, actor, {r.values["customer_id"] for r in checked if r.values["customer_id"]}
    )
    first_row: dict[tuple[int, str], int] = {}
    resolved: dict[int, PersonLead] = {}
    for row in checked:
        person = _resolve(actor, mapping, row, by_phone, by_customer)
        if person is None or row.issues:
            continue
        key = (person.lead_id, row.values["course"])
        if key in first_row:
            repeat = {"course": key[1], "first_row": first_row[key]}
            row.issues.append(
                LearningIssue(
                    row.number,
                    "course",
                    mapping["course"] or "",
                    N_("The student's course “{course}” is already in row {first_row}."),
                    repeat,
                )
            )
            continue
        first_row[key] = row.number
        resolved[row.position] = person

    stored = stored_activity(session, {p.lead_id for p in resolved.values()})
    good: list[LearningRow] = []
    rejected: list[RejectedRow] = []
    for row in checked:
        if row.issues:
            rejected.append(RejectedRow(row.number, cells.cells(row.position), tuple(row.issues)))
            continue
        person = resolved[row.position]
        course, progress = row.values["course"], row.values["progress_pct"]
        studied = row.values["last_studied_on"]
        before = stored.get((person.lead_id, course))
        before = StoredStudy(*before) if before is not None else None
        good.append(
            LearningRow(
                row.number,
                person.lead_id,
                person.name,
                display_phone(actor, person.phone),
                person.customer_id,
                course,
                progress,
                studied,
                _category(before, person.customer_id, progress, studied),
                before,
            )
        )
    return LearningPreview(
        rows=tuple(good),
        rejected=tuple(rejected),
        columns=cells.columns,
        mapping=mapping,
        source=source,
        actor_user_id=actor.user_id,
        total_rows=len(numbers),
    )


def _resolve(
    actor: Actor,
    mapping: dict,
    row: _Checked,
    by_phone: dict[str, PersonLead],
    by_customer: dict[str, PersonLead | None],
) -> PersonLead | None:
    """The lead the row names, or None with the reasons added to the row."""
    phone, customer = row.values["phone"], row.values["customer_id"]

    def bad(name: str, key: str, **params: Any) -> None:
        row.issues.append(LearningIssue(row.number, name, mapping.get(name) or "", key, params))

    from_phone = from_customer = None
    if phone is not None:
        from_phone = by_phone.get(phone)
        if from_phone is None:
            bad("phone", N_("No lead has the phone {phone}."), phone=display_phone(actor, phone))
    if customer is not None:
        if customer not in by_customer:
            bad("customer_id", N_("No customer has the id “{customer}”."), customer=customer)
        else:
            from_customer = by_customer[customer]
            if from_customer is None:
                bad(
                    "customer_id",
                    N_("Customer “{customer}” is linked to no lead."),
                    customer=customer,
                )
    if from_phone and from_customer and from_phone.lead_id != from_customer.lead_id:
        bad(
            "customer_id",
            N_("Customer “{customer}” and phone {phone} belong to different leads."),
            customer=customer,
            phone=display_phone(actor, phone),
        )
        return None
    person = from_phone or from_customer
    if person is None:
        return None
    # A customer named in the file is stored with the row; else the lead's own.
    return person if from_customer is None else from_customer


__all__ = [
    "CATEGORIES",
    "LEARNING_COLUMNS",
    "LEARNING_FIELDS",
    "REASONS",
    "REQUIRED",
    "WRITTEN",
    "LearningIssue",
    "LearningPreview",
    "LearningRow",
    "RejectedRow",
    "StoredStudy",
    "guess_learning_mapping",
    "missing_learning_columns",
    "parse_progress",
    "preview_learning_import",
]
