"""Reading uploaded tables (CSV or XLSX) into a frame of strings, and guessing which column
is which from English or Chinese headers.

Used by every import (the HR roster, leads): the importer decides what the columns mean,
this module only turns bytes into rows. The frame's index is the row number as a
spreadsheet shows it (the header is row 1, the first data row is row 2), so an importer can
report a bad row exactly where the user will look for it; blank rows are left out but do not
shift the numbering.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal

import pandas as pd

from crm_core.errors import ValidationError

DELIMITERS = (",", ";", "\t")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format, which we do not read


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """The first sheet of an XLSX file, or a CSV file, as a frame of stripped strings.

    CSV is decoded as UTF-8 (a byte-order mark is dropped), else as GB18030 (a superset of
    GBK, what Excel in Chinese saves); UTF-16 with a byte-order mark reads too. The
    delimiter is whichever of `,` `;` tab splits the header into the most columns. Raise
    ValidationError `tabular.error.unreadable` for a file that cannot be read and
    `tabular.error.empty` for one without data rows. The frame records the file name in
    `frame.attrs["filename"]`.
    """
    name = (filename or "").strip()
    if not data:
        raise ValidationError("tabular.error.empty", filename=name)
    if data.startswith(_ZIP_MAGIC) or name.lower().endswith(_XLSX_SUFFIXES):
        return _frame(_grid(_xlsx_rows(data, name)), name)
    if data.startswith(_OLE_MAGIC):
        raise ValidationError("tabular.error.unreadable", filename=name, detail="xls")
    text = _decode(data, name)
    grid = _csv_grid(text)
    if grid is None:
        grid = _grid(_csv_rows(text, name))
    return _frame(grid, name)


def _csv_grid(text: str) -> pd.DataFrame | None:
    """The CSV through pandas' C parser (a 200,000-row file in a fraction of a second), or
    None when it refuses the file (a row longer than the first): the csv module reads it.
    Blank lines stay as rows, so the index + 1 is the row number the spreadsheet shows."""
    try:
        grid = pd.read_csv(
            io.StringIO(text), sep=sniff_delimiter(text), header=None, dtype=str,
            keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c",
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    grid = grid.fillna("")
    grid.index = pd.RangeIndex(1, len(grid.index) + 1)
    return grid


def _decode(data: bytes, filename: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                "tabular.error.unreadable", filename=filename, detail="encoding"
            ) from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # UTF-16 or a binary file that happened to decode
            break
        return text
    raise ValidationError("tabular.error.unreadable", filename=filename, detail="encoding")


def sniff_delimiter(text: str) -> str:
    """The delimiter among `,` `;` tab that splits the header line into the most columns
    (`,` on a tie, so a one-column file reads too)."""
    head = "\n".join(text[:20_000].splitlines()[:20])
    best, best_width = ",", 0
    for delimiter in DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(first) > best_width:
            best, best_width = delimiter, len(first)
    return best


def _csv_rows(text: str, filename: str) -> list[tuple[int, list[str]]]:
    delimiter = sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ValidationError("tabular.error.unreadable", filename=filename, detail="csv") from exc
    return [(number, record) for number, record in enumerate(records, start=1)]


def _cell_text(value: object) -> str:
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


def _xlsx_rows(data: bytes, filename: str) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                return []
            return [
                (number, [_cell_text(value) for value in values])
                for number, values in enumerate(
                    workbook.worksheets[0].iter_rows(values_only=True), start=1
                )
            ]
        finally:
            workbook.close()
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise ValidationError("tabular.error.unreadable", filename=filename, detail="xlsx") from exc


def _grid(rows: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """Numbered rows of cells as a frame indexed by row number, short rows padded."""
    if not rows:
        return pd.DataFrame()
    width = max(len(cells) for _, cells in rows)
    padded = [cells if len(cells) == width else [*cells, *[""] * (width - len(cells))]
              for _, cells in rows]  # fmt: skip
    grid = pd.DataFrame(
        {i: pd.Series(values, dtype=object) for i, values in enumerate(zip(*padded, strict=True))}
    )
    grid.index = pd.Index([n for n, _ in rows])
    return grid


def _frame(grid: pd.DataFrame, filename: str) -> pd.DataFrame:
    """The header row and the data rows below it, cells stripped, blank rows left out."""
    if grid.empty:
        raise ValidationError("tabular.error.empty", filename=filename)
    # Column by column, stripped by pandas: far quicker than cell by cell at 100,000 rows.
    grid = grid.apply(lambda column: column.astype(str).str.strip())
    grid.index.name = "row"
    grid = grid[grid.ne("").any(axis=1)]
    if len(grid.index) < 2:
        raise ValidationError("tabular.error.empty", filename=filename)
    header_number = int(grid.index[0])
    header = grid.iloc[0].tolist()
    # Trailing cells of the header that are blank count only if some row fills them.
    frame = grid.iloc[1:].copy()
    frame.columns = _column_names(header)
    # Columns without a header that hold nothing (trailing separators) are noise.
    unnamed_empty = [
        c for c, h in zip(frame.columns, header, strict=True)
        if not h and not frame[c].str.len().any()
    ]  # fmt: skip
    frame = frame.drop(columns=unnamed_empty)
    frame.attrs["header_row"] = header_number
    frame.attrs["filename"] = filename
    return frame


def _column_names(header: Sequence[str]) -> list[str]:
    """Header cells as unique column names: blanks become `column_<n>`, repeats get `.1`."""
    names: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(header, start=1):
        base = raw or f"column_{position}"
        name, suffix = base, 1
        while name in seen:
            name = f"{base}.{suffix}"
            suffix += 1
        seen.add(name)
        names.append(name)
    return names


def normalise_header(text: str) -> str:
    """A header for comparison: case-folded, without spaces, `_`, `-`, `.` or `:`."""
    return re.sub(r"[\s_\-.:：()（）]+", "", str(text or "").casefold())


def guess_mapping(
    columns: Iterable[str], synonyms: Mapping[str, Iterable[str]]
) -> dict[str, str | None]:
    """For each field of `synonyms` (field -> header names it may have, in any language),
    the column whose header matches, or None. Case and spacing do not matter; the field's
    own name also matches; each column is used once, first field first."""
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(normalise_header(column), column)
    used: set[str] = set()
    mapping: dict[str, str | None] = {}
    for field, names in synonyms.items():
        found = None
        for candidate in (field, *names):
            column = by_key.get(normalise_header(candidate))
            if column is not None and column not in used:
                found = column
                break
        if found is not None:
            used.add(found)
        mapping[field] = found
    return mapping
