"""Lead intake: the one path by which leads enter, from every entrance (form, chat, API,
manual entry, list import).

`intake_leads` takes a batch and works set-based - a handful of queries for the whole batch,
bulk inserts, never a query per row:

1. normalise and validate every input (name; phone valid, or no phone and an external id,
   flagged `no_phone`; an active channel; business lines that exist and are active);
   campaigns and tags take their list's spelling (`crm_core.leads.intake.catalogue`); new
   ones join their list when the batch is written;
2. find each person: by phone, else by external id - within the batch (a later row of the
   same person merges into the earlier one) and against the database;
3. apply the collision rule per business line: the person already has an open opportunity
   on that line -> no new opportunity, the touch is logged on it as a `note` follow-up and
   the owner is reported; a line the person has no open opportunity on -> a new opportunity;
   a new person -> a lead and one opportunity per line, `unassigned`, stage `new`, with its
   stage history row and a flow event entering `unassigned`;
4. a collision with an opportunity outside the actor's scope is reported without its owner
   or number, and the owner's manager gets a notice (`crm_core.leads.intake.collisions`).

A dry run stops before writing: the outcomes (rejections, collisions with their owners,
duplicates) are exactly what the real run will answer, and nothing is locked or stored.

Rows are answered one by one (`IntakeOutcome`), so a rejected row does not stop the others.
Everything is flushed in the caller's transaction; the caller commits (or rolls back, e.g.
for a preview). The batch runs in a savepoint: on an error nothing of it remains, and what the
caller wrote before it stays for the caller to commit or roll back.

The collision note does not count as the owner's follow-up: `last_follow_up_at` is left
alone, so an incoming inquiry never shields an idle opportunity from recycling.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm_core.leads.intake.catalogue import adopt_batch, canonical_batch
from crm_core.leads.intake.collisions import screen_collisions, tell_owners_managers
from crm_core.leads.intake.inputs import (
    ADDED_LINE,
    COLLISION,
    CREATED,
    DUPLICATE,
    OUTCOME_STATUSES,
    REASONS,
    REJECTED,
    Clean,
    Collision,
    IntakeOutcome,
    IntakeResult,
    LeadInput,
    Opening,
    reject,
    validate,
)
from crm_core.leads.intake.matching import active_channels, lines_of, plan_batch
from crm_core.leads.intake.writing import Progress, write_batch
from crm_core.models import BusinessLine
from crm_core.org.lines import WorkedLines, worked_lines
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import paused_gc
from crm_core.platform.database import savepoint
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

__all__ = [
    "ADDED_LINE",
    "COLLISION",
    "CREATED",
    "DUPLICATE",
    "OUTCOME_STATUSES",
    "REASONS",
    "REJECTED",
    "Collision",
    "IntakeOutcome",
    "IntakeResult",
    "LeadInput",
    "Opening",
    "intake_leads",
]

_VALIDATE_SHARE = 0.3  # of the progress bar, for checking the inputs


def intake_leads(
    session: Session,
    actor: Actor,
    inputs: Sequence[LeadInput],
    *,
    source: str,
    dry_run: bool = False,
    keep_for_self: bool = False,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    openings: Sequence[Opening | None] | None = None,
) -> IntakeResult:
    """Take in a batch of leads from the entrance `source` (form, chat, api, manual, import).

    Requires create_leads (and import_leads when `source` is "import"). `keep_for_self`
    (manual entry by someone who works opportunities) makes the new opportunities the
    actor's own instead of leaving them for dispatch. `progress` is called with the share
    done, from 0 to 1. With `all_or_nothing`, one rejected input means nothing is written
    (the result says `refused`). `openings` (aligned with `inputs`, for migrated records)
    says how an input's new opportunities open: stage, close, owner. Flushes; the caller commits. See the module docstring for the rules.
    """
    actor.require(Permission.CREATE_LEADS)
    if source == "import":
        actor.require(Permission.IMPORT_LEADS)
    if keep_for_self:
        actor.require(Permission.WORK_OPPORTUNITIES)
        if actor.org_unit_id is None:
            raise ValidationError(
                N_("You belong to no team, so you cannot keep a lead for yourself.")
            )
    try:
        # A savepoint: an error - also a cancelled run (the page's script stopped inside
        # `progress`) - undoes this batch only, not the caller's earlier work.
        with paused_gc(), savepoint(session):
            return _intake(
                session,
                actor,
                list(inputs),
                source,
                dry_run,
                keep_for_self,
                all_or_nothing,
                progress,
                openings,
            )
    except IntegrityError as error:
        # Another intake stored the same phone or external id at the same moment.
        raise ValidationError(
            N_("Someone stored the same person at the same moment; please try again.")
        ) from error


def _within_own_lines(
    checked: Clean, own: WorkedLines, lines: dict[str, BusinessLine]
) -> Clean | IntakeOutcome:
    """`checked`, unless it names a line its keeper does not work in."""
    mine = {line.code for line in own.lines}
    for code in checked.line_codes:
        if code not in mine:
            return reject(
                checked.index,
                N_(
                    "You do not work in {line}: leave “keep for myself” off and dispatch gives it to that line's team."
                ),
                "business_line_codes",
                line=lines[code].name if code in lines else code,
            )
    return checked


def _intake(
    session: Session,
    actor: Actor,
    inputs: list[LeadInput],
    source: str,
    dry_run: bool,
    keep_for_self: bool,
    all_or_nothing: bool,
    progress: Progress | None,
    openings: Sequence[Opening | None] | None = None,
) -> IntakeResult:
    now = clock.now()
    channels = active_channels(session)
    lines = lines_of(session, inputs)
    outcomes: list[IntakeOutcome | None] = [None] * len(inputs)
    clean: list[Clean] = []
    step = max(1, len(inputs) // 20)
    # Kept for oneself, an opportunity must be of a line the keeper works in.
    own = worked_lines(session, actor) if keep_for_self else None
    for index, item in enumerate(inputs):
        checked = validate(index, item, channels, lines, now)
        if own is not None and isinstance(checked, Clean) and not own.every_line:
            checked = _within_own_lines(checked, own, lines)
        if isinstance(checked, IntakeOutcome):
            outcomes[index] = checked
        else:
            clean.append(checked)
        if progress is not None and index % step == step - 1:
            progress(_VALIDATE_SHARE * (index + 1) / len(inputs))
    new_campaigns, new_tags = canonical_batch(session, clean)
    plan = plan_batch(session, clean, inputs, lines, actor.user_id, outcomes)
    if progress is not None:
        progress(0.45)
    refused = all_or_nothing and any(o is not None and o.status == REJECTED for o in outcomes)
    writing = not dry_run and not refused
    if writing:
        adopt_batch(session, actor, new_campaigns, new_tags, source)
        write_batch(
            session,
            actor,
            now,
            source,
            plan,
            inputs,
            outcomes,
            keep_for_self=keep_for_self,
            progress=progress,
            openings=openings,
        )
    elif progress is not None:
        progress(1.0)
    # After the writing, which logs the touch on each colliding opportunity by its id.
    hidden = screen_collisions(session, actor, outcomes)
    if writing and hidden:
        tell_owners_managers(session, actor, hidden, now)
    return IntakeResult(
        source=source,
        outcomes=[o for o in outcomes if o is not None],
        dry_run=dry_run,
        refused=refused,
    )
