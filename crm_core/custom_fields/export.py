"""Custom field values as export cells and as text on a page: choices by their label in the
reader's language, yes / no as words, dates as ISO dates, several choices joined by ", "."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from crm_core.custom_fields.cells import FieldValue
from crm_core.custom_fields.definitions import choice_label
from crm_core.models import CustomField
from crm_core.platform.cells import neutralise_cell
from crm_core.platform.i18n import N_, translate

YES = N_("Yes")
NO = N_("No")


def value_text(field: CustomField, value: FieldValue, language: str) -> str:
    """How `value` of `field` reads for a person: empty when there is none."""
    if value is None or value == ():
        return ""
    if field.kind == "yes_no":
        return translate(YES if value else NO, language)
    if field.kind == "choice":
        return choice_label(field, str(value), language)
    if field.kind == "multi_choice":
        return ", ".join(choice_label(field, code, language) for code in value)
    if field.kind == "number":
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def custom_cells(
    fields: Iterable[CustomField], values: Mapping[str, FieldValue], language: str
) -> list[object]:
    """One export cell per field, in the fields' order: numbers and dates as themselves
    (a spreadsheet keeps their type), the rest as text safe from formula injection."""
    cells: list[object] = []
    for field in fields:
        value = values.get(field.code)
        if value is None:
            cells.append("")
        elif field.kind == "number" or field.kind == "date":
            cells.append(value)
        else:
            cells.append(neutralise_cell(value_text(field, value, language)))
    return cells
