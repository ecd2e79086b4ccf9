"""Importing call records (话单导入): the vendor's export of ended calls, through the import
engine (`CALLS`). Each row is a call to `record`, or one the console has `already` (the file
can come again safely), or bad with every reason. Times are in the file's time zone. No
column holds options of a list, and the rows are calls, not leads: no value mapping, no
custom fields."""

from crm_core.imports.calls.spec import (
    CATEGORIES,
    FIELDS,
    MAX_ROWS,
    CallRow,
    check_calls,
    read_call,
    write_calls,
)
from crm_core.imports.engine import ImportSpec
from crm_core.platform.permissions import Permission

CALLS = ImportSpec(
    kind="call_import",
    permission=Permission.MANAGE_CALL_CENTER,
    fields=FIELDS,
    read=read_call,
    check=check_calls,
    write=write_calls,
    categories=CATEGORIES,
    audit_action="calls.import",
    audit_target="call_record",
    key="call_id",
    one_column_per_field=True,
    max_rows=MAX_ROWS,
)

__all__ = ["CALLS", "CallRow"]
