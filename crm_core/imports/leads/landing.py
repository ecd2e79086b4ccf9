"""The lead import's own options beyond the file (`LeadSettings`, the engine's
`ImportOptions.settings`): a public pool for the file's new opportunities, and whether rows
of stored leads update them (`crm_core.imports.leads.updates`).

A file landing in a pool puts every new opportunity that would wait for dispatch into that
pool (`public`, the pool's unit) in the same transaction, with one flow event each
(`unassigned -> public`, reason `return`, noted `import`): reps of that pool claim them
instead of dispatch handing them out. Rows that name an owner or close (won, lost) stay as
they say. The pool must be one the importer may choose (`circulation.pools`); a pool that
serves one business line makes the file's rows of other lines bad rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import literal, null, update
from sqlmodel import Session, select

from crm_core.circulation.flow_events import insert_flow_events
from crm_core.circulation.pools import COMPANY_POOL, PoolChoice, check_pool, line_name
from crm_core.imports.engine import Findings
from crm_core.models import Opportunity
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import list_business_lines

ADD_ONLY = "add"
ADD_AND_UPDATE = "update"
UPDATE_MODES = (ADD_ONLY, ADD_AND_UPDATE)

OTHER_LINE_ROW = N_("The pool of {unit} serves {line} only: this row is of another business line.")
NOTE = "import"


@dataclass(frozen=True)
class LeadSettings:
    """`pool`: the pool the new opportunities land in (a unit id, or `COMPANY_POOL`; None:
    they wait for dispatch as always). `update_existing`: rows of stored leads (same phone
    or external id) update the lead's fields instead of only adding."""

    pool: int | None = None
    update_existing: bool = False

    def signature(self) -> tuple:
        return (self.pool, self.update_existing)


def settings_of(found_or_preview) -> LeadSettings:
    """The lead settings a check or a write was given (the defaults when none)."""
    settings = getattr(found_or_preview, "settings", None)
    return settings if isinstance(settings, LeadSettings) else LeadSettings()


def chosen_pool(session: Session, actor: Actor, settings: LeadSettings) -> PoolChoice | None:
    """The pool of `settings` if the importer may choose it (None: no pool); else the
    ValidationError with the reason."""
    return None if settings.pool is None else check_pool(session, actor, settings.pool)


def reject_other_lines(session: Session, choice: PoolChoice | None, rows, found: Findings) -> None:
    """Rows with a business line the chosen pool does not serve are bad rows."""
    if choice is None or choice.business_line_id is None:
        return
    codes = {line.code: line.id for line in list_business_lines(session, active_only=False)}
    name = None
    for row in rows:
        lines = {codes.get(str(c).strip().lower()) for c in row.input.business_line_codes or ()}
        if lines - {choice.business_line_id}:
            name = name or line_name(session, choice.business_line_id)
            found.reject(row.row, "business_line", OTHER_LINE_ROW, unit=choice.label, line=name)


def land_in_pool(
    session: Session, actor: Actor, choice: PoolChoice, opportunity_ids: Sequence[int]
) -> int:
    """Move the just-opened opportunities of `opportunity_ids` that wait for dispatch into
    the chosen pool, with one flow event each; returns how many. Set-based."""
    if not opportunity_ids:
        return 0
    waiting = (
        one_of(session, Opportunity.id, sorted(set(opportunity_ids))),
        Opportunity.pool_state == "unassigned",
    )
    unit = None if choice.unit_id == COMPANY_POOL else choice.unit_id
    now = clock.now()
    events = insert_flow_events(
        session,
        select(
            Opportunity.id,
            literal(now),
            null(),
            null(),
            literal("unassigned"),
            literal("public"),
            literal("return"),
            null(),
            null(),
            literal(actor.user_id) if actor.user_id else null(),
            literal(NOTE),
        ).where(*waiting),
        with_note=True,
    )
    session.exec(
        update(Opportunity)
        .where(*waiting)
        .values(pool_state="public", org_unit_id=unit, unassigned_reason=None)
        .execution_options(synchronize_session=False)
    )
    return events
