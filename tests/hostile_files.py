"""Uploads shaped to hurt: .xlsx files whose declared size lies, that unpack to far more
than they weigh, or that hold a million rows. Built from a real openpyxl workbook whose
sheet XML is then rewritten."""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"


def _cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def rewritten_xlsx(
    sheet_data: bytes, dimension: str | None = None, extra: dict | None = None
) -> bytes:
    """A valid workbook whose first sheet holds `sheet_data` (the rows' XML) and declares
    `dimension` (as given, not as true); `extra` adds or replaces zip members."""
    workbook = Workbook()
    workbook.active["A1"] = "placeholder"
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    extra = dict(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == SHEET:
                data = re.sub(
                    rb"<sheetData>.*</sheetData>",
                    b"<sheetData>" + sheet_data + b"</sheetData>",
                    data,
                    flags=re.S,
                )
                if dimension:
                    data = re.sub(
                        rb'<dimension ref="[^"]*"\s*/>',
                        f'<dimension ref="{dimension}"/>'.encode(),
                        data,
                    )
            target.writestr(item, extra.pop(item.filename, data))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


def declared_whole_sheet() -> bytes:
    """Three cells (a header and one value a million rows down) in a sheet that declares
    A1:XFD1048576: read naively, a million rows of 16,384 cells."""
    rows = (
        b'<row r="1">'
        + _cell("A1", "name")
        + _cell("B1", "phone")
        + b"</row>"
        + b'<row r="1048576">'
        + _cell("A1048576", "Zhang San")
        + b"</row>"
    )
    return rewritten_xlsx(rows, "A1:XFD1048576")


def rows_past_declared_dimension(count: int) -> bytes:
    """A header and `count` rows in a sheet that declares only A1:B2."""
    rows = [b'<row r="1">' + _cell("A1", "name") + _cell("B1", "phone") + b"</row>"]
    for n in range(2, count + 2):
        rows.append(
            b'<row r="%d">' % n
            + _cell(f"A{n}", f"Lead {n}")
            + b'<c r="B%d"><v>%d</v></c></row>' % (n, 13800000000 + n)
        )
    return rewritten_xlsx(b"".join(rows), "A1:B2")


def value_far_right() -> bytes:
    """A header and a value in column XFD."""
    rows = b'<row r="1">' + _cell("A1", "name") + _cell("XFD1", "x") + b"</row>"
    return rewritten_xlsx(rows, "A1:XFD1")


def shared_strings_bomb(megabytes: int) -> bytes:
    """A sheet of two cells whose shared-strings part unpacks to `megabytes` MB."""
    rows = b'<row r="1">' + _cell("A1", "name") + b"</row>"
    strings = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><si><t>' + b"A" * (megabytes * 1024 * 1024) + b"</t></si></sst>"
    )
    return rewritten_xlsx(rows, None, {"xl/sharedStrings.xml": strings})
