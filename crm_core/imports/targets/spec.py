"""The target file as an import spec: a row per month, subject (an org unit by name or
path, or a person by employee number, username or name) and metric, with its value. The
units and people the actor may set are read once; each row is checked against them and
against the stored targets (created, updated, unchanged); the write stores the good rows
at once through `crm_core.sales.targets.write_targets` (history and audit per change)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlmodel import Session, select

from crm_core.imports.engine import FieldSpec, Findings, Preview, RowReader, WriteOutcome
from crm_core.imports.roster.fields import split_unit_path
from crm_core.models import OrgUnit, User, path_ids
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import DataScope
from crm_core.sales.targets import (
    TargetEntry,
    clean_value,
    existing_targets,
    settable_units,
    settable_users,
    write_targets,
)

TARGET_COLUMNS: dict[str, tuple[str, ...]] = {
    "month": ("month", "period", "target month", "月份", "月", "目标月份", "考核月份"),
    "unit": ("unit", "org unit", "team", "department", "部门", "团队", "组织", "小组"),
    "rep": (
        "rep",
        "employee no",
        "employee number",
        "person",
        "sales rep",
        "adviser",
        "工号",
        "员工编号",
        "销售",
        "顾问",
        "人员",
        "姓名",
    ),
    "metric": ("metric", "target type", "kind", "指标", "目标类型", "类型"),
    "value": ("value", "target", "amount", "目标", "目标值", "数值", "金额"),
}
# What a metric cell may say, folded (lower case, no spaces, `_` or `-`).
METRIC_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("revenue", "sales", "amount", "业绩", "营收", "收入", "销售额", "回款", "业绩金额"),
        "revenue",
    ),
    **dict.fromkeys(
        ("won", "wins", "wonopportunities", "deals", "成单", "成单数", "赢单", "签单", "签单数"),
        "won",
    ),
    **dict.fromkeys(
        (
            "newstudents",
            "newpaidstudents",
            "students",
            "newstudent",
            "新增学员",
            "新学员",
            "新付费学员",
            "付费学员",
            "新生",
        ),
        "new_students",
    ),
}
_MONTH = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})")
_FOLD = re.compile(r"[\s_\-]+")

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "month",
        TARGET_COLUMNS["month"],
        required=True,
        messages={"missing": N_("The month is missing.")},
    ),
    FieldSpec("unit", TARGET_COLUMNS["unit"], max_length=400),
    FieldSpec("rep", TARGET_COLUMNS["rep"], max_length=120),
    FieldSpec(
        "metric",
        TARGET_COLUMNS["metric"],
        required=True,
        messages={"missing": N_("The metric is missing.")},
    ),
    FieldSpec(
        "value",
        TARGET_COLUMNS["value"],
        required=True,
        messages={"missing": N_("The target value is missing.")},
    ),
)
CATEGORIES: tuple[str, ...] = ("created", "updated", "unchanged")
MAX_ROWS = 20_000


@dataclass(frozen=True)
class TargetRow:
    """A row: the month, the subject as the file names it, the metric and the value (as
    read; resolved in the check). `category`: created, updated or unchanged."""

    row: int
    month: date | None
    unit: str | None
    rep: str | None
    metric: str | None
    value: Decimal | None
    unit_id: int | None = None
    user_id: int | None = None
    category: str = "created"


def parse_month(text: str | None) -> date | None:
    """`2026-03`, `2026/3`, `2026年3月`, `2026-03-01` as the month's first day."""
    found = _MONTH.match(text or "")
    if not found or not 1 <= int(found.group(2)) <= 12:
        return None
    return date(int(found.group(1)), int(found.group(2)), 1)


def read_target(reader: RowReader) -> TargetRow:
    """The row's month, subject, metric and value (each checked on its own)."""
    month = parse_month(reader["month"])
    if reader["month"] is not None and month is None:
        reader.bad("month", N_("“{value}” is not a month (e.g. 2026-03)."), value=reader["month"])
    unit, rep = reader["unit"], reader["rep"]
    if (unit is None) == (rep is None):
        reader.bad("unit", N_("Give either a unit or a person on each row, not both."))
    metric = None
    if reader["metric"] is not None:
        metric = METRIC_WORDS.get(_FOLD.sub("", reader["metric"].lower()))
        if metric is None:
            reader.bad(
                "metric",
                N_("“{value}” is not a target metric (revenue, won, new students)."),
                value=reader["metric"],
            )
    value = None
    if metric is not None and reader["value"] is not None:
        try:
            value = clean_value(metric, reader["value"])
        except CrmError as error:
            reader.bad("value", error.key, **error.params)
    return TargetRow(reader.number, month, unit, rep, metric, value)


def _fold(text: str) -> str:
    return " ".join(text.split()).lower()


