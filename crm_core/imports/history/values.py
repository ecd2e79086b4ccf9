"""How a history file's values read onto the company's lists, through value mapping
(`crm_core.imports.value_mapping`): the stage (and the stage before closing), channel,
lost reason, business line and intention level columns, and the choice custom fields.

`value_columns` lists each mapped column's distinct values with their row counts and the
option each resolves to (the user's choice, a mapping remembered from an earlier history
file, or the option it reads as; a stage also reads as the words most CRMs use, see
`DEFAULT_STAGE_MAP`). `ValueMaps` answers a row's cell with its code, or refuses the row
with the reason when the value maps onto nothing. `remember` stores the choices when an
import is applied. Each column is resolved once for the whole file: a file of many rows
costs one lookup per distinct value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlmodel import Session

from crm_core.custom_fields.cells import NOT_A_CHOICE
from crm_core.imports.history.columns import (
    DEFAULT_STAGE_MAP,
    IMPORT_KIND,
    OPTION_FIELDS,
    HistoryOptions,
)
from crm_core.imports.history.custom import CustomColumn, split_choices
from crm_core.imports.history.people import Refused
from crm_core.imports.value_mapping import (
    BY_OPTION,
    ResolvedValue,
    code_map,
    distinct_values,
    field_category,
    remember_values,
    resolve_values,
    value_key,
)
from crm_core.models import OPEN_STAGES
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import list_business_lines
from crm_core.sales.stages import funnel_rank

UNMAPPED = {
    "stage": N_("{value} is not mapped onto a stage."),
    "channel": N_("{value} is not mapped onto a channel."),
    "lost_reason": N_("{value} is not mapped onto a lost reason."),
    "business_line": N_("{value} is not mapped onto a business line."),
    "intention_level": N_("{value} is not mapped onto an intention level."),
}


@dataclass(frozen=True)
class ValueColumn:
    """A mapped column of the file whose values must be options: the list it maps onto
    (`category`, for a choice custom field `field:<id>`) and its distinct values."""

    category: str
    values: list[ResolvedValue]


def option_columns(
    options: HistoryOptions, custom: dict[str, CustomColumn]
) -> dict[str, tuple[str, bool]]:
    """Mapped field -> (its list, whether a cell holds several values), for the option
    columns and the choice custom fields the mapping names."""
    found: dict[str, tuple[str, bool]] = {}
    for name, header in options.mapping.items():
        if not header:
            continue
        if name in OPTION_FIELDS:
            found[name] = (OPTION_FIELDS[name], False)
        elif name in custom and custom[name].field.kind in ("choice", "multi_choice"):
            column = custom[name]
            found[name] = (field_category(column.field.id), column.field.kind == "multi_choice")
    return found


def _resolve(
    session: Session, category: str, cells: Iterable[str | None], choices: dict[str, str] | None
) -> list[ResolvedValue]:
    resolved = resolve_values(session, IMPORT_KIND, category, distinct_values(cells), choices)
    if category != "stage":
        return resolved
    # Prospecting, Engaging ...: the words the Maven export and most CRMs use read as ours
    # unless the user chose otherwise (a choice, even "leave", has `how` set).
    return [
        replace(r, code=DEFAULT_STAGE_MAP[r.key], how=BY_OPTION)
        if r.how is None and r.key in DEFAULT_STAGE_MAP
        else r
        for r in resolved
    ]


def value_columns(
    session: Session,
    cells: dict[str, list[str | None]],
    options: HistoryOptions,
    custom: dict[str, CustomColumn],
) -> dict[str, ValueColumn]:
    """Each mapped option column (cleaned cells by field) with its distinct values and
    the option each resolves to: what the page lists for the user to map."""
    found: dict[str, ValueColumn] = {}
    for name, (category, several) in option_columns(options, custom).items():
        column = cells.get(name, [])
        if several:
            column = [part for cell in column if cell is not None for part in split_choices(cell)]
        found[name] = ValueColumn(
            category, _resolve(session, category, column, options.value_choices.get(name))
        )
    return found


class ValueMaps:
    """The file's option columns resolved: a cell -> its code, or the row refused."""

    def __init__(self, session: Session, columns: dict[str, ValueColumn]) -> None:
        self.columns = columns
        self.codes = {name: code_map(column.values) for name, column in columns.items()}
        self.lines = {
            line.code: line.id for line in list_business_lines(session, active_only=False)
        }

    def code(self, name: str, text: str | None) -> str | None:
        """The option code of `text` in the column of field `name`; None for a blank cell.
        A disabled option still reads: history keeps it."""
        if not text:
            return None
        found = self.codes.get(name, {}).get(value_key(text))
        if found is None:
            category = OPTION_FIELDS.get(name, "")
            raise Refused(name, UNMAPPED[category], value=text)
        return found

    def line(self, text: str | None) -> int | None:
        """The business line id of a cell, None for a blank one."""
        code = self.code("business_line", text)
        return None if code is None else self.lines[code]

    def choice(self, name: str, field_code: str, text: str) -> str:
        """A choice custom field's code for one value; unmapped refuses the row."""
        found = self.codes.get(name, {}).get(value_key(text))
        if found is None:
            raise Refused(name, NOT_A_CHOICE, field=field_code, value=text)
        return found


def remember(session: Session, actor: Actor, columns: dict[str, ValueColumn]) -> None:
    """Store the user's value mapping for the next history file (the run only)."""
    for column in columns.values():
        remember_values(session, actor, IMPORT_KIND, column.category, column.values)


def proven_stage(stage: str, stage_before: str | None, qualified: bool) -> str:
    """The furthest open stage a row's own data proves: an open row its stage; a closed
    row the stage it was at before closing (when the file says), or `qualified` when the
    file names who qualified it, or `new`. A won row never gains trial stages it did not
    have: its win is counted from its stage, not from here."""
    if stage in OPEN_STAGES:
        return stage
    proven = "new"
    if stage_before in OPEN_STAGES:
        proven = stage_before
    if qualified and funnel_rank("qualified") > funnel_rank(proven):
        proven = "qualified"
    return proven
