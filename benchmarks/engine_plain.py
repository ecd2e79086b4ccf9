"""The engine's work written by hand as plain SQL statements, for the engine benchmark.

Dispatch: temporary tables of the waiting opportunities (with the rule each matches, by a
CASE written from the rules), of the reps with room (the same holding and today's-dispatch
counts), and of the picks: round-robin as slots, rep r's round j for j < room(r), numbered
per rule in (round, position after the rule's last rep) order and joined to the waiting
opportunities numbered per rule by id. That is exactly the order the product's round-robin
gives, so both write the same picks. Then the same writes: one UPDATE ... FROM, one
INSERT ... SELECT of flow events, the waiting reasons, the rules' positions, the notices.

Recycle: per rule, one INSERT ... SELECT of flow events and one UPDATE with the same WHERE.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import DateTime, bindparam, text
from sqlmodel import Session

from benchmarks.engine_setup import DispatchDef, RecycleDef

_FLOW = (
    "INSERT INTO flow_event (opportunity_id, at, from_owner_id, to_owner_id, from_state,"
    " to_state, reason, rule_kind, rule_id, actor_id)"
)


_TEMP_TABLES = {
    "bench_wait": "opp_id integer PRIMARY KEY, rule_id bigint",
    "bench_rep": "rep_id bigint, unit_id bigint, rule_id bigint, room bigint",
    "bench_pick": "opp_id integer PRIMARY KEY, owner_id bigint, unit_id bigint, rule_id bigint,"
    " k bigint",
}


def _run(session: Session, sql: str, **params) -> int:
    statement = text(sql)
    times = [k for k, v in params.items() if isinstance(v, datetime)]
    if times:  # stored as the product stores them (SQLite: SQLAlchemy's DateTime text)
        statement = statement.bindparams(*(bindparam(k, type_=DateTime()) for k in times))
    result = session.execute(statement.execution_options(preserve_rowcount=True), params)
    return result.rowcount


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def hold_writes(session: Session) -> None:
    if _is_pg(session):
        session.execute(text("LOCK TABLE opportunity IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.execute(text("UPDATE opportunity SET id = id WHERE 0"))


def _permissions(stored) -> list[str]:
    return json.loads(stored) if isinstance(stored, str) else stored or []


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _rule_case(rules: list[DispatchDef]) -> str:
    whens = []
    for r in rules:
        channel = f" AND l.channel IN ({_quoted(r.channels)})" if r.channels else ""
        whens.append(f"WHEN o.business_line_id = {r.line_id}{channel} THEN {r.rule_id}")
    return f"CASE {' '.join(whens)} END"


def plain_dispatch(
    session: Session,
    rules: list[DispatchDef],
    now: datetime,
    day_start: datetime,
    limit: int,
    no_return_since: datetime,
) -> dict:
    """Dispatch the first `limit` waiting opportunities by `rules`; returns the counts."""
    pg = _is_pg(session)
    hold_writes(session)
    for table, columns in _TEMP_TABLES.items():
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
        session.execute(text(f"CREATE TEMP TABLE {table} ({columns})"))
    _run(
        session,
        f"""
        INSERT INTO bench_wait
        SELECT o.id AS opp_id, {_rule_case(rules)} AS rule_id
        FROM opportunity o JOIN lead l ON l.id = o.lead_id
        WHERE o.pool_state = 'unassigned' AND o.locked = false
        ORDER BY o.id LIMIT :limit""",
        limit=limit,
    )
    # Reps who lost a waiting opportunity recently may not get it back; the product reads
    # them and so does this (the benchmark's waiting opportunities have none).
    losers = session.execute(
        text(
            "SELECT f.opportunity_id, f.from_owner_id, f.at FROM flow_event f JOIN opportunity o"
            " ON o.id = f.opportunity_id WHERE o.pool_state = 'unassigned'"
            " AND f.from_owner_id IS NOT NULL AND f.at >= :since"
        ).bindparams(bindparam("since", type_=DateTime())),
        {"since": no_return_since},
    ).all()
    targets = ", ".join(f"({r.rule_id}, '{r.unit_path}%')" for r in rules)
    # Only holders of a role with `receive_dispatch` (reps, team leads) are handed any.
    receiving = (
        ", ".join(
            str(role_id)
            for role_id, permissions in session.execute(
                text("SELECT id, permissions FROM role")
            ).all()
            if "receive_dispatch" in _permissions(permissions)
        )
        or "NULL"
    )
    _run(
        session,
        f"""
        INSERT INTO bench_rep
        WITH target(rule_id, path) AS (VALUES {targets}),
        cand AS (
            SELECT u.id, u.org_unit_id, t.rule_id, u.daily_cap, u.holding_cap
            FROM target t JOIN org_unit ou ON ou.path LIKE t.path
            JOIN app_user u ON u.org_unit_id = ou.id
            WHERE u.status = 'active' AND u.enabled AND u.on_shift AND u.daily_cap > 0
              AND u.holding_cap > 0 AND u.id IN
                  (SELECT user_id FROM user_role WHERE role_id IN ({receiving}))),
        held AS (
            SELECT owner_id, count(*) AS n FROM opportunity
            WHERE pool_state = 'owned' AND owner_id IN (SELECT id FROM cand) GROUP BY owner_id),
        today AS (
            SELECT to_owner_id, count(*) AS n FROM flow_event
            WHERE at >= :day AND reason = 'dispatch' AND to_owner_id IN (SELECT id FROM cand)
            GROUP BY to_owner_id),
        left_ AS (
            SELECT c.id AS rep_id, c.org_unit_id AS unit_id, c.rule_id,
                   c.daily_cap - coalesce(d.n, 0) AS day_left,
                   c.holding_cap - coalesce(h.n, 0) AS hold_left
            FROM cand c LEFT JOIN held h ON h.owner_id = c.id
            LEFT JOIN today d ON d.to_owner_id = c.id)
        SELECT rep_id, unit_id, rule_id,
               CASE WHEN day_left < hold_left THEN day_left ELSE hold_left END AS room
        FROM left_ WHERE day_left > 0 AND hold_left > 0""",
        day=day_start,
    )
    if pg:  # temporary tables have no statistics until asked; without them the planner
        # may join the slots to the waiting opportunities by nested loop (minutes, not 1 s)
        session.execute(text("ANALYZE bench_wait, bench_rep"))
    _run(
        session,
        """
        INSERT INTO bench_pick
        WITH RECURSIVE turn(j) AS (
            SELECT 0 UNION ALL
            SELECT j + 1 FROM turn WHERE j + 1 < (SELECT max(room) FROM bench_rep)),
        slot AS (
            SELECT r.rule_id, r.rep_id, r.unit_id, row_number() OVER (
                PARTITION BY r.rule_id ORDER BY n.j,
                CASE WHEN r.rep_id > coalesce(d.rr_position, 0) THEN 0 ELSE 1 END, r.rep_id
            ) AS k
            FROM bench_rep r JOIN turn n ON n.j < r.room JOIN dispatch_rule d ON d.id = r.rule_id),
        waiting AS (
            SELECT opp_id, rule_id, row_number() OVER (PARTITION BY rule_id ORDER BY opp_id) AS k
            FROM bench_wait WHERE rule_id IS NOT NULL)
        SELECT w.opp_id, s.rep_id AS owner_id, s.unit_id, w.rule_id, w.k
        FROM waiting w JOIN slot s ON s.rule_id = w.rule_id AND s.k = w.k""",
    )
    if pg:
        session.execute(text("ANALYZE bench_pick"))
    moved = _run(
        session,
        """
        UPDATE opportunity SET owner_id = p.owner_id, org_unit_id = p.unit_id,
            pool_state = 'owned', assigned_at = :now, unassigned_reason = NULL,
            recycle_warned_at = NULL
        FROM bench_pick p WHERE opportunity.id = p.opp_id
          AND opportunity.pool_state = 'unassigned'""",
        now=now,
    )
    events = _run(
        session,
        f"""{_FLOW}
        SELECT opp_id, :now, NULL, owner_id, 'unassigned', 'owned', 'dispatch', 'dispatch',
               rule_id, NULL
        FROM bench_pick""",
        now=now,
    )
    reason = "CASE WHEN w.rule_id IS NULL THEN 'no_rule' ELSE 'no_room:' || w.rule_id END"
    _run(
        session,
        f"""
        UPDATE opportunity SET unassigned_reason = {reason}
        FROM bench_wait w WHERE opportunity.id = w.opp_id
          AND NOT EXISTS (SELECT 1 FROM bench_pick p WHERE p.opp_id = w.opp_id)
          AND (opportunity.unassigned_reason IS NULL
               OR opportunity.unassigned_reason <> {reason})""",
    )
    _run(
        session,
        """
        UPDATE dispatch_rule SET rr_position = (
            SELECT p.owner_id FROM bench_pick p WHERE p.rule_id = dispatch_rule.id
            ORDER BY p.k DESC LIMIT 1)
        WHERE id IN (SELECT rule_id FROM bench_pick)""",
    )
    count = "json_build_object('count', count(*))" if pg else "json_object('count', count(*))"
    _run(
        session,
        f"""
        INSERT INTO notice (user_id, kind, params, created_at)
        SELECT owner_id, 'dispatch.received', {count}, :now
        FROM bench_pick GROUP BY owner_id""",
        now=now,
    )
    return {"assigned": moved, "events": events, "losers": len(losers)}


def plain_recycle(
    session: Session, rules: list[tuple[int, RecycleDef, dict]], now: datetime
) -> int:
    """Sweep the owned opportunities with each rule in order; returns how many moved."""
    hold_writes(session)
    moved = 0
    for rule_id, rule, params in rules:
        where = (
            "pool_state = 'owned' AND locked = false"
            " AND (protected_until IS NULL OR protected_until <= :now)"
            f" AND {rule.where}"
        )
        to_state = (
            f"CASE WHEN recycle_count + 1 >= {rule.action['dormant_after']} THEN 'dormant'"
            f" ELSE '{rule.to_state}' END"
        )
        values = dict(params, now=now, cutoff=now - rule.after)
        events = _run(
            session,
            f"""{_FLOW}
            SELECT id, :now, owner_id, NULL, 'owned', {to_state}, 'recycle', 'recycle',
                   {rule_id}, NULL
            FROM opportunity WHERE {where}""",
            **values,
        )
        reason = ", unassigned_reason = 'recycled'" if rule.to_state == "unassigned" else ""
        updated = _run(
            session,
            f"""
            UPDATE opportunity SET owner_id = NULL, pool_state = {to_state},
                recycle_count = recycle_count + 1, assigned_at = NULL,
                recycle_warned_at = NULL{reason}
            WHERE {where}""",
            **values,
        )
        if updated != events:
            raise RuntimeError(f"plain recycle rule {rule_id}: {events} events, {updated} moves")
        moved += updated
    return moved
