"""Turning the rows of a lead file into intake inputs. What only the file can get wrong
(a date that is no date, a channel or business line by a name nobody knows) is answered
here with the same kind of outcome the intake gives."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlmodel import Session

from crm_core.business_lines import list_business_lines
from crm_core.cells import clean_cell, parse_datetime
from crm_core.intake import IntakeOutcome, LeadInput
from crm_core.intake.inputs import reject
from crm_core.lead_import.columns import COLUMNS, ImportOptions, lookup, split_list, word
from crm_core.metadata import list_options

# Fields the intake reads as text, straight from their cells.
_TEXT_FIELDS = ("name", "phone", "external_id", "campaign", "landing_page", "keyword",
                "region", "city", "email", "wechat")  # fmt: skip


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


def read_rows(session: Session, frame: pd.DataFrame, options: ImportOptions) -> FileRows:
    """Every data row of `frame` as a LeadInput, with the file-level refusals."""
    channel_words, line_words = _vocabularies(session)
    mapping = options.mapping
    blanks = options.placeholders
    columns = {name: frame[column].tolist() for name, column in mapping.items() if column}
    count = len(frame.index)
    inputs: list[LeadInput] = []
    refused: dict[int, IntakeOutcome] = {}
    for i in range(count):
        cell = {name: clean_cell(values[i], blanks) for name, values in columns.items()}
        item = LeadInput(**{name: cell.get(name) for name in _TEXT_FIELDS})
        channel = cell.get("channel")
        item.channel = (
            channel_words.get(word(channel), channel) if channel else options.default_channel
        )
        lines = split_list(cell.get("business_line"))
        item.business_line_codes = (
            [line_words.get(word(line), line) for line in lines]
            if lines
            else list(options.default_line_codes)
        )
        item.tags = split_list(cell.get("tags"))
        created = cell.get("created_at")
        if created:
            try:
                item.created_at = parse_datetime(created)
            except ValueError:
                refused[i] = reject(i, "lead_import.error.bad_date", "created_at", value=created)
        inputs.append(item)
    return FileRows(inputs, [int(n) for n in frame.index], refused)


def field_of(intake_field: str | None) -> str | None:
    """The file field an intake outcome points at."""
    if intake_field == "business_line_codes":
        return "business_line"
    return intake_field if intake_field in COLUMNS else None
