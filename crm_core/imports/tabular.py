"""Reading uploaded tables (CSV or XLSX) into a frame of strings, and guessing which column
is which from English or Chinese headers.

Used by every import (the HR roster, leads, ...): the importer decides what the columns mean,
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
from collections.abc import Callable, Iterable, Mapping, Sequence

import pandas as pd

from crm_core.imports.spreadsheet import MAX_COLUMNS, MAX_ROWS, xlsx_rows
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

DELIMITERS = (",", ";", "\t")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format, which we do not read


def read_table(data: bytes, filename: str, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The first sheet of an XLSX file, or a CSV file, as a frame of stripped strings.

    CSV is decoded as UTF-8 (a byte-order mark is dropped), else as GB18030 (a superset of
    GBK, what Excel in Chinese saves) or Big5 (traditional Chinese), whichever the bytes
    show; UTF-16 with a byte-order mark reads too. The delimiter is whichever of `,` `;`
    tab splits the header into the most columns. Reading stops at the first data row past
    `max_rows` (ValidationError `tabular.error.too_many_rows`); the other limits are
    `crm_core.imports.spreadsheet`'s. Raise ValidationError `tabular.error.unreadable` for a file
    that cannot be read and `tabular.error.empty` for one without data rows. The frame
    records the file name in `frame.attrs["filename"]`.
    """
    name = (filename or "").strip()
    if not data:
        raise ValidationError(N_("The file {filename} has no data rows."), filename=name)
    if data.startswith(_ZIP_MAGIC) or name.lower().endswith(_XLSX_SUFFIXES):
        return _frame(_grid(xlsx_rows(data, name, max_rows)), name)
    if data.startswith(_OLE_MAGIC):
        raise ValidationError(
            N_(
                "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file."
            ),
            filename=name,
            detail="xls",
        )
    encoding = text_encoding(data, name)
    if encoding == "utf-16":  # rare: read through UTF-8, the parser's own encoding
        data, encoding = data.decode("utf-16").encode("utf-8"), "utf-8"
    grid = _csv_grid(data, encoding, name, max_rows)
    if grid is None:
        grid = _grid(_csv_rows(data.decode(encoding), name, max_rows))
    return _frame(grid, name)


def _too_many(filename: str, max_rows: int) -> ValidationError:
    return ValidationError(
        N_("The file {filename} has more than {max:,} data rows. Split it into smaller files."),
        filename=filename,
        max=max_rows,
    )


