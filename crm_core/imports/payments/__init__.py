"""Importing a payment file (回款导入): the payment provider's or the bank's export of who
paid which order, recorded in one go.

Two steps, so nothing is recorded that the user has not seen:

1. `preview_payment_import` checks each row of a file (read by
   `crm_core.imports.tabular.read_table`, columns guessed from English or Chinese headers by
   `guess_payment_mapping`) and files it as a payment to record, as `already` recorded
   (the order holds that reference: not an error), or as rejected with every reason (row
   number, the file's column, a translation key and its parameters).
2. `apply_payment_import` records the good rows ("good_rows") or nothing at all when any row
   is bad ("all_or_nothing"), in one transaction, each payment through the same rules as a
   single payment. `rejected_payment_rows_csv` gives the bad rows back as a file to fix.

Times in the file are in the file's time zone (`time_zone`; default the company's, setting
`company.time_zone`).
"""

from crm_core.imports.file_import import MODES
from crm_core.imports.payments.apply import (
    PaymentImportResult,
    apply_payment_import,
    rejected_payment_rows_csv,
)
from crm_core.imports.payments.preview import (
    MAX_ROWS,
    PAYMENT_COLUMNS,
    PAYMENT_FIELDS,
    REQUIRED,
    PaymentIssue,
    PaymentPreview,
    PaymentRow,
    RejectedRow,
    guess_payment_mapping,
    missing_payment_columns,
    preview_payment_import,
)

__all__ = [
    "MAX_ROWS",
    "MODES",
    "PAYMENT_COLUMNS",
    "PAYMENT_FIELDS",
    "REQUIRED",
    "PaymentImportResult",
    "PaymentIssue",
    "PaymentPreview",
    "PaymentRow",
    "RejectedRow",
    "apply_payment_import",
    "guess_payment_mapping",
    "missing_payment_columns",
    "preview_payment_import",
    "rejected_payment_rows_csv",
]
