"""HR roster sync: a file from HR says who works where, in what job and status; the CRM's
accounts follow it.

Two steps, so nothing changes that the user has not seen:

1. `preview_roster` reads the rows (from `crm_core.imports.tabular.read_table`), checks each one and
   says what would change. A bad row (unknown unit, unknown role, duplicate employee number,
   bad date, missing value, outside the actor's scope, ...) is listed with its row number,
   column and reason; every good row gets one category.
2. `apply_roster` applies a preview without bad rows, all of it or none, in one transaction,
   through the user services (which audit each account and run the departure rule).

Categories. A row gets exactly one, the first that holds in this order:
`left` (becomes resigned) > `rejoined` (was resigned, is back) > `back_from_leave`
(on_leave -> active) > `on_leave` (active -> on_leave) > `moved` (another unit) > `changed`
(name, title or role) > `unchanged`. A new employee number is `new`, or `skipped` when the
file says the person has already left (no account is made for them). `RosterRow.changes`
lists everything that changes on the row, so a moved-and-promoted row shows both.

Roles. The title maps to one role (a role code, a role's name, a built-in role's English or
Chinese display name, or a common job title). An empty title keeps the roles (a new account
gets `rep`). When the user already holds the mapped role, roles stay as they are; otherwise
the mapped role replaces their built-in roles and any custom role they hold is kept.

Dates. The row's date is the hire date of a new (or rejoining) account and the leaving date
of a departure; for other rows it is only recorded in the audit entry.
"""

from crm_core.imports.roster.apply import apply_roster, temporary_password
from crm_core.imports.roster.fields import (
    CATEGORIES,
    COLUMNS,
    REQUIRED,
    parse_date,
    parse_status,
    split_unit_path,
    title_map,
)
from crm_core.imports.roster.preview import (
    Departure,
    NewAccount,
    RosterPreview,
    RosterResult,
    RosterRow,
    RowIssue,
    UserState,
    guess_columns,
    missing_columns,
    preview_roster,
)

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "REQUIRED",
    "Departure",
    "NewAccount",
    "RosterPreview",
    "RosterResult",
    "RosterRow",
    "RowIssue",
    "UserState",
    "apply_roster",
    "guess_columns",
    "missing_columns",
    "parse_date",
    "parse_status",
    "preview_roster",
    "split_unit_path",
    "temporary_password",
    "title_map",
]
