"""Writing a checked history file: the missing units and users, the new people's leads,
the opportunities (new ones, or the untouched imported ones a row is written onto), their
stage history at the file's dates, their flow events and, for a won one, a paid order with
the attribution frozen to the owner's team - a few bulk statements per chunk.

Stage history: `new` when the opportunity was created, the furthest open stage the file
proves (its open stage, the stage before closing, or `qualified` when it names who
qualified it) at the same moment, and the closing stage at the close date. Nothing else:
a won row gains no trial lessons it did not have. Closed opportunities stay with their
owner, as a won or lost one does in the product.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from crm_core.commerce.payment_rows import write_payment_rows
from crm_core.imports.history.columns import HistorySettings
from crm_core.imports.history.people import Mapping
from crm_core.imports.history.rows import HistoryRow, external_key
from crm_core.leads.phones import phone_suffix
from crm_core.models import FlowEvent, Lead, Opportunity, OrgUnit, SalesOrder, StageHistory, User
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import insert_rows, insert_with_ids
from crm_core.platform.metadata import fold
from crm_core.platform.option_values import adopt_values
from crm_core.platform.search_keys import name_key

_LEAD_COLUMNS = (
    "name",
    "name_key",
    "no_phone",
    "phone",
    "phone_suffix",
    "email",
    "external_id",
    "channel",
    "campaign",
    "landing_page",
    "created_by_id",
    "created_at",
)
_OPPORTUNITY_COLUMNS = (
    "lead_id",
    "business_line_id",
    "pipeline_type",
    "stage",
    "pool_state",
    "owner_id",
    "qualified_by_id",
    "org_unit_id",
    "assigned_at",
    "stage_changed_at",
    "locked",
    "recycle_count",
    "amount",
    "lost_reason",
    "closed_at",
    "created_at",
    "external_id",
    "history_import_id",
    "furthest_stage",
    "intention_level",
)
_STAGE_COLUMNS = ("opportunity_id", "from_stage", "to_stage", "changed_at", "actor_id")
_FLOW_COLUMNS = (
    "opportunity_id",
    "at",
    "from_owner_id",
    "to_owner_id",
    "from_state",
    "to_state",
    "reason",
    "actor_id",
    "note",
)
_ORDER_COLUMNS = (
    "opportunity_id",
    "list_price",
    "amount",
    "status",
    "approval",
    "paid_at",
    "created_by_id",
    "attributed_owner_id",
    "attributed_unit_id",
    "attributed_org_path",
    "note",
    "created_at",
)


@dataclass(frozen=True)
class Written:
    """What `write_rows` stored: each row's (opportunity id, lead id) in the rows' order,
    and the leads and opportunities it inserted (they hold no custom values yet)."""

    pairs: list[tuple[int, int]]
    new_leads: frozenset[int]
    new_opportunities: frozenset[int]


_NO_PASSWORD = "!"  # no bcrypt hash: an imported account can never sign in
_CHUNK = 10_000


def _username(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", ".", name.casefold()).strip(".")[:60] or "history.user"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}.{n}"
    taken.add(candidate)
    return candidate


def create_missing(session: Session, actor: Actor, mapping: Mapping, batch_id: int) -> dict:
    """Create the planned units and users; planned key -> new id."""
    made: dict[int | str, int] = {}

    def real(key: int | str) -> int:
        return key if isinstance(key, int) else made[key]

    for unit in mapping.new_units:
        made[unit.key] = create_unit(session, actor, unit.name, real(unit.parent)).id
    taken = set(session.exec(select(User.username)).all())
    numbers = set(session.exec(select(User.employee_no)).all())
    for k, planned in enumerate(mapping.new_users, start=1):
        employee_no = f"HIST{batch_id}-{k:04d}"
        while employee_no in numbers:
            employee_no += "x"
        user = create_user(
            session,
            actor,
            username=_username(planned.name, taken),
            full_name=planned.name,
            employee_no=employee_no,
            password="",
            password_hash=_NO_PASSWORD,
            org_unit_id=real(planned.unit),
            role_codes=["rep"],
            status="resigned",
        )
        # Resigned and disabled: they own their past, they never sign in or receive anything.
        user.enabled = False
        user.on_shift = False
        user.left_on = clock.now()
        session.add(user)
        made[planned.key] = user.id
    session.flush()
    return made


def _chunked(session: Session, table, columns, rows: list[tuple], ids: bool = False) -> list[int]:
    new_ids: list[int] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        if ids:
            new_ids += insert_with_ids(session, table.__table__, columns, chunk)
        else:
            insert_rows(session, table.__table__, columns, chunk)
    return new_ids


def _people(rows: list[HistoryRow]) -> list[list[HistoryRow]]:
    """The new people of the file: rows sharing a lead id, phone or e-mail (directly or
    through another row) are one person, so the file never doubles anybody."""
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        for key in (("id", r.lead_external_id), ("phone", r.phone), ("email", r.email)):
            if key[1]:
                if key in first:
                    parent[root(i)] = root(first[key])
                else:
                    first[key] = i
    groups: dict[int, list[HistoryRow]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(root(i), []).append(r)
    return list(groups.values())


def _new_leads(session: Session, actor: Actor, options: HistorySettings, rows) -> dict[int, int]:
    """The leads of the rows whose person is not stored yet: id(row) -> new lead id."""
    people = _people([r for r in rows if r.lead_id is None and r.takeover is None])

    def first(group, name):
        return next((getattr(r, name) for r in group if getattr(r, name)), None)

    values = []
    for group in people:
        head = group[0]
        phone = first(group, "phone")
        values.append(
            (
                head.name,
                name_key(head.name),
                phone is None,
                phone,
                phone_suffix(phone),
                first(group, "email"),
                first(group, "lead_external_id") or external_key(options.source, head.external_id),
                first(group, "channel") or options.channel,
                first(group, "campaign"),
                first(group, "landing_page"),
                actor.user_id,
                min(r.created_at for r in group),
            )
        )
    ids = _chunked(session, Lead, _LEAD_COLUMNS, values, ids=True)
    return {id(r): lead for group, lead in zip(people, ids, strict=True) for r in group}


def write_rows(
    session: Session,
    actor: Actor,
    options: HistorySettings,
    rows: list[HistoryRow],
    made: dict,
    batch_id: int,
    progress: Callable[[float], None] | None,
) -> Written:
    """Write the plan's rows (flushes, no commit); returns each row's (opportunity id, lead
    id), in the rows' order, for what is written beside them (custom field values), with
    the leads and opportunities it inserted."""

    def real(key: int | str | None) -> int | None:
        return key if key is None or isinstance(key, int) else made[key]

    units = {u.id: u.path for u in session.exec(select(OrgUnit)).all()}
    by = actor.user_id
    # A campaign takes its list's spelling (any case); a new one joins the campaign list.
    spelled = adopt_values(
        session, actor, "campaign", [r.campaign for r in rows if r.campaign], origin="history"
    )
    for r in rows:
        if r.campaign:
            r.campaign = spelled[fold(r.campaign)]
    new_lead = _new_leads(session, actor, options, rows)
    if progress:
        progress(0.3)
    fresh = [r for r in rows if r.takeover is None]
    opportunity_rows = [
        (
            r.lead_id or new_lead[id(r)],
            r.business_line_id,
            "new",
            r.stage,
            r.pool_state,
            real(r.owner),
            real(r.qualifier),
            real(r.unit),
            r.created_at if r.owner is not None else None,
            r.closed_at or r.created_at,
            False,
            0,
            str(r.amount) if r.amount is not None else None,
            r.lost_reason,
            r.closed_at,
            r.created_at,
            external_key(options.source, r.external_id),
            batch_id,
            r.furthest,
            r.intention_level,
        )
        for r in fresh
    ]
    ids = _chunked(session, Opportunity, _OPPORTUNITY_COLUMNS, opportunity_rows, True)
    opportunity_of = {id(r): opp for r, opp in zip(fresh, ids, strict=True)}
    taken = [r for r in rows if r.takeover is not None]
    _take_over(session, options, taken, real, batch_id)
    opportunity_of.update({id(r): r.takeover for r in taken})
    if progress:
        progress(0.6)
    stages, flows, orders = [], [], []
    note = f"history import #{batch_id}"
    for r in rows:
        opp, owner, unit = opportunity_of[id(r)], real(r.owner), real(r.unit)
        open_state = "owned" if owner is not None else r.pool_state
        if r.takeover is None:
            stages.append((opp, None, "new", r.created_at, None))
            flows.append((opp, r.created_at, None, owner, None, open_state, "intake", by, note))
        elif owner is not None:
            flows.append((opp, r.created_at, None, owner, None, "owned", "assign", by, note))
        if r.furthest != "new":
            stages.append((opp, "new", r.furthest, r.created_at, None))
        if r.closed_at is not None:
            stages.append((opp, r.furthest, r.stage, r.closed_at, owner))
            flows.append((opp, r.closed_at, owner, owner, open_state, "closed", r.stage, by, note))
        if r.stage == "won":
            amount = str(r.amount)
            orders.append(
                (opp, amount, amount, "paid", "none", r.closed_at, by, owner, unit)
                + (units.get(unit), note, r.closed_at)
            )
    _chunked(session, StageHistory, _STAGE_COLUMNS, stages)
    _chunked(session, FlowEvent, _FLOW_COLUMNS, flows)
    _chunked(session, SalesOrder, _ORDER_COLUMNS, orders)
    if orders:
        write_payment_rows(session, [order[0] for order in orders])
    lead_of = {r.takeover: r.lead_id for r in taken}
    if taken:
        # A row written onto a stored opportunity is of that opportunity's lead.
        lead_of = dict(
            session.exec(
                select(Opportunity.id, Opportunity.lead_id).where(
                    col(Opportunity.id).in_(list(lead_of))
                )
            ).all()
        )
    if progress:
        progress(1.0)
    pairs = [
        (
            opportunity_of[id(r)],
            lead_of[r.takeover] if r.takeover is not None else (r.lead_id or new_lead[id(r)]),
        )
        for r in rows
    ]
    return Written(pairs, frozenset(new_lead.values()), frozenset(ids))


def _take_over(session: Session, options: HistorySettings, rows, real, batch_id: int) -> None:
    """Write rows onto the stored, untouched opportunities they close: one executemany."""
    if not rows:
        return
    o = Opportunity.__table__
    statement = (
        update(o)
        .where(o.c.id == bindparam("b_target"))
        .values(
            stage=bindparam("b_stage"),
            pool_state=bindparam("b_pool_state"),
            owner_id=bindparam("b_owner"),
            qualified_by_id=bindparam("b_qualifier"),
            org_unit_id=bindparam("b_unit"),
            assigned_at=bindparam("b_assigned_at"),
            stage_changed_at=bindparam("b_changed"),
            amount=bindparam("b_amount"),
            lost_reason=bindparam("b_lost_reason"),
            closed_at=bindparam("b_closed_at"),
            created_at=bindparam("b_created"),
            external_id=bindparam("b_external"),
            history_import_id=bindparam("b_batch"),
            furthest_stage=bindparam("b_furthest"),
            intention_level=bindparam("b_intention"),
        )
    )
    session.connection().execute(
        statement,
        [
            {
                "b_target": r.takeover,
                "b_stage": r.stage,
                "b_pool_state": r.pool_state,
                "b_owner": real(r.owner),
                "b_qualifier": real(r.qualifier),
                "b_unit": real(r.unit),
                "b_assigned_at": r.created_at if r.owner is not None else None,
                "b_changed": r.closed_at or r.created_at,
                "b_amount": r.amount,
                "b_lost_reason": r.lost_reason,
                "b_closed_at": r.closed_at,
                "b_created": r.created_at,
                "b_external": external_key(options.source, r.external_id),
                "b_batch": batch_id,
                "b_furthest": r.furthest,
                "b_intention": r.intention_level,
            }
            for r in rows
        ],
    )
    # The lead's intake stage row keeps its time; the opportunity's own times now follow
    # the file, so the stage history starts where the opportunity does.
    session.connection().execute(
        update(StageHistory.__table__)
        .where(
            StageHistory.__table__.c.opportunity_id == bindparam("b_target"),
            StageHistory.__table__.c.to_stage == "new",
        )
        .values(changed_at=bindparam("b_created")),
        [{"b_target": r.takeover, "b_created": r.created_at} for r in rows],
    )
