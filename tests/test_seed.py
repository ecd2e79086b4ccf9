"""The demo seed: the company's shape, the consistency of the generated activity, determinism,
and the command line's refusal to add to a database that already has data."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import phonenumbers
import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, select

from crm_core.models import (
    DEFAULT_STAGES,
    OPEN_STAGES,
    POOL_STATES,
    Lead,
    Opportunity,
    OrgUnit,
    User,
)
from crm_core.org.auth import authenticate
from crm_core.org.units import unit_path_names
from crm_core.org.users import role_names
from crm_core.platform.bootstrap import DEFAULT_CHANNELS, DEFAULT_LOST_REASONS
from db.seed import BULK_TABLES, DatabaseNotEmpty, seed_database
from db.seed.__main__ import main
from db.seed.company import demo_logins
from db.seed.names import MOBILE_PREFIXES
from tests.conftest import empty_database

OPPORTUNITIES = 1_200


@pytest.fixture(scope="module")
def seeded(engine):
    """One seeded database shared by the read-only tests of this module."""
    empty_database(engine)
    return seed_database(engine, opportunities=OPPORTUNITIES, seed=7)


@pytest.fixture
def s(engine, seeded):
    with Session(engine, expire_on_commit=False) as session:
        yield session


def rows(session: Session, sql: str, **params) -> list:
    return list(session.execute(text(sql), params).all())


def user(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


BJ = ["总部 Headquarters", "北京分公司 Beijing"]
BJ_KAOYAN = [*BJ, "考研部 Postgraduate"]


@pytest.mark.parametrize(
    ("username", "role", "path"),
    [
        ("admin", "admin", ["总部 Headquarters"]),
        ("boss", "executive", ["总部 Headquarters"]),
        ("director", "sales_manager", BJ),
        ("dir.sh", "sales_manager", ["总部 Headquarters", "上海分公司 Shanghai"]),
        ("dir.wh", "sales_manager", ["总部 Headquarters", "武汉分公司 Wuhan"]),
        ("manager", "sales_manager", BJ_KAOYAN),
        ("mgr.bj.jiaozi", "sales_manager", [*BJ, "教资部 Teacher cert."]),
        (
            "mgr.wh.english",
            "sales_manager",
            ["总部 Headquarters", "武汉分公司 Wuhan", "英语部 English"],
        ),
        ("teamlead", "team_lead", [*BJ_KAOYAN, "一组 Team 1"]),
        ("tl.bj.kaoyan.2", "team_lead", [*BJ_KAOYAN, "二组 Team 2"]),
        ("rep", "rep", [*BJ_KAOYAN, "一组 Team 1"]),
        ("qa", "qa_inspector", ["总部 Headquarters", "质检部 QA"]),
        ("qa2", "qa_inspector", ["总部 Headquarters", "质检部 QA"]),
        ("marketing", "marketing", ["总部 Headquarters", "市场部 Marketing"]),
        ("mkt2", "marketing", ["总部 Headquarters", "市场部 Marketing"]),
    ],
)
def test_demo_logins_have_their_roles_and_units(s, username, role, path):
    account = user(s, username)
    assert role_names(s, account.id) == [role]
    assert unit_path_names(s, s.get(OrgUnit, account.org_unit_id)) == path
    assert account.status == "active"
    assert re.fullmatch(r"E\d{5}", account.employee_no)
    assert re.search(r"[\u4e00-\u9fff]", account.full_name)


def test_every_listed_login_exists_as_listed(s, seeded):
    assert seeded.logins == demo_logins()
    for username, role, unit in demo_logins():
        account = user(s, username)
        assert role_names(s, account.id) == [role]
        path = unit_path_names(s, s.get(OrgUnit, account.org_unit_id))
        assert " / ".join(path[1:] or path) == unit


def test_demo_password_works_and_units_have_heads(s):
    assert authenticate(s, "rep", "demo1234").ok
    assert not authenticate(s, "rep", "wrong-password1").ok
    heads = {
        "director": "北京分公司 Beijing",
        "manager": "考研部 Postgraduate",
        "teamlead": "一组 Team 1",
    }
    for username, unit_name in heads.items():
        unit = s.get(OrgUnit, user(s, username).org_unit_id)
        assert (unit.name, unit.head_user_id) == (unit_name, user(s, username).id)


def test_org_tree_and_sales_floor(s):
    units = s.exec(select(OrgUnit)).all()
    assert max(u.depth for u in units) == 3
    assert sum(u.parent_id is None for u in units) == 1
    teams = [u for u in units if u.depth == 3]
    assert len(teams) == 18
    assert all(u.head_user_id is not None for u in units)
    assert all(u.business_line_id is not None for u in units if u.depth >= 2)
    reps = rows(
        s,
        "SELECT u.org_unit_id, u.status, u.username FROM app_user u "
        "JOIN user_role ur ON ur.user_id = u.id JOIN role r ON r.id = ur.role_id "
        "WHERE r.code = 'rep'",
    )
    assert 95 <= len(reps) <= 105
    per_team = Counter(unit for unit, _, _ in reps)
    assert set(per_team) == {t.id for t in teams}
    assert all(5 <= n <= 6 for n in per_team.values())
    statuses = Counter(status for _, status, _ in reps)
    assert 2 <= statuses["resigned"] <= 3 and statuses["on_leave"] >= 1
    assert {"rep", "rep001", "rep002"} <= {name for _, _, name in reps}


def test_every_stage_and_pool_state_appears(s):
    stages = dict(rows(s, "SELECT stage, COUNT(*) FROM opportunity GROUP BY stage"))
    states = dict(rows(s, "SELECT pool_state, COUNT(*) FROM opportunity GROUP BY pool_state"))
    assert set(stages) == set(DEFAULT_STAGES)
    assert set(states) == set(POOL_STATES)
    assert sum(stages.values()) == OPPORTUNITIES


def test_pool_states_are_consistent(s):
    opps = s.exec(select(Opportunity)).all()
    users = {u.id: u for u in s.exec(select(User)).all()}
    for o in opps:
        if o.pool_state in ("owned", "closed"):
            assert o.owner_id is not None and o.org_unit_id == users[o.owner_id].org_unit_id
            assert o.assigned_at is not None and o.assigned_at > o.created_at
        else:
            assert o.owner_id is None and o.assigned_at is None
        if o.pool_state == "unassigned":
            assert o.org_unit_id is None and o.stage == "new" and o.unassigned_reason
        if o.pool_state in ("public", "dormant"):
            assert o.org_unit_id is not None
            assert o.recycle_count >= (3 if o.pool_state == "dormant" else 1)
        if o.pool_state == "closed":
            assert o.stage in ("won", "lost") and o.closed_at is not None
            assert (o.lost_reason in DEFAULT_LOST_REASONS) == (o.stage == "lost")
        else:
            assert o.stage in OPEN_STAGES and o.closed_at is None
            if o.owner_id is not None:
                assert users[o.owner_id].status != "resigned"
    assert isinstance(opps[0].created_at, datetime)
    assert sum(o.intention_level is not None for o in opps) > OPPORTUNITIES // 2


def test_one_open_opportunity_per_lead_and_line(s):
    assert not rows(
        s,
        "SELECT lead_id, business_line_id FROM opportunity WHERE pool_state <> 'closed' "
        "GROUP BY lead_id, business_line_id HAVING COUNT(*) > 1",
    )
    leads = rows(s, "SELECT COUNT(*) FROM lead")[0][0]
    assert abs(leads - OPPORTUNITIES / 1.2) <= 2
    assert rows(s, "SELECT COUNT(DISTINCT lead_id) FROM opportunity")[0][0] == leads


def test_lead_phones_and_channels(s):
    leads = rows(s, "SELECT phone, phone_suffix, channel, name FROM lead")
    phones = [phone for phone, _, _, _ in leads]
    assert len(set(phones)) == len(phones)
    prefixes = {str(p) for p in MOBILE_PREFIXES}
    for phone, suffix, _, name in leads:
        assert re.fullmatch(r"\+861\d{10}", phone) and phone[3:6] in prefixes
        assert suffix == phone[-4:]
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    channels = Counter(channel for _, _, channel, _ in leads)
    assert set(channels) <= set(DEFAULT_CHANNELS) and len(channels) >= 8
    assert channels.most_common(2)[0][0] in ("sem", "feed")


def test_won_opportunities_have_frozen_orders(s):
    won = rows(
        s,
        "SELECT o.id, o.amount, o.closed_at, o.owner_id, u.path FROM opportunity o "
        "JOIN app_user a ON a.id = o.owner_id JOIN org_unit u ON u.id = a.org_unit_id "
        "WHERE o.stage = 'won'",
    )
    orders = defaultdict(list)
    for row in rows(
        s,
        "SELECT opportunity_id, status, amount, paid_at, attributed_org_path, "
        "attributed_owner_id, payment_ref FROM sales_order",
    ):
        orders[row[0]].append(row)
    assert won
    for opp_id, amount, closed_at, owner_id, path in won:
        paid = [o for o in orders[opp_id] if o[1] in ("paid", "refunded")]
        assert len(paid) == 1
        _, _, order_amount, paid_at, order_path, order_owner, ref = paid[0]
        assert (order_path, order_owner) == (path, owner_id)
        assert Decimal(str(order_amount)) == Decimal(str(amount)) > 0
        assert str(paid_at)[:19] == str(closed_at)[:19] and ref.startswith("PAY")
    stages = dict(rows(s, "SELECT id, stage FROM opportunity"))
    pending = [opp for opp, group in orders.items() for o in group if o[1] == "pending"]
    assert pending and all(stages[opp] == "trial_done" for opp in pending)


def test_paid_orders_end_their_course_the_products_course_days_later(s):
    orders = rows(
        s,
        "SELECT o.status, o.paid_at, o.course_ends_at, p.course_days FROM sales_order o "
        "JOIN product p ON p.id = o.product_id",
    )
    paid = [o for o in orders if o[0] in ("paid", "refunded")]
    assert paid
    for _, paid_at, ends, days in paid:
        paid_at, ends = (datetime.fromisoformat(str(v)[:19]) for v in (paid_at, ends))
        assert (ends - paid_at).days == days and ends - paid_at == timedelta(days=days)
    assert all(ends is None for status, _, ends, _ in orders if status == "pending")


def test_stage_histories_run_from_new_to_the_current_stage(s):
    history = defaultdict(list)
    for opp, from_stage, to_stage, at in rows(
        s,
        "SELECT opportunity_id, from_stage, to_stage, changed_at FROM stage_history "
        "ORDER BY opportunity_id, id",
    ):
        history[opp].append((from_stage, to_stage, at))
    order = {stage: i for i, stage in enumerate(DEFAULT_STAGES)}
    skipped = went_back = 0
    for opp in s.exec(select(Opportunity)).all():
        entries = history[opp.id]
        assert entries[0][:2] == (None, "new") and entries[-1][1] == opp.stage
        assert [e[2] for e in entries] == sorted({e[2] for e in entries})  # strictly rising
        assert str(entries[-1][2])[:19] == str(opp.stage_changed_at)[:19]
        for (_, prev, _), (frm, to, _) in zip(entries, entries[1:], strict=False):
            assert frm == prev
            if to in ("won", "lost"):
                continue
            skipped += order[to] > order[frm] + 1
            went_back += order[to] < order[frm]
    assert skipped and went_back


def test_follow_ups_match_the_opportunity_columns(s):
    stats = {
        opp: (first, last, n)
        for opp, first, last, n in rows(
            s,
            "SELECT opportunity_id, MIN(created_at), MAX(created_at), COUNT(*) "
            "FROM follow_up GROUP BY opportunity_id",
        )
    }
    authors = rows(
        s,
        "SELECT COUNT(*) FROM follow_up f JOIN opportunity o ON o.id = f.opportunity_id "
        "WHERE o.owner_id IS NOT NULL AND f.author_id <> o.owner_id",
    )
    assert authors[0][0] == 0
    for opp in s.exec(select(Opportunity)).all():
        if opp.id not in stats:
            assert opp.last_follow_up_at is None and opp.first_follow_up_at is None
            assert opp.stage == "new" or opp.pool_state == "unassigned"
            continue
        first, last, n = stats[opp.id]
        assert 1 <= n <= 6
        assert str(opp.last_follow_up_at)[:19] == str(last)[:19]
        assert str(opp.first_follow_up_at)[:19] == str(first)[:19]
        if opp.closed_at is not None:
            assert opp.last_follow_up_at <= opp.closed_at


def test_flow_events_tell_the_ownership_story(s):
    events = defaultdict(list)
    for opp, reason, to_state in rows(
        s, "SELECT opportunity_id, reason, to_state FROM flow_event ORDER BY opportunity_id, id"
    ):
        events[opp].append((reason, to_state))
    for opp in s.exec(select(Opportunity)).all():
        story = events[opp.id]
        if opp.pool_state == "unassigned":
            assert story == []
            continue
        assert story[0] == ("dispatch", "owned")
        assert sum(reason == "recycle" for reason, _ in story) == opp.recycle_count
        assert story[-1][1] == opp.pool_state
        if opp.pool_state == "closed":
            assert story[-1][0] == opp.stage


def test_seeding_leaves_the_schema_as_migrated(engine, seeded):
    # On PostgreSQL the bulk load drops and recreates keys and indexes; they must be back.
    inspector = inspect(engine)
    for name in BULK_TABLES:
        table = SQLModel.metadata.tables[name]
        if engine.dialect.name == "sqlite":
            # SQLite's inspector leaves out expression indexes (`lower(email)`): read the
            # catalogue itself (its automatic indexes of keys have no SQL).
            with engine.connect() as connection:
                indexes = set(
                    connection.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                        " AND sql IS NOT NULL",
                        (name,),
                    ).scalars()
                )
        else:
            indexes = {
                ix["name"]
                for ix in inspector.get_indexes(name)
                if not ix.get("duplicates_constraint")
            }
        assert indexes == {ix.name for ix in table.indexes}
        keys = {
            (tuple(fk["constrained_columns"]), fk["referred_table"])
            for fk in inspector.get_foreign_keys(name)
        }
        assert keys == {((fk.parent.name,), fk.column.table.name) for fk in table.foreign_keys}


def test_same_seed_gives_the_same_leads(engine):
    def first_leads(seed: int) -> list:
        empty_database(engine)
        seed_database(engine, opportunities=300, seed=seed)
        with Session(engine) as session:
            return rows(session, "SELECT name, phone FROM lead ORDER BY id LIMIT 50")

    first = first_leads(11)
    assert first == first_leads(11)
    assert first != first_leads(12)


def test_non_empty_database_is_never_seeded_twice(engine, database_url, capsys):
    empty_database(engine)
    seed_database(engine, opportunities=60, seed=3)
    with pytest.raises(DatabaseNotEmpty):
        seed_database(engine, opportunities=60, seed=3)
    assert main(["--logins"]) == 0
    assert "teamlead" in capsys.readouterr().out
    assert main(["--if-empty", "--database", database_url]) == 0
    assert "database already has data; seed skipped" in capsys.readouterr().out
    assert main(["--opportunities", "10", "--database", database_url]) == 2
    assert "refused" in capsys.readouterr().err
    with Session(engine) as session:
        assert rows(session, "SELECT COUNT(*) FROM opportunity")[0][0] == 60
        # Ids continue after the explicit ones (sequences were moved on PostgreSQL).
        lead = Lead(
            name="新线索",
            name_key="新线索",
            phone="+8613800000000",
            phone_suffix="0000",
            channel="sem",
        )
        session.add(lead)
        session.commit()
        assert lead.id == rows(session, "SELECT MAX(id) FROM lead")[0][0] > 50