def _csv_grid(data: bytes, encoding: str, filename: str, max_rows: int) -> pd.DataFrame | None:
    """The CSV through pandas' C parser (a 200,000-row file in a fraction of a second), or
    None when it refuses the file (a row longer than the first): the csv module reads it.
    Blank lines stay as rows, so the index + 1 is the row number the spreadsheet shows.
    The parser reads the bytes as they are, so the file's text is never held whole; no
    more lines than the header, `max_rows` data rows and one more are parsed."""
    # Lines are an upper bound of rows (a quoted cell may hold line breaks): below the
    # limit the whole file is read; above it, reading stops one row past the limit.
    # (A line feed byte is a line feed in UTF-8, GB18030 and Big5 alike.)
    lines = data.count(b"\n") + 1
    limit = max_rows + 2 if lines > max_rows + 1 else None
    head = data[:65_536].decode(encoding, errors="ignore")
    try:
        grid = pd.read_csv(
            io.BytesIO(data),
            encoding=encoding,
            sep=sniff_delimiter(head),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            nrows=limit,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    if len(grid.columns) > MAX_COLUMNS:
        raise ValidationError(
            N_(
                "Row {row} of {filename} has values beyond column {max}. Delete the columns that are not needed and upload it again."
            ),
            filename=filename,
            row=1,
            max=MAX_COLUMNS,
        )
    grid = grid.fillna("")
    grid.index = pd.RangeIndex(1, len(grid.index) + 1)
    if limit is not None and len(grid.index) == limit:
        filled = int(grid.ne("").any(axis=1).sum())
        if filled > max_rows + 1:
            raise _too_many(filename, max_rows)
        # Blank lines or line breaks inside cells made up the count: read it all.
        grid = _csv_grid(data, encoding, filename, max_rows=lines)
    return grid


def text_encoding(data: bytes, filename: str) -> str:
    """The encoding of a CSV upload: `utf-16` (with its byte-order mark), `utf-8-sig`,
    `gb18030` or `big5hkscs`. Raise ValidationError `tabular.error.unreadable` (detail
    `encoding`) for anything else. The file is checked in slices, never decoded whole."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        if _decodes(data, "utf-16"):
            return "utf-16"
        raise ValidationError(
            N_(
                "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file."
            ),
            filename=filename,
            detail="encoding",
        )
    if b"\x00" not in data:  # a NUL: UTF-16 without its mark, or a binary file
        if _decodes(data, "utf-8-sig"):
            return "utf-8-sig"
        chinese = _chinese_encoding(data)
        if chinese is not None:
            return chinese
    raise ValidationError(
        N_(
            "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file."
        ),
        filename=filename,
        detail="encoding",
    )


def _decodes(data: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    step = 1 << 20
    try:
        for start in range(0, len(data), step):
            decoder.decode(data[start : start + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _chinese_encoding(data: bytes) -> str | None:
    """GB18030 or Big5, as the bytes show. Most byte pairs read in both, as different
    characters: text in its true encoding uses mostly the common characters of that
    encoding (GB2312 for GBK; Big5's first level, 0xA440-0xC67E, for Big5), while read in
    the other one it falls on rare ones. So the reading with fewer rare characters wins."""
    gb, big5 = _decodes(data, "gb18030"), _decodes(data, "big5hkscs")
    if not (gb and big5):
        return "gb18030" if gb else "big5hkscs" if big5 else None
    head = data[:400_000]
    as_gb = head.decode("gb18030", errors="ignore")
    as_big5 = head.decode("big5hkscs", errors="ignore")
    if _rare_share(as_big5, _in_big5_level_1) < _rare_share(as_gb, _in_gb2312):
        return "big5hkscs"
    return "gb18030"


def _rare_share(text: str, common: Callable[[str], bool]) -> float:
    sample = [ch for ch in text[:200_000] if ord(ch) >= 0x2E80]
    if not sample:
        return 0.0
    return sum(1 for ch in sample if not common(ch)) / len(sample)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _in_big5_level_1(ch: str) -> bool:
    try:
        code = ch.encode("big5")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and (code[0] < 0xA4 or b"\xa4\x40" <= code <= b"\xc6\x7e")


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


def _csv_rows(text: str, filename: str, max_rows: int) -> list[tuple[int, list[str]]]:
    delimiter = sniff_delimiter(text)
    rows: list[tuple[int, list[str]]] = []
    filled = 0
    try:
        for number, record in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        ):
            if len(record) > MAX_COLUMNS:
                raise ValidationError(
                    N_(
                        "Row {row} of {filename} has values beyond column {max}. Delete the columns that are not needed and upload it again."
                    ),
                    filename=filename,
                    row=number,
                    max=MAX_COLUMNS,
                )
            if any(cell.strip() for cell in record):
                filled += 1
                if filled > max_rows + 1:
                    raise _too_many(filename, max_rows)
            rows.append((number, record))
    except csv.Error as exc:
        raise ValidationError(
            N_(
                "The file {filename} cannot be read. Upload a CSV (UTF-8, GBK or Big5) or an XLSX file."
            ),
            filename=filename,
            detail="csv",
        ) from exc
    return rows


def _grid(rows: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """Numbered rows of cells as a frame indexed by row number, short rows padded."""
    if not rows:
        return pd.DataFrame()
    width = max(len(cells) for _, cells in rows)
    padded = [
        cells if len(cells) == width else [*cells, *[""] * (width - len(cells))]
        for _, cells in rows
    ]
    grid = pd.DataFrame(
        {i: pd.Series(values, dtype=object) for i, values in enumerate(zip(*padded, strict=True))}
    )
    grid.index = pd.Index([n for n, _ in rows])
    return grid


def _frame(grid: pd.DataFrame, filename: str) -> pd.DataFrame:
    """The header row and the data rows below it, cells stripped, blank rows left out."""
    if grid.empty:
        raise ValidationError(N_("The file {filename} has no data rows."), filename=filename)
    # Column by column, stripped by pandas: far quicker than cell by cell at 100,000 rows.
    grid = grid.apply(lambda column: column.astype(str).str.strip())
    grid.index.name = "row"
    grid = grid[grid.ne("").any(axis=1)]
    if len(grid.index) < 2:
        raise ValidationError(N_("The file {filename} has no data rows."), filename=filename)
    header_number = int(grid.index[0])
    header = grid.iloc[0].tolist()
    # Trailing cells of the header that are blank count only if some row fills them.
    frame = grid.iloc[1:].copy()
    frame.columns = _column_names(header)
    # Columns without a header that hold nothing (trailing separators) are noise.
    unnamed_empty = [
        c
        for c, h in zip(frame.columns, header, strict=True)
        if not h and not frame[c].str.len().any()
    ]
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
