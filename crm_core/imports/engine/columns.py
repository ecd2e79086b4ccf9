"""Reading a file column by column: each mapped column's cells cleaned once (blanks and
placeholders as None), and each distinct cell read as its field's kind once - imported files
repeat their channels, dates, choices and numbers a great deal, so a 100,000-row file costs
little more than its distinct values. Both ways a spec reads its rows (row by row, or the
whole file at once) start from here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_core.imports.engine.cells import CellProblem, CellReading, message, read_cell
from crm_core.imports.engine.spec import FieldSpec
from crm_core.imports.file_import import FileCells

_PLACEHOLDER_MAX = 20  # no placeholder is longer; longer cells skip the check


def clean_texts(values: list[str], blanks: frozenset[str]) -> list[str | None]:
    """A column's cells stripped, with blanks and placeholders as None."""
    # Only a cell that starts like some placeholder is compared in full: names, phones and
    # most codes never are.
    starts = {blank[0] for blank in blanks}
    out: list[str | None] = []
    for value in values:
        if not value or not (value := value.strip()):
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


Problems = dict[int, tuple[str, dict[str, Any]]]  # position -> (reason, params)


class FileColumns:
    """The mapped columns of a file, each cleaned and read once, when first asked for."""

    def __init__(
        self,
        cells: FileCells,
        mapping: Mapping[str, str | None],
        fields: list[FieldSpec],
        reading: CellReading,
        defaults: Mapping[str, Any],
    ):
        self.cells = cells
        self.mapping = mapping
        self.fields = {f.name: f for f in fields}
        self.reading = reading
        self.defaults = defaults
        self.count = len(cells.numbers)
        self._texts: dict[str, list[str | None]] = {}
        self._read: dict[str, tuple[list[Any], Problems]] = {}

    def text(self, name: str) -> list[str | None]:
        """The field's cleaned cells (all None without a column)."""
        texts = self._texts.get(name)
        if texts is None:
            column = self.mapping.get(name)
            if column:
                texts = clean_texts(self.cells.column(column), self.cells.blanks)
            else:
                texts = [None] * self.count
            self._texts[name] = texts
        return texts

    def read(self, name: str) -> tuple[list[Any], Problems]:
        """The field's typed values (a blank cell: the field's default, else None; a cell
        that does not read: None) and the problems: the cells that do not read and, for a
        required field without a default, the blank ones."""
        done = self._read.get(name)
        if done is not None:
            return done
        spec = self.fields[name]
        texts = self.text(name)
        default = self.defaults.get(name)
        blank_problem = None
        if name not in self.defaults and spec.required:
            blank_problem = (message(spec, "missing"), {"field": name})
        seen: dict[str, Any] = {}
        values: list[Any] = []
        problems: Problems = {}
        reading = self.reading
        for position, text in enumerate(texts):
            if text is None:
                values.append(default)
                if blank_problem is not None:
                    problems[position] = blank_problem
                continue
            value = seen.get(text, seen)
            if value is seen:
                try:
                    value = read_cell(spec, text, reading)
                except CellProblem as problem:
                    value = problem
                seen[text] = value
            if isinstance(value, CellProblem):
                problems[position] = (value.key, value.params)
                values.append(None)
            else:
                values.append(value)
        self._read[name] = (values, problems)
        return values, problems


__all__ = ["FileColumns", "clean_texts"]
