"""The study activity file as an import spec: its fields, the cells of a row, the lead each
row names (by phone or customer id, within the reader's lead scope), what storing it does,
and the set-based upsert that never takes a stored study back to an older one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm_core.imports.engine import FieldSpec, Findings, Preview, RowReader, WriteOutcome
from crm_core.imports.file_import import PHONE_HEADERS, PLATFORM_USER_ID_HEADERS
from crm_core.imports.study.lookups import (
    PersonLead,
    leads_by_customer,
    leads_by_phone,
    stored_activity,
)
from crm_core.leads.masking import display_phone
from crm_core.models import LearningActivity
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_

NOT_A_PROGRESS = N_("“{value}” is not a progress from 0 to 100.")
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "phone",
        PHONE_HEADERS,
        kind="phone",
        messages={"invalid": N_("“{phone}” is not a phone number.")},
    ),
    FieldSpec("customer_id", ("customer id", *PLATFORM_USER_ID_HEADERS)),
    FieldSpec(
        "course",
        (
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
        required=True,
        messages={"missing": N_("The course is missing.")},
    ),
    FieldSpec(
        "progress_pct",
        (
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
    ),
    FieldSpec(
        "last_studied_on",
        (
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
        kind="date",  # a time of day in the file's zone gives the company's date
        messages={"invalid": N_("“{value}” is not a date like 2026-11-30.")},
    ),
)
LEARNING_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS)
MAX_COURSE = 200  # the column's length
# new: no stored row; updated: the stored row changes; unchanged: it already says this;
# older: the stored row has a later study date, so it stays as it is.
CATEGORIES: tuple[str, ...] = ("new", "updated", "unchanged", "older")
WRITTEN: tuple[str, ...] = ("new", "updated")
_CHUNK = 5_000  # rows per upsert statement


@dataclass(frozen=True)
class StudyCells:
    """A row's readable cells, before its lead is looked up."""

    row: int
    phone: str | None
    customer_id: str | None
    course: str
    progress_pct: int
    last_studied_on: date | None


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


def read_study(reader: RowReader) -> StudyCells | None:
    """The row's person, course, progress and study date, with every reason it is bad."""
    if reader.texts.get("phone") is None and reader.texts.get("customer_id") is None:
        reader.bad("", N_("Neither a phone nor a customer id: the row names no student."))
    course = " ".join((reader["course"] or "").split())
    if len(course) > MAX_COURSE:
        reader.bad(
            "course",
            N_("The course name has {length} characters; at most {maximum}."),
            maximum=MAX_COURSE,
            length=len(course),
        )
    raw = reader.texts.get("progress_pct")
    progress = parse_progress(raw) if raw is not None else None
    if progress is None:
        reader.bad("progress_pct", NOT_A_PROGRESS, value=raw or "")
    studied = reader["last_studied_on"]
    if studied is not None and studied > reader.today:
        reader.bad(
            "last_studied_on",
            N_("{value} is in the future."),
            value=reader.texts["last_studied_on"],
        )
    if reader.issues:
        return None
    return StudyCells(
        reader.number, reader["phone"], reader["customer_id"], course, progress, studied
    )


def _person(
    actor: Actor,
    row: StudyCells,
    by_phone: dict[str, PersonLead],
    by_customer: dict[str, PersonLead | None],
    found: Findings,
) -> PersonLead | None:
    """The lead the row names, or None with the reasons given to `found`."""
    phone, customer = row.phone, row.customer_id
    from_phone = from_customer = None
    if phone is not None:
        from_phone = by_phone.get(phone)
        if from_phone is None:
            shown = display_phone(actor, phone)
            found.reject(row.row, "phone", N_("No lead has the phone {phone}."), phone=shown)
    if customer is not None:
        if customer not in by_customer:
            found.reject(
                row.row,
                "customer_id",
                N_("No customer has the id “{customer}”."),
                customer=customer,
            )
        else:
            from_customer = by_customer[customer]
            if from_customer is None:
                found.reject(
                    row.row,
                    "customer_id",
                    N_("Customer “{customer}” is linked to no lead."),
                    customer=customer,
                )
    if from_phone and from_customer and from_phone.lead_id != from_customer.lead_id:
        found.reject(
            row.row,
            "customer_id",
            N_("Customer “{customer}” and phone {phone} belong to different leads."),
            customer=customer,
            phone=display_phone(actor, phone),
        )
        return None
    if row.row in found.rejected:
        return None
    # A customer named in the file is stored with the row; else the lead's own.
    return from_customer or from_phone