def _unit_index(session: Session, actor: Actor) -> dict[str, list[int]]:
    """folded name or path ("beijing/team a", from the root or any ancestor) -> the units
    the actor may set."""
    settable = settable_units(session, actor)
    names = dict(session.exec(select(OrgUnit.id, OrgUnit.name)).all())
    index: dict[str, list[int]] = {}
    for unit in settable.values():
        chain = [names.get(i, "") for i in path_ids(unit.path)]
        for start in range(len(chain)):
            index.setdefault(_fold("/".join(chain[start:])), []).append(unit.id)
    return index


def _user_index(session: Session, actor: Actor) -> dict[str, list[int]]:
    """folded employee number, username or full name -> the people the actor may set."""
    index: dict[str, list[int]] = {}
    for user in settable_users(session, actor).values():
        for word in {_fold(user.employee_no), _fold(user.username), _fold(user.full_name)}:
            index.setdefault(word, []).append(user.id)
    return index


def _own_words(session: Session, actor: Actor) -> tuple[set[str], set[str]]:
    """The folded names and paths of the actor's own unit, and their own employee number,
    username and name: targets they may not set (an all-reaching actor may)."""
    if actor.scope is DataScope.ALL:
        return set(), set()
    names = dict(session.exec(select(OrgUnit.id, OrgUnit.name)).all())
    chain = [names.get(i, "") for i in path_ids(actor.org_path or "")]
    unit_words = {_fold("/".join(chain[start:])) for start in range(len(chain))}
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    user_words = (
        {_fold(user.employee_no), _fold(user.username), _fold(user.full_name)} if user else set()
    )
    return unit_words, user_words


def _subject(row: TargetRow, units, people, own_units, own_people) -> tuple:
    """(unit id, user id, None) for a row whose subject resolves, else (None, None,
    (field, reason, params))."""
    if row.unit is not None and row.rep is None:
        word = _fold("/".join(split_unit_path(row.unit)))
        matches = units.get(word, [])
        if word in own_units:
            return None, None, ("unit", N_("Your own unit's target is set by the level above."), {})
        if len(matches) > 1:
            reason = N_("Several units are called “{unit}”: give its path (Parent/Unit).")
            return None, None, ("unit", reason, {"unit": row.unit})
        if not matches:
            reason = N_("No unit you may set targets for is called “{unit}”.")
            return None, None, ("unit", reason, {"unit": row.unit})
        return matches[0], None, None
    if row.rep is not None and row.unit is None:
        word = _fold(row.rep)
        matches = people.get(word, [])
        if word in own_people:
            return None, None, ("rep", N_("Your own target is set by the level above."), {})
        if len(matches) > 1:
            reason = N_("Several people are called “{rep}”: give the employee number.")
            return None, None, ("rep", reason, {"rep": row.rep})
        if not matches:
            reason = N_("No one you may set targets for has the employee number or name “{rep}”.")
            return None, None, ("rep", reason, {"rep": row.rep})
        return None, matches[0], None
    return None, None, None  # both or neither: the read gave the reason


def check_targets(
    session: Session, actor: Actor, rows: list[TargetRow], found: Findings
) -> list[TargetRow]:
    """Resolve each row's subject among the units and people the actor may set (an
    ambiguous name asks for the path or the employee number; the actor's own unit or own
    target is refused with the reason), refuse a target given twice, and sort the good
    rows into created, updated and unchanged against the stored targets."""
    units = _unit_index(session, actor)
    people = _user_index(session, actor)
    own_units, own_people = _own_words(session, actor)
    resolved: list[TargetRow] = []
    first: dict[tuple, int] = {}
    for row in rows:
        unit_id, user_id, problem = _subject(row, units, people, own_units, own_people)
        if problem is not None:
            found.reject(row.row, problem[0], problem[1], **problem[2])
        key = (row.month, row.metric, unit_id, user_id)
        if (unit_id or user_id) and row.month and row.metric:
            if key in first:
                found.reject(
                    row.row,
                    "value",
                    N_("The same target is already on row {first_row}."),
                    first_row=first[key],
                )
            else:
                first[key] = row.row
        resolved.append(replace(row, unit_id=unit_id, user_id=user_id))
    stored = existing_targets(
        session,
        [(r.month, r.metric, r.unit_id, r.user_id) for r in resolved if r.unit_id or r.user_id],
    )
    checked = []
    for row in resolved:
        target = stored.get((row.month, row.metric, row.unit_id, row.user_id))
        if target is None:
            category = "created"
        else:
            category = "unchanged" if target.value == row.value else "updated"
        checked.append(replace(row, category=category))
    return checked


def write_targets_file(session: Session, actor: Actor, preview: Preview) -> WriteOutcome:
    """Store the created and updated rows (one history row and audit entry per change)."""
    entries = [
        TargetEntry(r.month, r.metric, r.value, r.unit_id, r.user_id)
        for r in preview.rows_in("created", "updated")
    ]
    outcome = write_targets(session, actor, entries, source="import")
    counts = preview.counts
    return WriteOutcome(
        {
            "created": outcome.created,
            "updated": outcome.updated,
            "unchanged": counts["unchanged"] + outcome.unchanged,
            "rejected": counts["rejected"],
        }
    )
