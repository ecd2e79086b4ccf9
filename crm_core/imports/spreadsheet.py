"""Reading the first sheet of an uploaded .xlsx file within fixed limits.

An .xlsx file is a zip of XML parts, and nothing in it can be trusted: a sheet may declare
its size as A1:XFD1048576 while holding three cells, and a few kilobytes of zip may unpack
to gigabytes. So the limits are checked before and while reading, never after: the zip's
unpacked size (Python's zipfile never unpacks a member past the size it declares), then
the sheet's rows as the XML stream yields them, stopping at the first row or column over
the limit. Only cells that hold something are kept, so the declared dimension costs
nothing.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal

from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

# Limits of any upload. 200,000 data rows is the largest import; 300 columns and 8 million
# cells keep the rows of such a file under a few hundred MB of memory.
MAX_ROWS = 200_000
MAX_COLUMNS = 300
MAX_CELLS = 8_000_000
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024
# Shared strings are held in memory whole while the sheet is read.
MAX_SHARED_STRINGS_BYTES = 100 * 1024 * 1024


class _TooLarge(Exception):
    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: dates as `YYYY-MM-DD`, whole numbers without `.0`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _check_archive(data: bytes, filename: str) -> None:
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ValidationError(
            N_(
                "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file."
            ),
            filename=filename,
            detail="xlsx",
        ) from exc
    unzipped = sum(member.file_size for member in members)
    shared = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if unzipped > MAX_UNZIPPED_BYTES or shared > MAX_SHARED_STRINGS_BYTES:
        raise ValidationError(
            N_(
                "The file {filename} unpacks to {size_mb} MB, more than the {max_mb} MB an upload may hold. Split it into smaller files."
            ),
            filename=filename,
            size_mb=unzipped // (1024 * 1024),
            max_mb=MAX_UNZIPPED_BYTES // (1024 * 1024),
        )


def xlsx_rows(data: bytes, filename: str, max_rows: int = MAX_ROWS) -> list[tuple[int, list[str]]]:
    """The non-blank rows of the first sheet as (row number, cells as text), the header row
    included. Raise ValidationError `tabular.error.too_many_rows` as soon as a data row
    past `max_rows` appears, `tabular.error.too_wide` for a value right of column
    MAX_COLUMNS, `tabular.error.too_large` for a file that unpacks too big, and
    `tabular.error.unreadable` for what is no .xlsx."""
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser

    _check_archive(data, filename)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                return []
            sheet = workbook.worksheets[0]
            # The parser behind openpyxl's read-only sheets (3.1), used directly: the sheet's
            # own iter_rows pads every row to the declared width and fills the declared
            # height, which is how three cells became gigabytes.
            with sheet._get_source() as source:
                parser = WorkSheetParser(
                    source,
                    sheet._shared_strings,
                    data_only=True,
                    epoch=workbook.epoch,
                    date_formats=workbook._date_formats,
                    timedelta_formats=workbook._timedelta_formats,
                )
                return _rows(parser.parse(), max_rows)
        finally:
            workbook.close()
    except _TooLarge as limit:
        raise ValidationError(limit.key, filename=filename, **limit.params) from None
    except ValidationError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise ValidationError(
            N_(
                "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file."
            ),
            filename=filename,
            detail="xlsx",
        ) from exc


def _rows(parsed, max_rows: int) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    cells_read = 0
    for number, cells in parsed:
        values: dict[int, str] = {}
        for cell in cells:
            text = cell_text(cell["value"])
            if not text:
                continue
            column = cell["column"]
            if column > MAX_COLUMNS:
                raise _TooLarge(
                    N_(
                        "Row {row} of {filename} has values beyond column {max}. Delete the columns that are not needed and upload it again."
                    ),
                    row=number,
                    max=MAX_COLUMNS,
                )
            values[column] = text
        if not values:
            continue
        if len(rows) > max_rows:  # the header and max_rows data rows are in already
            raise _TooLarge(
                N_(
                    "The file {filename} has more than {max:,} data rows. Split it into smaller files."
                ),
                max=max_rows,
            )
        cells_read += len(values)
        if cells_read > MAX_CELLS:
            raise _TooLarge(
                N_(
                    "The file {filename} holds more than {max:,} filled cells. Split it into smaller files."
                ),
                max=MAX_CELLS,
            )
        row = [""] * max(values)
        for column, text in values.items():
            row[column - 1] = text
        rows.append((number, row))
    return rows
