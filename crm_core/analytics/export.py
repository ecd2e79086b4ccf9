"""A dashboard table as a file: CSV (UTF-8 with a byte-order mark, so Excel reads Chinese)
or XLSX. Every text cell that a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crm_core.platform.cells import neutralise_cell

EXPORT_FORMATS = ("csv", "xlsx")
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


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


def table_csv(frame: pd.DataFrame) -> bytes:
    """The table as CSV in UTF-8 with a byte-order mark."""
    header, rows = _rows(frame)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                v.isoformat(sep=" ")
                if isinstance(v, datetime)
                else v.isoformat()
                if isinstance(v, date)
                else ""
                if v is None
                else v
                for v in row
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def table_xlsx(frame: pd.DataFrame, title: str = "data") -> bytes:
    """The table as a one-sheet XLSX workbook."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title))
    header, rows = _rows(frame)
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_table(frame: pd.DataFrame, kind: str, title: str = "data") -> bytes:
    """`table_csv` or `table_xlsx` by `kind` (one of EXPORT_FORMATS)."""
    return table_xlsx(frame, title) if kind == "xlsx" else table_csv(frame)


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in sheet names, and names past 31 characters.
    clean = "".join(c for c in ILLEGAL_CHARACTERS_RE.sub("", title) if c not in "[]:*?/\\")
    return clean[:31] or "data"
