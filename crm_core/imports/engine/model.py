"""What the import engine hands around: the row reader a spec builds its typed row with, the
findings of a spec's set-based check, the preview and the run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crm_core.imports.engine.spec import FieldSpec
from crm_core.imports.file_import import FieldIssue, FilePreview, ImportResult
from crm_core.imports.value_mapping import ResolvedValue


@dataclass(frozen=True)
class Preview(FilePreview):
    """What storing the file would do: the good `rows` (the spec's typed rows, each with
    its `category`), the rejected rows, `warnings` (rows that are stored but deserve a
    look), each option column's distinct values and options (`values`), the custom field
    values per row number (`custom`), and the spec's own figures (`details`)."""

    kind: str = ""
    categories: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    warnings: tuple[FieldIssue, ...] = ()
    values: Mapping[str, list[ResolvedValue]] = field(default_factory=dict)
    custom: Mapping[int, Mapping[int, Any]] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    settings: Any = None  # the import's own options (`ImportOptions.settings`)

    @property
    def counts(self) -> dict[str, int]:
        """Good rows per category, and `rejected`."""
        counts = dict.fromkeys(self.categories, 0)
        for row in self.rows:
            counts[row.category] += 1
        counts["rejected"] = len(self.rejected)
        return counts

    def rows_in(self, *categories: str) -> list[Any]:
        """The good rows of these categories, in file order."""
        return [row for row in self.rows if row.category in categories]


@dataclass(frozen=True)
class ImportRun(ImportResult):
    """What `apply` did: the write's counts and details, and the audit entry. When all or
    nothing refused the file (`refused`), nothing was written and `counts` say what the
    file held."""

    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    audit_id: int | None = None
    failed: tuple[FieldIssue, ...] = ()  # rows that changed since the preview
    result: Any = None  # what the spec's write hands back beyond its counts
    custom_values: int = 0  # custom field values stored


class RowReader:
    """One row while the spec builds its typed row: `values` holds each field's typed value
    (None: blank, a placeholder, no column, or a cell that did not read), `texts` the
    cleaned cells; `bad` rejects the row with a reason."""

    def __init__(
        self, number: int, values: dict[str, Any], texts: dict[str, str | None], today: date
    ):
        self.number = number
        self.today = today  # the company's date, for "not in the future" checks
        self.values = values
        self.texts = texts
        self.issues: list[tuple[str, str, dict[str, Any]]] = []

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def bad(self, name: str, key: str, **params: Any) -> None:
        """Reject the row: field `name` ("" for the row as a whole), reason `key`."""
        self.issues.append((name, key, params))


class ColumnReader:
    """The whole file while a spec builds its rows column by column (`read_columns`):
    `text(name)` a field's cleaned cells, `read(name)` its typed values (cells that do not
    read reject their rows with the field's reason), `codes[name]` an option field's folded
    source value -> code (value mapping), `custom[position]` a row's custom field values
    (field id -> value); `bad(position, ...)` rejects a row. Rows are addressed by position;
    `numbers[position]` is the row number the file shows."""

    def __init__(
        self,
        columns: Any,
        numbers: list[int],
        codes: Mapping[str, Mapping[str, str]],
        custom: Mapping[int, Mapping[int, Any]],
        issues: dict[int, list[tuple[str, str, dict[str, Any]]]],
        today: date,
        zone: Any,
        settings: Any = None,
    ):
        self._columns = columns  # crm_core.imports.engine.columns.FileColumns
        self.numbers = numbers
        self.count = len(numbers)
        self.codes = codes
        self.custom = custom
        self.issues = issues  # position -> reasons, in the order they were found
        self.today = today  # the company's date
        self.zone = zone  # the file's zone
        self.settings = settings  # the import's own options (`ImportOptions.settings`)

    def text(self, name: str) -> list[str | None]:
        """Field `name`'s cleaned cells (None: blank, a placeholder, or no column)."""
        return self._columns.text(name)

    def mapped(self, name: str) -> bool:
        """Whether the file has a column for field `name`."""
        return bool(self._columns.mapping.get(name))

    def read(self, name: str) -> list[Any]:
        """Field `name`'s typed values; a cell that does not read as the field's kind (or a
        required field left blank) rejects its row."""
        values, problems = self._columns.read(name)
        for position, (key, params) in problems.items():
            self.bad(position, name, key, **params)
        return values

    def typed(self, name: str) -> tuple[list[Any], dict[int, tuple[str, dict[str, Any]]]]:
        """Field `name`'s typed values and the cells that do not read (position -> reason,
        params), rejecting nothing: for a field whose cell matters only in some rows."""
        return self._columns.read(name)

    def default(self, name: str) -> Any:
        """Field `name`'s value for the whole file (`ImportOptions.defaults`), or None."""
        return self._columns.defaults.get(name)

    def bad(self, position: int, name: str, key: str, **params: Any) -> None:
        """Reject the row at `position`: field `name` ("" for the row), reason `key`."""
        self.issues.setdefault(position, []).append((name, key, params))

    def is_bad(self, position: int) -> bool:
        """Whether the row at `position` has a reason already."""
        return position in self.issues


class Findings:
    """What the spec's set-based checks found: rows to reject, warnings, and figures."""

    def __init__(
        self, mapping: Mapping[str, str | None], bad: Iterable[int] = (), settings: Any = None
    ):
        self.mapping = mapping
        self.settings = settings  # the import's own options (`ImportOptions.settings`)
        self._bad = set(bad)
        self.rejected: dict[int, list[FieldIssue]] = {}
        self.warnings: list[FieldIssue] = []
        self.details: dict[str, Any] = {}

    def _issue(self, number: int, name: str, key: str, params: dict[str, Any]) -> FieldIssue:
        return FieldIssue(number, name, self.mapping.get(name) or "", key, params)

    def reject(self, number: int, name: str, key: str, **params: Any) -> None:
        """Reject row `number` (leave it out of the good rows the check returns)."""
        self.rejected.setdefault(number, []).append(self._issue(number, name, key, params))
        self._bad.add(number)

    def is_bad(self, number: int) -> bool:
        """Whether row `number` has a reason already (from its cells or this check)."""
        return number in self._bad

    def warn(self, number: int, name: str, key: str, **params: Any) -> None:
        """A row that is stored all the same, with something to look at."""
        self.warnings.append(self._issue(number, name, key, params))


__all__ = ["ColumnReader", "Findings", "ImportRun", "Preview", "RowReader"]
