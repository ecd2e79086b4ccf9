"""Turning the rows of a lead file into intake inputs. What only the file can get wrong
(a date that is no date, a channel or business line by a name nobody knows) is answered
here with the same kind of outcome the intake gives."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlmodel import Session

from crm_core.imports.leads.columns import COLUMNS, ImportOptions, lookup, split_list, word
from crm_core.leads.intake import IntakeOutcome, LeadInput
from crm_core.leads.intake.inputs import reject
from crm_core.platform.cells import parse_datetime
from crm_core.platform.company_time import file_zone, to_utc
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import list_business_lines, list_options

# LeadInput's leading fields, in its order: text straight from the cells, except the
# channel, which is read by name.
_LEADING_FIELDS = (
    "name",
    "phone",
    "external_id",
    "channel",
    "campaign",
    "landing_page",
    "keyword",
    "region",
    "city",
    "email",
    "wechat",
)
_PLACEHOLDER_MAX = 20  # no placeholder is longer; longer cells skip the check
_BAD_DATE = object()


@dataclass
class FileRows:
    """The file as intake inputs; `row_numbers[i]` is input i's row in the spreadsheet."""

    inputs: list[LeadInput]
    row_numbers: list[int]
    refused: dict[int, IntakeOutcome]  # input index -> why the file's value cannot be read


def _vocabularies(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """Channel and business-line words (codes, English and Chinese names) -> codes. Disabled
    ones are included so the intake names them as disabled rather than unknown."""
    channels = lookup(
        (o.code, (o.label_en, o.label_zh))
        for o in list_options(session, "channel", active_only=False)
    )
    lines = lookup(
        (line.code, (line.name,)) for line in list_business_lines(session, active_only=False)
    )
    return channels, lines


def _clean_column(values: list, blanks: frozenset[str]) -> list[str | None]:
    """A column's cells with blanks and placeholders as None (the frame is stripped)."""
    # Only a cell that starts like some placeholder is compared in full: names, phones and
    # most codes never are.
    starts = {blank[0] for blank in blanks}
    out: list[str | None] = []
    for value in values:
        if not value:
            out.append(None)
        elif (
            len(value) <= _PLACEHOLDER_MAX
            and value[0].casefold() in starts
            and (
                (key := value.casefold()) in blanks
                or (" " in key and " ".join(key.split()) in blanks)
            )
        ):
            out.append(None)
        else:
            out.append(value)
    return out


def _by_value(cells: list[str | None], read) -> list:
    """`read` applied to each distinct cell once: channels, lines and dates repeat a lot."""
    seen: dict[str, object] = {}
    return [
        None if c is None else (seen[c] if c in seen else seen.setdefault(c, read(c)))
        for c in cells
    ]


def read_rows(session: Session, frame: pd.DataFrame, options: ImportOptions) -> FileRows:
    """Every data row of `frame` as a LeadInput, with the file-level refusals. Works column
    by column, so a 200,000-row file costs little more than its cells."""
    channel_words, line_words = _vocabularies(session)
    count = len(frame.index)
    blank = [None] * count
    column = {
        name: _clean_column(frame[header].tolist(), options.placeholders)
        for name, header in options.mapping.items()
        if header
    }
    channels = _by_value(column.get("channel", blank), lambda c: channel_words.get(word(c), c))
    default_lines = list(options.default_line_codes)
    lines = _by_value(
        column.get("business_line", blank),
        lambda c: [line_words.get(word(x), x) for x in split_list(c)],
    )
    tags = _by_value(column.get("tags", blank), split_list)

    zone = file_zone(session, options.time_zone)  # the file's times, read as instants

    def date_of(text: str):
        try:
            return to_utc(parse_datetime(text), zone)
        except ValueError:
            return _BAD_DATE

    dates = _by_value(column.get("created_at", blank), date_of)
    if options.default_channel:
        channels = [c or options.default_channel for c in channels]
    leading = [
        channels if name == "channel" else column.get(name, blank) for name in _LEADING_FIELDS
    ]
    inputs: list[LeadInput] = []
    refused: dict[int, IntakeOutcome] = {}
    no_tags: list[str] = []
    # Rows share the list objects of equal cells: the intake only reads them.
    for i, values in enumerate(zip(*leading, strict=True)):
        created = dates[i]
        if created is _BAD_DATE:
            value = column["created_at"][i]
            refused[i] = reject(
                i,
                N_("{value} is not a date (use 2024-03-01 or 2024/3/1 14:30)."),
                "created_at",
                value=value,
            )
            created = None
        inputs.append(LeadInput(*values, lines[i] or default_lines, created, tags[i] or no_tags))
    return FileRows(inputs, [int(n) for n in frame.index], refused)


def field_of(intake_field: str | None) -> str | None:
    """The file field an intake outcome points at."""
    if intake_field == "business_line_codes":
        return "business_line"
    return intake_field if intake_field in COLUMNS else None
