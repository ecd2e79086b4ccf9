"""Reading a custom field's value from a file cell or a form, for imports and edits.

One reading for every entrance: numbers with thousands separators, dates in the formats
every import reads (`crm_core.platform.cells`), yes / no in English and Chinese (and 1 / 0),
choices by code or either label regardless of case and width, several choices split on
`,`, `;`, `、` or `|`. A placeholder (`Select`, `-`, `N/A` ...) is blank.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session

from crm_core.custom_fields.definitions import active_choices, field_label
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.models import CustomField
from crm_core.platform.actor import Actor
from crm_core.platform.cells import clean_cell, parse_datetime
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import fold

# A custom field's value as the core passes it around: text, number, date, yes / no, a
# choice's code, or the codes of several choices. None: no value.
FieldValue = str | float | date | bool | tuple[str, ...] | None

TEXT_LIMIT = 500
YES_WORDS = frozenset({"yes", "y", "true", "t", "1", "是", "对", "有", "真", "√", "✓"})
NO_WORDS = frozenset({"no", "n", "false", "f", "0", "否", "不是", "没有", "假", "×", "✗"})
_SPLIT = re.compile(r"[,;、|，；]")

NOT_A_NUMBER = N_("{field}: “{value}” is not a number.")
NOT_A_DATE = N_("{field}: “{value}” is not a date (for example 2026-03-31).")
NOT_YES_NO = N_("{field}: “{value}” is neither yes nor no.")
NOT_A_CHOICE = N_("{field}: “{value}” is not one of the choices.")
TEXT_TOO_LONG = N_("{field} has at most {max} characters.")


def _number(field: CustomField, text: str) -> float:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise ValidationError(NOT_A_NUMBER, field=field.code, value=text) from None
    if not math.isfinite(number):
        raise ValidationError(NOT_A_NUMBER, field=field.code, value=text)
    return number


def _date(field: CustomField, text: str) -> date:
    try:
        return parse_datetime(unicodedata.normalize("NFKC", text)).date()
    except ValueError:
        raise ValidationError(NOT_A_DATE, field=field.code, value=text) from None


def _yes_no(field: CustomField, text: str) -> bool:
    word = fold(text)
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise ValidationError(NOT_YES_NO, field=field.code, value=text)


def find_choice(field: CustomField, text: str) -> str | None:
    """The code of the offered choice whose code or label reads as `text`, or None."""
    wanted = fold(text)
    for choice in active_choices(field):
        if wanted in (fold(choice["code"]), fold(choice["label_en"]), fold(choice["label_zh"])):
            return choice["code"]
    return None


def _choice(field: CustomField, text: str) -> str:
    code = find_choice(field, text)
    if code is None:
        raise ValidationError(NOT_A_CHOICE, field=field.code, value=text)
    return code


def parse_cell(
    field: CustomField, text: object, placeholders: frozenset[str] = frozenset()
) -> FieldValue:
    """The typed value of `field` that the cell `text` holds, None when blank or a
    placeholder. Raise ValidationError (its key names the field and the bad value) when the
    cell cannot be read as the field's kind. Dates and datetimes from a spreadsheet pass
    as their date; a time of day in a date cell is dropped (a date field holds days)."""
    if isinstance(text, datetime):
        text = text.date()
    if isinstance(text, date):
        if field.kind == "date":
            return text
        text = text.isoformat()
    if isinstance(text, bool) and field.kind == "yes_no":
        return text
    if isinstance(text, int | float) and not isinstance(text, bool) and field.kind == "number":
        return float(text)
    value = clean_cell(text, placeholders)
    if value is None:
        return None
    if field.kind == "text":
        if len(value) > TEXT_LIMIT:
            raise ValidationError(TEXT_TOO_LONG, field=field.code, max=TEXT_LIMIT)
        return value
    if field.kind == "number":
        return _number(field, value)
    if field.kind == "date":
        return _date(field, value)
    if field.kind == "yes_no":
        return _yes_no(field, value)
    if field.kind == "choice":
        return _choice(field, value)
    parts = [p.strip() for p in _SPLIT.split(value)]
    codes: list[str] = []
    for part in parts:
        if clean_cell(part, placeholders) is not None:
            code = _choice(field, part)
            if code not in codes:
                codes.append(code)
    return tuple(codes) or None


def parse_form_value(field: CustomField, value: object) -> FieldValue:
    """A form widget's value as the field's value: lists are several choices, the rest
    reads like a cell."""
    if value is None:
        return None
    if field.kind == "multi_choice" and isinstance(value, list | tuple):
        codes = [_choice(field, str(v)) for v in value if str(v).strip()]
        return tuple(dict.fromkeys(codes)) or None
    return parse_cell(field, value)


def import_columns(session: Session, actor: Actor, entity: str) -> dict[str, list[str]]:
    """For an import's column mapping: field code -> the headers that mean it (its code and
    both labels), for the active fields of `entity` that the importer sees."""
    columns: dict[str, list[str]] = {}
    for field in fields_visible_to(session, actor, entity):
        names = [field.code, field_label(field, "en"), field_label(field, "zh")]
        columns[field.code] = list(dict.fromkeys(n for n in names if n))
    return columns


def header_matches(headers: Iterable[str], synonyms: Iterable[str]) -> str | None:
    """The first of `headers` that reads as one of `synonyms`, ignoring case and width."""
    wanted = {fold(s) for s in synonyms}
    return next((h for h in headers if fold(h) in wanted), None)
