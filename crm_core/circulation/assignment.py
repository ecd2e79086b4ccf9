"""What a dispatch run writes once it has chosen: the picks with their flow events, the
reasons of what still waits, the rules' round-robin positions and weighted tallies, and
one notice per rep. All set-based."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import literal, null, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from crm_core.circulation.choosers import Preferring, RoundRobin, Weighted
from crm_core.circulation.flow_events import insert_flow_events
from crm_core.models import DispatchRule, DispatchTally, Opportunity
from crm_core.platform.actor import Actor
from crm_core.platform.bulk import one_of, rows_source
from crm_core.platform.notices import add_counts, send_counts


def write_picks(session: Session, actor: Actor, picks: list[tuple], now: datetime) -> None:
    """Move the picked opportunities (opportunity, rep, unit, rule) to their reps in one
    UPDATE ... FROM and write their flow events in one INSERT ... SELECT."""
    if not picks:
        return
    pick = rows_source(session, "pick", ("opp_id", "owner_id", "unit_id", "rule_id"), picks)
    moved = session.exec(
        update(Opportunity)
        .where(Opportunity.id == pick.c.opp_id, Opportunity.pool_state == "unassigned")
        .values(
            owner_id=pick.c.owner_id,
            org_unit_id=pick.c.unit_id,
            pool_state="owned",
            assigned_at=now,
            unassigned_reason=None,
            recycle_warned_at=None,
        )
        .execution_options(preserve_rowcount=True, synchronize_session=False)
    ).rowcount
    if moved != len(picks):  # the write lock makes this impossible; never write half a run
        raise RuntimeError(f"dispatch moved {moved} of {len(picks)} opportunities")
    insert_flow_events(
        session,
        select(
            pick.c.opp_id,
            literal(now),
            null(),
            pick.c.owner_id,
            literal("unassigned"),
            literal("owned"),
            literal("dispatch"),
            literal("dispatch"),
            pick.c.rule_id,
            literal(actor.user_id) if actor.user_id else null(),
        ),
    )


def write_reasons(session: Session, reasons: dict[str, list[int]]) -> None:
    """Say why each opportunity still waits (shown by the rule editor); rows already
    carrying the reason are left alone."""
    for reason, ids in reasons.items():
        session.exec(
            update(Opportunity)
            .where(
                one_of(session, Opportunity.id, ids),
                or_(
                    col(Opportunity.unassigned_reason).is_(None),
                    Opportunity.unassigned_reason != reason,
                ),
            )
            .values(unassigned_reason=reason)
            .execution_options(synchronize_session=False)
        )


def remember_positions(session: Session, choosers) -> None:
    """Store each rule's round-robin position and weighted tallies after a run."""
    for rule, chooser in choosers:
        if chooser is None:
            continue
        if isinstance(chooser, RoundRobin | Preferring) and rule.rr_position != chooser.last_rep_id:
            session.exec(
                update(DispatchRule)
                .where(DispatchRule.id == rule.id)
                .values(rr_position=chooser.last_rep_id)
            )
        weighted = [
            c
            for c in (chooser, getattr(chooser, "first", None), getattr(chooser, "then", None))
            if isinstance(c, Weighted)
        ]
        for part in weighted:
            _store_tally(session, rule.id, part.given)


def _store_tally(session: Session, rule_id: int, given: dict[int, int]) -> None:
    if not given:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(DispatchTally).values(
        [{"rule_id": rule_id, "user_id": u, "assigned": n} for u, n in given.items()]
    )
    session.exec(
        statement.on_conflict_do_update(
            index_elements=["rule_id", "user_id"], set_={"assigned": statement.excluded.assigned}
        )
    )


def notify_reps(
    session: Session, per_rep: dict[int, int], now: datetime, run_after_notice: int | None = None
) -> None:
    """One notice per rep with how many opportunities they received. A run in chunks names
    the newest notice before it (`run_after_notice`): a rep's unread notice of this run
    then gets the new count added instead of a second notice coming."""
    if run_after_notice is None:
        send_counts(session, "dispatch.received", per_rep, now)
    else:
        add_counts(session, "dispatch.received", per_rep, now, run_after_notice)
