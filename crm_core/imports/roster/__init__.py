"""HR roster sync: a file from HR says who works where, in what job and status; the CRM's
accounts follow it.

`ROSTER` is its spec for the import engine (`crm_core.imports.engine`), all of it or none by
nature: the preview lists every bad row (unknown unit, unknown role, duplicate employee
number, bad date, missing value, outside the actor's scope, ...) with its row number, column
and reason, and gives every good row one category; applying refuses a file with bad rows and
otherwise applies every row in one transaction through the user services (which audit each
account and run the departure rule). The run's `result` is a `RosterResult` (new accounts
with their temporary passwords, departures). Units and titles are the company's structure,
not options of a list, so the import has no value mapping; its rows are accounts, so it
offers no custom fields.

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

from crm_core.imports.engine import ImportSpec
from crm_core.imports.roster.fields import (
    CATEGORIES,
    COLUMNS,
    REQUIRED,
    parse_date,
    parse_status,
    split_unit_path,
    title_map,
)
from crm_core.imports.roster.spec import FIELDS, RosterRow, UserState, check_roster, read_roster
from crm_core.imports.roster.write import (
    Departure,
    NewAccount,
    RosterResult,
    temporary_password,
    write_roster,
)
from crm_core.platform.i18n import NP_
from crm_core.platform.permissions import Permission

ROSTER = ImportSpec(
    kind="roster",
    permission=Permission.MANAGE_USERS,
    fields=FIELDS,
    read=read_roster,
    check=check_roster,
    write=write_roster,
    categories=CATEGORIES,
    audit_action="roster.apply",
    audit_target="roster",
    audited_by_write=True,  # with the accounts before and after
    modes=("all_or_nothing",),
    refusal=NP_(
        "The roster has {count} bad row; nothing was applied.",
        "The roster has {count} bad rows; nothing was applied.",
    ),
)

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "REQUIRED",
    "ROSTER",
    "Departure",
    "NewAccount",
    "RosterResult",
    "RosterRow",
    "UserState",
    "parse_date",
    "parse_status",
    "split_unit_path",
    "temporary_password",
    "title_map",
]
