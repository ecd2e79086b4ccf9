"""A dashboard table as a file: CSV (UTF-8 with a byte-order mark, so Excel reads Chinese)
or XLSX. Every text cell that a spreadsheet would run as a formula is neutralised.

Figures stay numbers: amounts, counts and shares are written as numbers (a CSV amount as
`2159980.00`, a share as `0.125`), and an XLSX cell carries the number format of its
column's kind (`NUMBER_FORMATS`), so a spreadsheet sums them and shows separators."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crm_core.platform.cells import neutralise_cell

EXPORT_FORMATS = ("csv", "xlsx")
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# A column's kind -> its XLSX number format.
NUMBER_FORMATS = {"money": "#,##0.00", "share": "0.0%", "count": "#,##0"}


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if isinstance(value, str):
        return neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _rows(frame: pd.DataFrame) -> tuple[list[object], list[Sequence[object]]]:
    header = [_cell(str(c)) for c in frame.columns]
    return header, [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]


def _csv_value(value: object, kind: str | None) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "money" and isinstance(value, (int, float)):
        return f"{value:.2f}"  # 2159980.00, never 2159980.0
    return value


def _kinds(frame: pd.DataFrame, kinds: Mapping[str, str] | None) -> list[str | None]:
    kinds = kinds or {}
    return [kinds.get(str(c)) for c in frame.columns]


def table_csv(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> bytes:
    """The table as CSV in UTF-8 with a byte-order mark. `kinds`: column -> "money",
    "share" or "count" (money is written with two decimals)."""
    header, rows = _rows(frame)
    column_kinds = _kinds(frame, kinds)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(v, k) for v, k in zip(row, column_kinds, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def table_xlsx(
    frame: pd.DataFrame, title: str = "data", kinds: Mapping[str, str] | None = None
) -> bytes:
    """The table as a one-sheet XLSX workbook; numbers of a `kinds` column carry its
    number format."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title))
    header, rows = _rows(frame)
    column_kinds = _kinds(frame, kinds)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v, k) for v, k in zip(row, column_kinds, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value: object, kind: str | None) -> object:
    if kind not in NUMBER_FORMATS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = NUMBER_FORMATS[kind]
    return cell


def export_table(
    frame: pd.DataFrame, kind: str, title: str = "data", kinds: Mapping[str, str] | None = None
) -> bytes:
    """`table_csv` or `table_xlsx` by `kind` (one of EXPORT_FORMATS); `kinds` names the
    columns that hold money, shares and counts."""
    return table_xlsx(frame, title, kinds) if kind == "xlsx" else table_csv(frame, kinds)


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in sheet names, and names past 31 characters.
    clean = "".join(c for c in ILLEGAL_CHARACTERS_RE.sub("", title) if c not in "[]:*?/\\")
    return clean[:31] or "data"
