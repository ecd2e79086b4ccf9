"""Importing sales targets (业绩目标导入): a spreadsheet of monthly targets per unit or
person and metric, through the import engine (`TARGETS`).

Each good row is a target `created`, `updated` (the value changes: the change keeps its
history) or `unchanged`; a bad row says why (an unknown month or metric, a unit or person
outside the reach or named ambiguously, the actor's own target, a target given twice).
Only holders of `manage_targets` import, for the units and people they may set by hand.
The metric is a fixed list, not an option list, so there is no value mapping.
"""

from crm_core.imports.engine import ImportSpec
from crm_core.imports.targets.spec import (
    CATEGORIES,
    FIELDS,
    MAX_ROWS,
    TargetRow,
    check_targets,
    read_target,
    write_targets_file,
)
from crm_core.platform.permissions import Permission

TARGETS = ImportSpec(
    kind="target_import",
    permission=Permission.MANAGE_TARGETS,
    fields=FIELDS,
    read=read_target,
    check=check_targets,
    write=write_targets_file,
    categories=CATEGORIES,
    audit_action="target.import",
    audit_target="sales_target",
    columns_needed=(("unit", "rep"),),
    one_column_per_field=True,
    max_rows=MAX_ROWS,
)

__all__ = ["MAX_ROWS", "TARGETS", "TargetRow"]
