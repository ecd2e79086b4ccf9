"""The study activity import: a file from the learning system (phone or customer id,
course, progress %, last study date) stored as each lead's `learning_activity`, which the
opportunity detail view shows as talking points for renewals.

`STUDY` is its spec for the import engine (`crm_core.imports.engine`): each row is `new`,
`updated`, `unchanged`, `older` (the stored row studied later and stays) or rejected with
every reason. A re-import updates each (lead, course) to the newer values with one
set-based upsert (INSERT ... ON CONFLICT, on SQLite and PostgreSQL alike).

Leads are found by phone (E.164, followed through merges) or through the customer with
that platform user id, and only within the actor's lead scope; `manage_customers` is the
permission. Phones leave this package only through `crm_core.leads.masking.display_phone`.
No column holds options of a list, so the import has no value mapping; its rows are study
records, not leads or opportunities, so it offers no custom fields.
"""

from crm_core.imports.engine import ImportSpec
from crm_core.imports.study.spec import (
    CATEGORIES,
    FIELDS,
    LEARNING_FIELDS,
    WRITTEN,
    LearningRow,
    StoredStudy,
    check_study,
    parse_progress,
    read_study,
    write_study,
)
from crm_core.platform.permissions import Permission

STUDY = ImportSpec(
    kind="learning",
    permission=Permission.MANAGE_CUSTOMERS,
    fields=FIELDS,
    read=read_study,
    check=check_study,
    write=write_study,
    categories=CATEGORIES,
    audit_action="learning.import",
    audit_target="learning_activity",
    columns_needed=(("progress_pct",), ("phone", "customer_id")),
)

__all__ = [
    "CATEGORIES",
    "LEARNING_FIELDS",
    "STUDY",
    "WRITTEN",
    "LearningRow",
    "StoredStudy",
    "parse_progress",
]
