"""What the engine benchmark adds to a seeded database, once: 2,000 active reps and the
benchmark's dispatch and recycle rules. Everything here is idempotent; the rules are stored
disabled and switched on only inside the benchmark's rolled-back transactions, so the
database behaves as seeded outside a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, text
from sqlmodel import Session, select

from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import DispatchRule, RecycleRule, User
from crm_core.platform import clock
from crm_core.platform.actor import Actor

REPS = 2_000
BENCH_PREFIX = "bench: "
# Bench rep i: daily cap 40/50/60/70 and holding cap 50/75/100 by i mod 4 and i mod 3, so a
# rep's room is 40-70 (52.5 on average): departments that get more leads than their reps'
# room leave the rest waiting (no_room), the others do not fill up.
DAILY_CAPS = (40, 50, 60, 70)
HOLDING_CAPS = (50, 75, 100)
# Dispatch, per business line: the region in place 0 takes paid and organic search, the
# second takes feeds, forms and chat, the third the rest of the line. English has no rule
# for imported lists, which therefore wait with `no_rule`.
DISPATCH_CHANNELS = (("sem", "seo"), ("chat", "feed", "form"), ())
ENGLISH_LAST = ("content", "event", "referral")


@dataclass(frozen=True)
class DispatchDef:
    rule_id: int
    line_id: int
    channels: tuple[str, ...]
    unit_path: str


@dataclass(frozen=True)
class RecycleDef:
    """A recycle rule as stored, and its conditions hand-written for the plain SQL."""

    name: str
    priority: int
    line: str | None  # business-line code the rule is limited to
    region: bool  # limited to the first region's subtree
    conditions: dict
    action: dict
    where: str  # beside the common "owned, unlocked, unprotected" conditions
    after: timedelta
    to_state: str


RECYCLE_RULES = (
    RecycleDef(
        "no first follow-up in 48 hours",
        10,
        None,
        False,
        {"trigger": "no_first_follow_up", "after": 48},
        {"target": "public_pool", "dormant_after": 3, "warn_days": 1},
        "first_follow_up_at IS NULL AND coalesce(assigned_at, created_at) < :cutoff",
        timedelta(hours=48),
        "public",
    ),
    RecycleDef(
        "no follow-up for 7 days",
        20,
        None,
        False,
        {
            "trigger": "no_follow_up",
            "after": 7,
            "exempt_from_stage": "trial_booked",
            "exempt_intentions": ["A"],
        },
        {"target": "redispatch", "dormant_after": 3, "warn_days": 2},
        "stage NOT IN ('trial_booked', 'trial_done')"
        " AND (intention_level IS NULL OR intention_level NOT IN ('A'))"
        " AND coalesce(assigned_at, created_at) < :cutoff"
        " AND (last_follow_up_at IS NULL OR last_follow_up_at < :cutoff)",
        timedelta(days=7),
        "unassigned",
    ),
    RecycleDef(
        "English stalled for 21 days",
        30,
        "english",
        False,
        {"trigger": "no_stage_progress", "after": 21, "exempt_from_stage": "trial_done"},
        {"target": "public_pool", "dormant_after": 3, "warn_days": 1},
        "business_line_id = :line AND stage NOT IN ('trial_done')"
        " AND coalesce(assigned_at, created_at) < :cutoff"
        " AND (stage_changed_at IS NULL OR stage_changed_at < :cutoff)",
        timedelta(days=21),
        "public",
    ),
    RecycleDef(
        "first region: not won in 60 days",
        40,
        None,
        True,
        {"trigger": "not_won", "after": 60, "exempt_intentions": ["A"]},
        {"target": "public_pool", "dormant_after": 3, "warn_days": 1},
        "org_unit_id IN (SELECT id FROM org_unit WHERE path LIKE :path)"
        " AND (intention_level IS NULL OR intention_level NOT IN ('A'))"
        " AND coalesce(assigned_at, created_at) < :cutoff",
        timedelta(days=60),
        "public",
    ),
)


@dataclass
class Setup:
    dispatch: list[DispatchDef]  # in the order the rules apply
    recycle: list[tuple[int, RecycleDef, dict]]  # (rule id, definition, its parameters)
    departments: list[tuple[int, str, int]]  # (unit id, path, business line id)


def _scalar(session: Session, sql: str, **params):
    return session.execute(text(sql), params).scalar_one()


def ensure_reps(session: Session) -> int:
    """Top the active, enabled holders of the "rep" role up to REPS with `bench_rep_NNNN`
    accounts, spread over the seeded teams. Returns how many were added."""
    active = _scalar(
        session,
        "SELECT count(*) FROM app_user u JOIN user_role ur ON ur.user_id = u.id"
        " JOIN role r ON r.id = ur.role_id WHERE r.code = 'rep' AND u.status = 'active'"
        " AND u.enabled",
    )
    missing = REPS - active
    if missing > 0:
        teams = [
            row[0]
            for row in session.execute(
                text(
                    "SELECT DISTINCT u.org_unit_id FROM app_user u JOIN user_role ur ON ur.user_id = u.id"
                    " JOIN role r ON r.id = ur.role_id WHERE r.code = 'rep' AND u.username NOT LIKE"
                    " 'bench_rep_%' ORDER BY 1"
                )
            )
        ]
        password_hash = _scalar(
            session, "SELECT password_hash FROM app_user WHERE username = 'rep'"
        )
        first = 1 + _scalar(
            session, "SELECT count(*) FROM app_user WHERE username LIKE 'bench_rep_%'"
        )
        now = clock.now()
        rows = [
            {
                "username": f"bench_rep_{i:04d}",
                "employee_no": f"BENCH{i:04d}",
                "full_name": f"Bench rep {i}",
                "org_unit_id": teams[i % len(teams)],
                "status": "active",
                "enabled": True,
                "title": "课程顾问 Course adviser",
                "skill_tags": [],
                "dispatch_weight": 1 + i % 3,
                "daily_cap": DAILY_CAPS[i % 4],
                "holding_cap": HOLDING_CAPS[i % 3],
                "on_shift": True,
                "language": "zh",
                "password_hash": password_hash,
                "must_change_password": False,
                "failed_login_count": 0,
                "created_at": now,
            }
            for i in range(first, first + missing)
        ]
        session.execute(insert(User.__table__), rows)
    session.execute(
        text(
            "INSERT INTO user_role (user_id, role_id) SELECT u.id, r.id FROM app_user u"
            " JOIN role r ON r.code = 'rep' WHERE u.username LIKE 'bench_rep_%' AND NOT EXISTS"
            " (SELECT 1 FROM user_role x WHERE x.user_id = u.id AND x.role_id = r.id)"
        )
    )
    session.commit()
    return max(missing, 0)


def _rule(session: Session, model, kind: str, draft: RuleDraft) -> int:
    found = session.exec(select(model.id).where(model.name == draft.name)).first()
    if found is None:
        found = save_rule(session, Actor.system(), kind, draft).id
    return found


def ensure_rules(session: Session) -> Setup:
    """The benchmark's dispatch rules (one per department, round-robin) and recycle rules,
    created disabled the first time."""
    lines = dict(session.execute(text("SELECT code, id FROM business_line")).all())
    departments = [
        tuple(r)
        for r in session.execute(
            text(
                "SELECT d.id, d.path, d.business_line_id FROM org_unit d JOIN org_unit p"
                " ON p.id = d.parent_id WHERE d.business_line_id IS NOT NULL AND p.business_line_id"
                " IS NULL ORDER BY d.business_line_id, p.id"
            )
        )
    ]
    dispatch = []
    for n, (unit_id, path, line_id) in enumerate(departments):
        place = sum(1 for d in departments[:n] if d[2] == line_id)
        channels = DISPATCH_CHANNELS[place]
        if line_id == lines["english"] and place == len(DISPATCH_CHANNELS) - 1:
            channels = ENGLISH_LAST
        draft = RuleDraft(
            name=f"{BENCH_PREFIX}dispatch {path}",
            priority=10 * (n + 1),
            business_line_id=line_id,
            enabled=False,
            conditions={"channels": list(channels)},
            action={"target_unit_id": unit_id, "strategy": "round_robin"},
        )
        rule_id = _rule(session, DispatchRule, "dispatch", draft)
        dispatch.append(DispatchDef(rule_id, line_id, channels, path))
    region = session.execute(
        text(
            "SELECT p.id, p.path FROM org_unit p JOIN org_unit d ON d.parent_id = p.id"
            " WHERE d.id = :d"
        ),
        {"d": departments[0][0]},
    ).one()
    recycle = []
    for rule in RECYCLE_RULES:
        draft = RuleDraft(
            name=f"{BENCH_PREFIX}{rule.name}",
            priority=rule.priority,
            business_line_id=lines[rule.line] if rule.line else None,
            org_unit_id=region[0] if rule.region else None,
            enabled=False,
            conditions=rule.conditions,
            action=rule.action,
        )
        rule_id = _rule(session, RecycleRule, "recycle", draft)
        params = {"line": draft.business_line_id} if rule.line else {}
        if rule.region:
            params["path"] = f"{region[1]}%"
        recycle.append((rule_id, rule, params))
    session.commit()
    return Setup(dispatch, recycle, departments)


def only_bench_rules(session: Session, table: str) -> None:
    """Inside a run's transaction: the benchmark's rules on, every other rule off."""
    session.execute(
        text(f"UPDATE {table} SET enabled = (name LIKE :bench)"), {"bench": f"{BENCH_PREFIX}%"}
    )