def _category(before: StoredStudy | None, row: StudyCells, customer_id: int | None) -> str:
    if before is None:
        return "new"
    studied = row.last_studied_on
    if studied is not None and before.last_studied_on is not None:
        if studied < before.last_studied_on:
            return "older"
    same_customer = customer_id is None or customer_id == before.customer_id
    if same_customer and (row.progress_pct, studied) == (
        before.progress_pct,
        before.last_studied_on,
    ):
        return "unchanged"
    return "updated"


def check_study(
    session: Session, actor: Actor, rows: list[StudyCells], found: Findings
) -> list[LearningRow]:
    """Each row's lead (leads and stored rows read in chunks, only within the actor's lead
    scope), a (person, course) an earlier row already has, and what storing it does."""
    by_phone = leads_by_phone(session, actor, {r.phone for r in rows if r.phone})
    by_customer = leads_by_customer(session, actor, {r.customer_id for r in rows if r.customer_id})
    first_row: dict[tuple[int, str], int] = {}
    people: list[tuple[StudyCells, PersonLead]] = []
    for row in rows:
        person = _person(actor, row, by_phone, by_customer, found)
        if person is None:
            continue
        key = (person.lead_id, row.course)
        if key in first_row:
            found.reject(
                row.row,
                "course",
                N_("The student's course “{course}” is already in row {first_row}."),
                course=row.course,
                first_row=first_row[key],
            )
            continue
        first_row[key] = row.row
        people.append((row, person))
    stored = stored_activity(session, {person.lead_id for _, person in people})
    good = []
    for row, person in people:
        before = stored.get((person.lead_id, row.course))
        before = StoredStudy(*before) if before is not None else None
        category = _category(before, row, person.customer_id)
        shown = display_phone(actor, person.phone)
        good.append(
            LearningRow(
                row.row,
                person.lead_id,
                person.name,
                shown,
                person.customer_id,
                row.course,
                row.progress_pct,
                row.last_studied_on,
                category,
                before,
            )
        )
    return good


def _upsert(session: Session):
    """INSERT ... ON CONFLICT (lead, course) DO UPDATE in the database's own dialect. A row
    stored with a later study date than the file's stays as it is, also when another
    import stored it after the preview."""
    table = LearningActivity.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.lead_id, table.c.course],
        set_={
            "customer_id": func.coalesce(new.customer_id, table.c.customer_id),
            "progress_pct": new.progress_pct,
            "last_studied_on": new.last_studied_on,
            "imported_by_id": new.imported_by_id,
            "imported_at": new.imported_at,
        },
        where=or_(
            new.last_studied_on.is_(None),
            table.c.last_studied_on.is_(None),
            new.last_studied_on >= table.c.last_studied_on,
        ),
    )


def write_study(session: Session, actor: Actor, preview: Preview) -> WriteOutcome:
    """Upsert the new and changed rows, a few thousand per statement: each (lead, course)
    takes the file's progress and study date, unless the stored row studied later."""
    now = clock.now()
    rows = [
        {
            "lead_id": row.lead_id,
            "customer_id": row.customer_id,
            "course": row.course,
            "progress_pct": row.progress_pct,
            "last_studied_on": row.last_studied_on,
            "imported_by_id": actor.user_id,
            "imported_at": now,
        }
        for row in preview.rows_in(*WRITTEN)
    ]
    statement = _upsert(session)
    for start in range(0, len(rows), _CHUNK):
        session.execute(statement, rows[start : start + _CHUNK])
    return WriteOutcome(preview.counts)
