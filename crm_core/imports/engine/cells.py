"""How a cell reads as its field's kind: text (bounded), a phone number (E.164), a date or an
instant in the file's zone (stored as naive UTC), a number, an amount of money, an option
found through value mapping, or a custom field's value. A cell that does not read gives the
field's reason (the import's own wording, else the engine's)."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from crm_core.custom_fields.cells import parse_cell
from crm_core.imports.engine.spec import FieldSpec, split_list
from crm_core.imports.value_mapping import value_key
from crm_core.leads.masking import display_phone
from crm_core.leads.phones import normalise_phone
from crm_core.models import CustomField
from crm_core.platform.actor import Actor
from crm_core.platform.cells import parse_datetime
from crm_core.platform.company_time import to_local, to_utc
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.money import parse_money

MESSAGES: dict[str, str] = {
    "missing": N_("{field} is required."),
    "too_long": N_("At most {maximum} characters (this one has {length})."),
    "phone": N_("{phone} is not a valid phone number."),
    "date": N_('The date "{value}" cannot be read: use YYYY-MM-DD (with an optional HH:MM).'),
    "number": N_("“{value}” is not a number."),
    "money": N_("“{value}” is not an amount."),
    "option": N_("“{value}” is mapped onto no option."),
    "choice": N_("{field}: “{value}” is not mapped onto one of its choices."),
}
_CHOICE_PARTS = re.compile(r"[,;、|，；]")  # several choices split as `parse_cell` does


class CellProblem(Exception):
    """A cell that does not read: the reason and its parameters."""

    def __init__(self, key: str, params: dict[str, Any]) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def message(spec: FieldSpec, which: str) -> str:
    """The field's reason `which` in the import's wording, else the engine's."""
    if which in spec.messages:
        return spec.messages[which]
    if which == "invalid":
        kind = "date" if spec.kind in ("date", "datetime") else spec.kind
        return MESSAGES.get(kind, MESSAGES["number"])
    return MESSAGES[which]


@dataclass(frozen=True)
class CellReading:
    """What reading needs besides the cell: who reads (phones in reasons are masked for
    them), the file's zone, each option field's folded value -> code, custom fields by id."""

    actor: Actor
    zone: ZoneInfo
    company_zone: ZoneInfo
    codes: dict[str, dict[str, str]]
    custom: dict[int, CustomField]
    blanks: frozenset[str]


def read_cell(spec: FieldSpec, text: str, reading: CellReading) -> Any:
    """The typed value of a non-blank cell; raise CellProblem when it does not read."""

    def problem(**params: Any) -> CellProblem:
        return CellProblem(message(spec, "invalid"), params)

    kind = spec.kind
    if spec.max_length is not None and kind in ("text", "custom") and len(text) > spec.max_length:
        raise CellProblem(
            message(spec, "too_long"), {"maximum": spec.max_length, "length": len(text)}
        )
    if kind == "text":
        return tuple(dict.fromkeys(split_list(text))) if spec.several else text
    if kind == "phone":
        phone = normalise_phone(text)
        if phone is None:
            shown = display_phone(reading.actor, text)  # the reason is shown and exported
            raise problem(phone=shown)
        return phone
    if kind in ("date", "datetime"):
        try:
            instant = parse_datetime(unicodedata.normalize("NFKC", text))
        except ValueError:
            raise problem(value=text) from None
        if kind == "datetime":
            return to_utc(instant, reading.zone)
        if instant.time() == time():  # a bare date is a calendar date already
            return instant.date()
        return to_local(to_utc(instant, reading.zone), reading.company_zone).date()
    if kind == "number":
        cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
        try:
            number = float(cleaned)
        except ValueError:
            raise problem(value=text) from None
        if not math.isfinite(number):
            raise problem(value=text)
        return number
    if kind == "money":
        try:
            return parse_money(text)
        except ValidationError:
            raise problem(value=text) from None
    if kind == "option":
        codes = reading.codes.get(spec.name, {})
        if not spec.several:
            code = codes.get(value_key(text))
            if code is None:
                raise problem(value=text)
            return code
        chosen = []
        for part in split_list(text):
            code = codes.get(value_key(part))
            if code is None:
                raise problem(value=part)
            chosen.append(code)
        return tuple(dict.fromkeys(chosen))
    field = reading.custom[spec.custom_field_id or 0]
    if spec.category is not None:  # a choice field: its values went through value mapping
        return _choice(spec, field, text, reading.codes.get(spec.name, {}))
    try:
        return parse_cell(field, text, reading.blanks)
    except ValidationError as error:
        raise CellProblem(error.key, dict(error.params)) from None


def choice_parts(spec: FieldSpec, text: str) -> list[str]:
    """The values a choice field's cell names (one, or several for a multiple choice)."""
    parts = _CHOICE_PARTS.split(text) if spec.several else [text]
    return [part.strip() for part in parts if part.strip()]


def _choice(spec: FieldSpec, field: CustomField, text: str, codes: dict[str, str]) -> Any:
    chosen = []
    for part in choice_parts(spec, text):
        code = codes.get(value_key(part))
        if code is None:
            key = spec.messages.get("invalid", MESSAGES["choice"])
            raise CellProblem(key, {"field": field.code, "value": part})
        chosen.append(code)
    if not chosen:
        return None
    return tuple(dict.fromkeys(chosen)) if spec.several else chosen[0]


__all__ = ["MESSAGES", "choice_parts", "CellProblem", "CellReading", "message", "read_cell"]
