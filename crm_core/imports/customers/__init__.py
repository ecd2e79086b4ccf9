"""The customer domain: registered users of the learning platform, imported from its
export, listed and searched, and linked to the leads with the same phone.

Importing takes two steps, so nothing is stored that the user has not seen:

1. `preview_customer_import` checks each row of a file (read by
   `crm_core.imports.tabular.read_table`) and files it as `new`, `updated` (listing which fields
   change), `unchanged` or `rejected` (with every reason: row number, the file's column,
   a translation key and its parameters). It also counts the leads that storing the good
   rows would link.
2. `apply_customer_import` stores the preview in one transaction: the good rows
   ("good_rows"), or nothing at all when any row is rejected ("all_or_nothing").

A customer's identity is its platform user id. A blank cell (or a placeholder such as
"-" or "请选择") never erases a stored value: platform exports often leave fields out, and
a re-import of the same file changes nothing. Leads link by phone (`link_leads_to_customers`)
only while they have no customer yet, so a link set by hand is never overwritten.

Customers belong to no owner or org unit: `manage_customers` is the whole access rule.
Phones leave this module only through `crm_core.leads.masking.display_phone`.
"""

from crm_core.imports.customers.apply import (
    CustomerImportResult,
    apply_customer_import,
    link_leads_to_customers,
    rejected_customer_rows_csv,
)
from crm_core.imports.customers.preview import (
    CATEGORIES,
    CUSTOMER_COLUMNS,
    CUSTOMER_FIELDS,
    REASONS,
    REQUIRED,
    CustomerIssue,
    CustomerPreview,
    CustomerRow,
    CustomerState,
    RejectedRow,
    guess_customer_mapping,
    missing_customer_columns,
    preview_customer_import,
)
from crm_core.imports.file_import import MODES

__all__ = [
    "CATEGORIES",
    "CUSTOMER_COLUMNS",
    "CUSTOMER_FIELDS",
    "MODES",
    "REASONS",
    "REQUIRED",
    "CustomerImportResult",
    "CustomerIssue",
    "CustomerPreview",
    "CustomerRow",
    "CustomerState",
    "RejectedRow",
    "apply_customer_import",
    "guess_customer_mapping",
    "link_leads_to_customers",
    "missing_customer_columns",
    "preview_customer_import",
    "rejected_customer_rows_csv",
]
