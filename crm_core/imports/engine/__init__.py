"""One engine for every file import: an `ImportSpec` says what a file holds and how its rows
are stored; `preview` and `apply` do the rest the same way for every import (see
`crm_core.imports.engine.run`). Adding an import is writing a spec."""

from crm_core.imports.engine.cells import MESSAGES
from crm_core.imports.engine.model import ColumnReader
from crm_core.imports.engine.run import (
    CUSTOM_PREFIX,
    Findings,
    ImportRun,
    Preview,
    RowReader,
    apply,
    guess_columns,
    import_fields,
    missing,
    preview,
    rejected_rows_csv,
    value_columns,
)
from crm_core.imports.engine.runs import PastRun, last_runs
from crm_core.imports.engine.spec import (
    KINDS,
    LIST_SEPARATORS,
    FieldSpec,
    ImportOptions,
    ImportSpec,
    WriteOutcome,
    split_list,
)
from crm_core.imports.file_import import MODES

__all__ = [
    "CUSTOM_PREFIX",
    "KINDS",
    "ColumnReader",
    "LIST_SEPARATORS",
    "MESSAGES",
    "MODES",
    "FieldSpec",
    "Findings",
    "ImportOptions",
    "ImportRun",
    "ImportSpec",
    "PastRun",
    "Preview",
    "RowReader",
    "WriteOutcome",
    "apply",
    "guess_columns",
    "import_fields",
    "last_runs",
    "missing",
    "preview",
    "rejected_rows_csv",
    "split_list",
    "value_columns",
]
