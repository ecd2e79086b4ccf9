"""Writing a planned batch: leads, opportunities with their first stage and flow event,
tags, customer links and the notes on collisions - bulk statements in chunks, so the
progress callback can follow a long import."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter

from sqlalchemy import DateTime, Integer, String, and_, bindparam, insert, literal, null, update
from sqlmodel import Session, col, select

from crm_core.leads.intake.inputs import IntakeOutcome, Opening
from crm_core.leads.intake.matching import Person, Plan, chunks
from crm_core.leads.intake.opening import open_as_said
from crm_core.models import Customer, FlowEvent, FollowUp, Lead, LeadTag, Opportunity, StageHistory
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows, insert_with_ids, one_of
from crm_core.platform.i18n import translate

Progress = Callable[[float], None]


_WRITE_CHUNK = 10_000  # rows per executemany, so a long import moves its progress bar
# Leads per round of INSERT ... SELECT: their ids travel as one parameter, so a round costs
# the same few statements however large it is.
_OPEN_CHUNK = 20_000

LEAD_COLUMNS = (
    "name",
    "name_key",
    "phone",
    "phone_suffix",
    "no_phone",
    "external_id",
    "email",
    "wechat",
    "qq",
    "region",
    "city",
    "channel",
    "campaign",
    "landing_page",
    "keyword",
    "customer_id",
    "created_by_id",
    "created_at",
)
_OPPORTUNITY_COLUMNS = (  # in the order of `_open`'s SELECT
    "lead_id",
    "business_line_id",
    "pipeline_type",
    "stage",
    "pool_state",
    "owner_id",
    "org_unit_id",
    "assigned_at",
    "stage_changed_at",
    "locked",
    "recycle_count",
    "created_at",
)
_STAGE_COLUMNS = ("opportunity_id", "from_stage", "to_stage", "changed_at", "actor_id")
_FLOW_COLUMNS = (
    "opportunity_id",
    "at",
    "from_state",
    "to_state",
    "to_owner_id",
    "reason",
    "actor_id",
    "note",
)


def _insert(
    session: Session,
    table,
    columns,
    rows: list[tuple],
    progress: Progress | None,
    span,
    *,
    ids: bool = False,
) -> list[int]:
    """Insert `rows` in chunks (returning their ids if asked), reporting progress from
    span[0] to span[1]."""
    start, stop = span
    new_ids: list[int] = []
    for offset in range(0, len(rows), _WRITE_CHUNK):
        chunk = rows[offset : offset + _WRITE_CHUNK]
        if ids:
            new_ids += insert_with_ids(session, table.__table__, columns, chunk)
        else:
            insert_rows(session, table.__table__, columns, chunk)
        if progress is not None:
            progress(start + (stop - start) * min(1.0, (offset + _WRITE_CHUNK) / len(rows)))
    return new_ids


def _customers_by_phone(session: Session, phones: list[str]) -> dict[str, int]:
    """phone -> the registered user with that phone (the lowest id if several)."""
    found: dict[str, int] = {}
    table = Customer.__table__
    connection = session.connection()
    for chunk in chunks(phones):
        query = (
            select(table.c.id, table.c.phone)
            .where(one_of(session, table.c.phone, chunk))
            .order_by(table.c.id)
        )
        for customer_id, phone in connection.execute(query):
            found.setdefault(phone, customer_id)
    return found


def write_batch(
    session: Session,
    actor: Actor,
    now: datetime,
    source: str,
    plan: Plan,
    inputs: list,
    outcomes: list[IntakeOutcome | None],
    *,
    keep_for_self: bool,
    progress: Progress | None,
    openings: Sequence[Opening | None] | None = None,
) -> None:
    """Write `plan` and fill the outcomes' lead and opportunity ids; an input with an
    opening (`openings[i]`) opens its opportunities as it says. Flushes, no commit."""
    people = plan.people

    # Stored leads that gain a phone or an external id.
    for person in people:
        if person.lead_id is not None and person.fill:
            session.execute(update(Lead).where(Lead.id == person.lead_id).values(**person.fill))

    new_people = [p for p in people if p.lead_id is None]
    if new_people:
        customers = _customers_by_phone(session, [p.phone for p in new_people if p.phone])
        for person in new_people:
            person.values["customer_id"] = customers.get(person.phone) if person.phone else None
        row_of = itemgetter(*LEAD_COLUMNS)
        rows = [row_of(p.values) for p in new_people]
        ids = _insert(session, Lead, LEAD_COLUMNS, rows, progress, (0.45, 0.7), ids=True)
        for person, lead_id in zip(new_people, ids, strict=True):
            person.lead_id = lead_id

    if plan.new_opportunities:
        planned = plan.new_opportunities
        if openings:
            opened = [p for p in planned if openings[p[2]] is not None]
            planned = [p for p in planned if openings[p[2]] is None]
            open_as_said(session, actor, now, source, opened, inputs, outcomes, openings)
        if planned and _few_fresh(planned, inputs, keep_for_self):
            # A handful of live inquiries (an API request, a form): plain row inserts cost a
            # third of the INSERT ... SELECT rounds built for a 100,000-row file.
            fresh = [Opening()] * len(inputs)
            open_as_said(session, actor, now, source, planned, inputs, outcomes, fresh)
        elif planned:
            _open(session, actor, now, source, planned, inputs, outcomes, keep_for_self, progress)
    _tag(session, people)
    _log_touches(session, actor, now, source, plan)
    for index, person in plan.person_of.items():
        outcomes[index].lead_id = person.lead_id
    session.flush()
    if progress is not None:
        progress(1.0)


_FEW = 50  # new opportunities up to which plain row inserts are the cheaper way


def _few_fresh(planned, inputs, keep_for_self: bool) -> bool:
    """Whether the planned opportunities are few, wait for dispatch and open now (no
    migrated date): then opening them as a fresh `Opening` writes exactly what `_open`
    would - stage `new` at now, the flow event entering `unassigned` by intake."""
    return (
        not keep_for_self
        and len(planned) <= _FEW
        and all(inputs[index].created_at is None for _, _, index in planned)
    )


def _open(session, actor, now, source, planned, inputs, outcomes, keep_for_self, progress) -> None:
    """The new opportunities, each with its first stage and its flow event: per business
    line and chunk of leads, three INSERT ... SELECT and one read of the new ids."""
    state = "owned" if keep_for_self else "unassigned"
    # Typed literals: PostgreSQL cannot infer the type of a bare parameter in a SELECT list.
    when, by = literal(now, DateTime), literal(actor.user_id, Integer)
    owner = literal(actor.user_id if keep_for_self else None, Integer)
    unit = literal(actor.org_unit_id if keep_for_self else None, Integer)
    state_value = literal(state, String)
    # The opportunity is as old as its lead's first contact (an import's created date; now
    # for every live entrance), so the funnel's cohort and channel ROI count the same month.
    stage_values = (Opportunity.id, null(), literal("new", String), Opportunity.created_at, by)
    flow_values = (
        Opportunity.id,
        when,
        null(),
        state_value,
        owner,
        literal("intake", String),
        by,
        literal(source[:400], String),
    )
    by_line: dict[int, list[tuple[int, int]]] = {}  # line id -> (lead id, input index)
    stored: set[int] = set()  # leads stored before this batch: their date is not the row's
    for person, line_id, index in planned:
        by_line.setdefault(line_id, []).append((person.lead_id, index))
        if person.values is None:
            stored.add(person.lead_id)
    connection = session.connection()  # Core: the ORM adds nothing to INSERT ... SELECT
    done, total = 0, len(planned)
    for line_id, planned in by_line.items():
        line = literal(line_id, Integer)
        opportunity_values = (
            Lead.id,
            line,
            literal("new", String),
            literal("new", String),
            state_value,
            owner,
            unit,
            when if keep_for_self else literal(None, DateTime),
            when,
            literal(False),
            literal(0, Integer),
            Lead.created_at,
        )
        for offset in range(0, len(planned), _OPEN_CHUNK):
            chunk = planned[offset : offset + _OPEN_CHUNK]
            lead_ids = [lead_id for lead_id, _ in chunk]
            connection.execute(
                insert(Opportunity).from_select(
                    _OPPORTUNITY_COLUMNS,
                    select(*opportunity_values).where(one_of(session, Lead.id, lead_ids)),
                )
            )
            # The lead had no open opportunity on this line: the open one is the new one.
            new = and_(
                Opportunity.business_line_id == line_id,
                one_of(session, Opportunity.lead_id, lead_ids),
                Opportunity.pool_state != "closed",
            )
            for table, columns, values in (
                (StageHistory, _STAGE_COLUMNS, stage_values),
                (FlowEvent, _FLOW_COLUMNS, flow_values),
            ):
                connection.execute(insert(table).from_select(columns, select(*values).where(new)))
            opportunity_of = dict(
                connection.execute(select(Opportunity.lead_id, Opportunity.id).where(new)).all()
            )
            for lead_id, index in chunk:
                outcomes[index].opportunity_ids.append(opportunity_of[lead_id])
            _date_added_lines(session, now, chunk, opportunity_of, stored, inputs)
            done += len(chunk)
            if progress is not None:
                progress(0.7 + 0.29 * done / total)


def _date_added_lines(session, now, chunk, opportunity_of, stored, inputs) -> None:
    """A known person's new opportunity took the lead's old date: give it the row's own
    first-contact date (or now) instead. Few rows: known people on a new line."""
    dated = [
        (opportunity_of[lead_id], inputs[index].created_at or now)
        for lead_id, index in chunk
        if lead_id in stored
    ]
    if not dated:
        return
    connection = session.connection()
    for table, column, key in (
        (Opportunity.__table__, "created_at", "id"),
        (StageHistory.__table__, "changed_at", "opportunity_id"),
    ):
        connection.execute(
            update(table)
            .where(table.c[key] == bindparam("b_id"))
            .values({column: bindparam("b_at")}),
            [{"b_id": opportunity_id, "b_at": at} for opportunity_id, at in dated],
        )


def _tag(session: Session, people: list[Person]) -> None:
    """The inputs' tags on their leads, skipping tags a stored lead already has."""
    wanted = {(p.lead_id, tag) for p in people for tag in p.tags}
    if not wanted:
        return
    stored_ids = [p.lead_id for p in people if p.tags and p.values is None]
    for chunk in chunks(stored_ids):
        wanted -= set(
            session.exec(
                select(LeadTag.lead_id, LeadTag.tag).where(col(LeadTag.lead_id).in_(chunk))
            ).all()
        )
    insert_rows(session, LeadTag.__table__, ("lead_id", "tag"), sorted(wanted))


def _log_touches(session: Session, actor: Actor, now: datetime, source: str, plan: Plan) -> None:
    """The touch on an opportunity someone already has: a note in its reader's language."""
    if not plan.touches:
        return
    session.execute(
        insert(FollowUp),
        [
            {
                "opportunity_id": opp.opportunity_id,
                "author_id": actor.user_id,
                "channel": "note",
                "content": translate(
                    "New inquiry from this person via {channel} / {campaign} ({source}).",
                    opp.owner_language or actor.language,
                    channel=(item.channel or "").strip().lower(),
                    campaign=(item.campaign or "").strip() or "-",
                    source=source,
                ),
                "created_at": now,
            }
            for _, opp, item in plan.touches
        ],
    )
