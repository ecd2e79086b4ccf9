"""Roster columns and how their values read: statuses, titles to roles, dates, unit paths."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from crm_core.models import Role
from crm_core.platform.i18n import label_of, translate

# --- columns -------------------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "employee_no": ("employee no", "employee number", "employee id", "工号", "员工编号", "员工号"),
    "name": ("name", "full name", "姓名", "员工姓名"),
    "unit": ("unit", "unit path", "department", "org unit", "部门", "组织", "所属组织", "所属部门"),
    "title": ("title", "position", "job title", "role", "职位", "岗位", "职务"),
    "status": ("status", "employment status", "状态", "在职状态"),
    "date": ("date", "effective date", "日期", "生效日期"),
}
REQUIRED: tuple[str, ...] = ("employee_no", "name", "unit", "status")

CATEGORIES: tuple[str, ...] = (
    "new",
    "moved",
    "left",
    "rejoined",
    "back_from_leave",
    "on_leave",
    "changed",
    "unchanged",
    "skipped",
)

DEFAULT_ROLE = "rep"
MAX_LENGTH = {"employee_no": 40, "name": 120, "title": 120}

# --- statuses, titles, dates ---------------------------------------------------------------

STATUS_WORDS: dict[str, str] = {
    "active": "active",
    "在职": "active",
    "在岗": "active",
    "on leave": "on_leave",
    "leave": "on_leave",
    "休假": "on_leave",
    "请假": "on_leave",
    "休假中": "on_leave",
    "resigned": "resigned",
    "left": "resigned",
    "离职": "resigned",
    "已离职": "resigned",
}

COMMON_TITLES: dict[str, tuple[str, ...]] = {
    "rep": (
        "sales rep",
        "sales representative",
        "rep",
        "course adviser",
        "course advisor",
        "sales consultant",
        "课程顾问",
        "销售顾问",
        "销售代表",
        "顾问",
    ),
    "team_lead": ("team lead", "team leader", "组长", "小组长", "团队长"),
    "sales_manager": (
        "sales manager",
        "销售经理",
        "销售主管",
        "director",
        "sales director",
        "总监",
        "销售总监",
    ),
    "qa_inspector": ("qa", "qa inspector", "quality inspector", "质检", "质检员", "质检专员"),
    "marketing": ("marketing", "marketing specialist", "市场", "市场专员"),
    "executive": ("executive", "ceo", "general manager", "总经理"),
    "admin": ("admin", "administrator", "管理员", "系统管理员"),
}

UNIT_SEPARATORS = re.compile(r"[/>／＞]")
_DATE = re.compile(
    r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_ZH = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")


def _word(text: str) -> str:
    """Text for matching words: case-folded, `_` and `-` as spaces, spaces collapsed."""
    return " ".join(re.sub(r"[_\-]+", " ", str(text or "")).casefold().split())


def parse_status(text: str) -> str | None:
    """`active`, `on_leave` or `resigned` for the words HR files use, else None."""
    return STATUS_WORDS.get(_word(text))


def parse_date(text: str) -> date | None:
    """`YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (an optional time is ignored, as Excel date
    cells read that way) or `YYYY年M月D日`. Raise ValueError for anything else."""
    text = (text or "").strip()
    match = _DATE.match(text)
    if match:
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    else:
        match = _DATE_ZH.match(text)
        if not match:
            raise ValueError(text)
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    return date(year, month, day)


def title_map(roles: Iterable[Role]) -> dict[str, str]:
    """Matchable title -> role code, for the roles that exist."""
    codes = {role.code for role in roles}
    mapping: dict[str, str] = {}
    for code, titles in COMMON_TITLES.items():
        if code in codes:
            for title in titles:
                mapping[_word(title)] = code
    for language in ("en", "zh"):
        for code in codes:
            label = translate(label_of("role", code), language)
            if label:
                mapping[_word(label)] = code
    for role in roles:
        mapping[_word(role.name)] = role.code
        mapping[_word(role.code)] = role.code
    return mapping


def split_unit_path(text: str) -> list[str]:
    """`Beijing/Exam prep/Team 3` (or with `>` or `／`) as its names."""
    return [part.strip() for part in UNIT_SEPARATORS.split(text or "") if part.strip()]
