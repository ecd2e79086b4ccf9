"""The study activity import: a file from the learning system (phone or customer id,
course, progress %, last study date) stored as each lead's `learning_activity`, which the
opportunity detail view shows as talking points for renewals.

Importing takes two steps, so nothing is stored that the user has not seen:

1. `preview_learning_import` checks each row of a file (read by
   `crm_core.imports.tabular.read_table`, columns guessed from English or Chinese headers) and
   files it as `new`, `updated`, `unchanged`, `older` (the stored row studied later and
   stays) or `rejected`, with every reason: row number, the file's column, a translation
   key and its parameters.
2. `apply_learning_import` stores the preview in one transaction: the good rows
   ("good_rows"), or nothing at all when any row is rejected ("all_or_nothing"). A
   re-import updates each (lead, course) to the newer values with one set-based upsert
   (INSERT ... ON CONFLICT, on SQLite and PostgreSQL alike).

Leads are found by phone (E.164, followed through merges) or through the customer with
that platform user id, and only within the actor's lead scope; `manage_customers` is the
permission. Phones leave this package only through `crm_core.leads.masking.display_phone`.
"""

from crm_core.imports.file_import import MODES
from crm_core.imports.study.apply import (
    LearningImportResult,
    apply_learning_import,
    rejected_learning_rows_csv,
)
from crm_core.imports.study.preview import (
    CATEGORIES,
    LEARNING_COLUMNS,
    LEARNING_FIELDS,
    REASONS,
    REQUIRED,
    WRITTEN,
    LearningIssue,
    LearningPreview,
    LearningRow,
    RejectedRow,
    StoredStudy,
    guess_learning_mapping,
    missing_learning_columns,
    parse_progress,
    preview_learning_import,
)

__all__ = [
    "CATEGORIES",
    "LEARNING_COLUMNS",
    "LEARNING_FIELDS",
    "MODES",
    "REASONS",
    "REQUIRED",
    "WRITTEN",
    "LearningImportResult",
    "LearningIssue",
    "LearningPreview",
    "LearningRow",
    "RejectedRow",
    "StoredStudy",
    "apply_learning_import",
    "guess_learning_mapping",
    "missing_learning_columns",
    "parse_progress",
    "preview_learning_import",
    "rejected_learning_rows_csv",
]
