"""Leads sent by a source through its API key: the key's scope, the source's external ids,
chat transcripts and custom fields around the one intake path (`intake_leads`), so matching,
collisions, masking and flow events are those of every other entrance.

- Scope: every lead must name a channel and business lines the key holds; one that does not
  refuses the whole request (`OutsideKeyScope`, with the offending field) before anything is
  written. A channel or line nobody knows is the intake's per-lead rejection, as anywhere.
- External ids: each one the key sent is kept with the lead it became (`ApiReceipt`). A lead
  whose external id the key sent before is answered `duplicate` with that lead, and nothing
  is written - no second lead, no second inquiry note, whether or not the retry carries an
  `Idempotency-Key`. The receipts are inserted before the intake, so of two concurrent
  retries one waits on the unique key and then fails; its caller retries and is answered
  from the receipt.
- A chat transcript's summary and link become the first follow-up (a note without an
  author: it is not the owner's follow-up, so it shields nothing from recycling) on each
  opportunity the lead opened or ran into.
- Custom fields: `code` for the lead's fields, `opportunity.<code>` for the opportunity's,
  read as an import reads a cell (`parse_form_value`); a value that does not fit refuses
  that lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_core.custom_fields.cells import parse_form_value
from crm_core.custom_fields.definitions import list_fields
from crm_core.custom_fields.values import UNKNOWN_FIELD, write_values
from crm_core.leads.api_keys import ApiGrant
from crm_core.leads.intake import (
    ADDED_LINE,
    COLLISION,
    CREATED,
    DUPLICATE,
    REJECTED,
    IntakeOutcome,
    LeadInput,
    intake_leads,
)
from crm_core.leads.intake.inputs import reject, text
from crm_core.leads.intake.matching import active_channels, lines_of
from crm_core.models import ApiReceipt, CustomField, FollowUp
from crm_core.platform import clock
from crm_core.platform.database import savepoint
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import fold

SOURCE = "api"
NOTE_LIMIT = 4000  # follow_up.content
# The intake's own words for a race on the same person: the caller tries again.
AT_THE_SAME_MOMENT = N_("Someone stored the same person at the same moment; please try again.")


class OutsideKeyScope(PermissionDenied):
    """A lead names a channel or a business line outside the key's scope. `params["field"]`
    names the offending field (`channel`, `business_line_codes`) and `params["index"]` the
    lead of the batch."""

    key = N_("This API key may not send leads of {value}.")


@dataclass(slots=True)
class ApiLead:
    """One lead as a source sends it: the lead's fields, a chat transcript (summary and
    link) and custom field values by code (`opportunity.<code>` for an opportunity's)."""

    lead: LeadInput
    transcript_summary: str | None = None
    transcript_url: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApiIntakeResult:
    """One outcome per lead sent, in order, and the opportunities waiting for dispatch."""

    outcomes: list[IntakeOutcome]
    new_opportunity_ids: list[int]


def check_scope(session: Session, grant: ApiGrant, leads: Sequence[ApiLead]) -> None:
    """Raise OutsideKeyScope for the first lead naming a known channel or business line the
    key does not hold. Unknown ones pass: the intake rejects them per lead."""
    lines = lines_of(session, [item.lead for item in leads])
    channels: dict[str, str] | None = None
    for index, item in enumerate(leads):
        raw = (text(item.lead.channel) or "").lower()
        if raw in grant.channels:
            code = raw  # the key's own code (the intake refuses it if it was disabled)
        else:
            # A label or another spelling: read the list (once) to know which channel it is.
            channels = active_channels(session) if channels is None else channels
            code = channels.get(raw) or channels.get(fold(raw))
        if code is not None and code not in grant.channels:
            raise OutsideKeyScope(field="channel", index=index, value=code)
        for given in item.lead.business_line_codes or ():
            line = lines.get((text(given) or "").lower())
            if line is not None and line.id not in grant.business_line_ids:
                raise OutsideKeyScope(field="business_line_codes", index=index, value=line.code)


def _custom_values(
    session: Session, leads: Sequence[ApiLead], outcomes: list[IntakeOutcome | None]
) -> dict[int, dict[str, dict[int, Any]]]:
    """index -> {"lead"|"opportunity": {field id: value}}; a lead with a value that does not
    fit gets its rejection in `outcomes`."""
    if not any(item.custom_fields for item in leads):
        return {}
    fields: dict[str, CustomField] = {}
    for entity in ("lead", "opportunity"):
        for custom in list_fields(session, entity):
            name = custom.code if entity == "lead" else f"opportunity.{custom.code}"
            fields[name] = custom
    parsed: dict[int, dict[str, dict[int, Any]]] = {}
    for index, item in enumerate(leads):
        values: dict[str, dict[int, Any]] = {"lead": {}, "opportunity": {}}
        for name, given in item.custom_fields.items():
            custom = fields.get(name)
            where = f"custom_fields.{name}"
            if custom is None:
                outcomes[index] = reject(index, UNKNOWN_FIELD, where, field=name)
                break
            try:
                value = parse_form_value(custom, given)
            except ValidationError as error:
                outcomes[index] = reject(index, error.key, where, **error.params)
                break
            if value is not None:
                values[custom.entity][custom.id] = value
        parsed[index] = values
    return parsed


def receive_leads(session: Session, grant: ApiGrant, leads: Sequence[ApiLead]) -> ApiIntakeResult:
    """Take in the leads a source sent with its key (see the module docstring): scope
    first (OutsideKeyScope), then per lead an outcome as `intake_leads` answers it. Runs as
    the key's actor; flushes in a savepoint of the caller's transaction, which commits. An
    IntegrityError means a concurrent request stored the same external id: retry."""
    check_scope(session, grant, leads)
    now = clock.now()
    outcomes: list[IntakeOutcome | None] = [None] * len(leads)
    custom = _custom_values(session, leads, outcomes)
    try:
        return _receive(session, grant, leads, outcomes, custom, now)
    except IntegrityError as error:
        raise ValidationError(AT_THE_SAME_MOMENT) from error


def _receive(session, grant, leads, outcomes, custom, now) -> ApiIntakeResult:
    actor = grant.actor
    with savepoint(session):
        seen = _received(session, grant, leads, outcomes)
        passed = [i for i, outcome in enumerate(outcomes) if outcome is None]
        # Insert first: a concurrent retry of the same external id stops here.
        fresh = {
            ext: None
            for i in passed
            if (ext := text(leads[i].lead.external_id)) is not None and ext not in seen
        }
        if fresh:
            session.connection().execute(
                insert(ApiReceipt.__table__),
                [{"api_key_id": grant.key_id, "external_id": e, "created_at": now} for e in fresh],
            )
        result = intake_leads(session, actor, [leads[i].lead for i in passed], source=SOURCE)
        for outcome in result.outcomes:
            outcome.index = passed[outcome.index]
            if outcome.duplicate_of is not None:
                outcome.duplicate_of = passed[outcome.duplicate_of]
            outcomes[outcome.index] = outcome
        _remember_leads(session, grant, leads, outcomes, fresh)
        _write_transcripts(session, leads, outcomes, now)
        _write_custom(session, custom, outcomes)
        session.flush()
    done = [o for o in outcomes if o is not None]
    new_ids = [
        opportunity_id
        for o in done
        if o.status in (CREATED, ADDED_LINE)
        for opportunity_id in o.opportunity_ids
    ]
    return ApiIntakeResult(outcomes=done, new_opportunity_ids=new_ids)


def _received(
    session: Session,
    grant: ApiGrant,
    leads: Sequence[ApiLead],
    outcomes: list[IntakeOutcome | None],
) -> set[str]:
    """Answer `duplicate` for every lead whose external id the key sent before; return the
    external ids already received."""
    wanted = {text(item.lead.external_id) for item in leads} - {None}
    if not wanted:
        return set()
    stored = dict(
        session.exec(
            select(ApiReceipt.external_id, ApiReceipt.lead_id).where(
                ApiReceipt.api_key_id == grant.key_id,
                col(ApiReceipt.external_id).in_(sorted(wanted)),
            )
        ).all()
    )
    for index, item in enumerate(leads):
        ext = text(item.lead.external_id)
        if outcomes[index] is None and ext in stored:
            outcomes[index] = IntakeOutcome(index=index, status=DUPLICATE, lead_id=stored[ext])
    return set(stored)


def _remember_leads(session, grant, leads, outcomes, fresh) -> None:
    """Point each new receipt at the lead its external id became; drop the receipts of
    refused leads, so the source may send them again corrected."""
    pairs = {}
    for index, item in enumerate(leads):
        ext = text(item.lead.external_id)
        outcome = outcomes[index]
        if ext in fresh and outcome is not None and outcome.lead_id is not None:
            pairs.setdefault(ext, outcome.lead_id)
    table = ApiReceipt.__table__
    refused = [ext for ext in fresh if ext not in pairs]
    if refused:
        session.connection().execute(
            table.delete().where(
                table.c.api_key_id == grant.key_id, col(table.c.external_id).in_(refused)
            )
        )
    for ext, lead_id in pairs.items():
        session.connection().execute(
            update(table)
            .where(table.c.api_key_id == grant.key_id, table.c.external_id == ext)
            .values(lead_id=lead_id)
        )


def _write_transcripts(session, leads, outcomes, now) -> None:
    rows = []
    for index, item in enumerate(leads):
        outcome = outcomes[index]
        summary = text(item.transcript_summary)
        link = text(item.transcript_url)
        if outcome is None or outcome.status in (REJECTED, DUPLICATE) or not (summary or link):
            continue
        content = "\n".join(part for part in (summary, link) if part)[:NOTE_LIMIT]
        touched = list(outcome.opportunity_ids)
        touched += [c.opportunity_id for c in outcome.collisions if c.opportunity_id]
        rows += [
            {
                "opportunity_id": opportunity_id,
                "author_id": None,
                "channel": "note",
                "content": content,
                "created_at": now,
            }
            for opportunity_id in dict.fromkeys(touched)
        ]
    if rows:
        session.connection().execute(insert(FollowUp.__table__), rows)


def _write_custom(session, custom, outcomes) -> None:
    if not custom:
        return
    lead_values: dict[int, dict[int, Any]] = {}
    opportunity_values: dict[int, dict[int, Any]] = {}
    for index, values in custom.items():
        outcome = outcomes[index]
        if outcome is None or outcome.status in (REJECTED, DUPLICATE):
            continue
        if values["lead"] and outcome.lead_id is not None:
            lead_values.setdefault(outcome.lead_id, {}).update(values["lead"])
        if values["opportunity"] and outcome.status != COLLISION:
            for opportunity_id in outcome.opportunity_ids:
                opportunity_values[opportunity_id] = dict(values["opportunity"])
    if lead_values:
        write_values(session, "lead", lead_values)
    if opportunity_values:
        write_values(session, "opportunity", opportunity_values, fresh=True)
