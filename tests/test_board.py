"""The opportunity board: columns with counts and amounts, the filtered, sorted, paged list,
and scope."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_core.models import Lead
from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.sales.board import BoardFilter, board_columns, count_board, list_board
from tests.factories import build_small_company, owned_with

NOW = datetime(2026, 12, 15, 4, 0)  # 12:00 local on the 15th


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def ids(rows) -> list[int]:
    return [r.opportunity_id for r in rows]


def test_columns_count_and_sum_per_stage(db, company):
    owned_with(db, company, "rep_a1", 1, stage="qualified", amount=Decimal(100))
    owned_with(db, company, "rep_a1", 2, stage="qualified", amount=Decimal(20))
    owned_with(db, company, "rep_a1", 3, stage="trial_done")
    owned_with(
        db,
        company,
        "rep_a1",
        4,
        stage="won",
        pool_state="closed",
        amount=Decimal(500),
        closed_at=NOW - timedelta(days=3),
    )
    owned_with(
        db,
        company,
        "rep_a1",
        5,
        stage="won",
        pool_state="closed",
        amount=Decimal(700),
        closed_at=NOW - timedelta(days=30),
    )  # last month: off the board
    owned_with(db, company, "rep_a1", 6, stage="qualified", pool_state="public")  # not owned
    columns = {c.stage: c for c in board_columns(db, company.actor(db, "rep_a1"))}
    assert list(columns) == [
        "new",
        "contacted",
        "qualified",
        "trial_booked",
        "trial_done",
        "won",
        "lost",
    ]
    assert (columns["qualified"].count, columns["qualified"].amount) == (2, Decimal(120))
    assert len(columns["qualified"].cards) == 2
    assert (columns["trial_done"].count, columns["new"].count) == (1, 0)
    assert (columns["won"].count, columns["won"].amount) == (1, Decimal(500))
    # The list of a closed stage holds every one, whenever it closed.
    assert count_board(db, company.actor(db, "rep_a1"), BoardFilter(stage="won")) == 2


def test_the_month_is_the_company_month(db, company):
    # 1 Dec 02:00 local = 30 Nov 18:00 UTC: this month in company time.
    owned_with(
        db,
        company,
        "rep_a1",
        1,
        stage="lost",
        pool_state="closed",
        closed_at=datetime(2026, 11, 30, 18, 0),
    )
    owned_with(
        db,
        company,
        "rep_a1",
        2,
        stage="lost",
        pool_state="closed",
        closed_at=datetime(2026, 11, 30, 15, 0),
    )  # 23:00 local on 30 Nov
    lost = [c for c in board_columns(db, company.actor(db, "rep_a1")) if c.stage == "lost"][0]
    assert lost.count == 1


def test_filters_combine(db, company):
    a = owned_with(
        db, company, "rep_a1", 1, intention_level="A", next_follow_up_at=NOW - timedelta(hours=1)
    )
    b = owned_with(
        db, company, "rep_a1", 2, intention_level="B", next_follow_up_at=NOW + timedelta(hours=2)
    )
    c = owned_with(
        db, company, "rep_a1", 3, intention_level="A", next_follow_up_at=NOW + timedelta(days=3)
    )
    d = owned_with(db, company, "rep_a1", 4, pipeline_type="renewal")
    lead = db.get(Lead, c.lead_id)
    lead.channel, lead.name, lead.name_key = "chat", "Zhang San", "zhang san"
    db.add(lead)
    db.commit()
    rep = company.actor(db, "rep_a1")

    def found(**f):
        return sorted(ids(list_board(db, rep, BoardFilter(**f))))

    assert found(intention_level="A") == sorted([a.id, c.id])
    assert found(next_follow_up="overdue") == [a.id]
    assert found(next_follow_up="today") == [b.id]
    assert found(next_follow_up="week") == sorted([b.id, c.id])
    assert found(next_follow_up="none") == [d.id]
    assert found(channel="chat") == [c.id]
    assert found(name="zhang") == [c.id]
    assert found(pipeline_type="renewal") == [d.id]
    assert found(intention_level="A", channel="sem") == [a.id]
    with pytest.raises(ValidationError):
        list_board(db, rep, BoardFilter(next_follow_up="someday"))


def test_sorting_and_paging(db, company):
    rows = [
        owned_with(
            db,
            company,
            "rep_a1",
            i,
            next_follow_up_at=NOW + timedelta(hours=10 - i),
            amount=Decimal(i * 10),
        )
        for i in range(1, 6)
    ]
    rep = company.actor(db, "rep_a1")
    by_next = ids(list_board(db, rep, sort="next_follow_up"))
    assert by_next == [r.id for r in reversed(rows)]
    assert ids(list_board(db, rep, sort="amount", limit=2)) == [rows[4].id, rows[3].id]
    assert ids(list_board(db, rep, sort="amount", limit=2, offset=2)) == [rows[2].id, rows[1].id]
    assert ids(list_board(db, rep, sort="newest"))[0] == rows[4].id
    with pytest.raises(ValidationError):
        list_board(db, rep, sort="random")


def test_scope_a_rep_sees_theirs_a_manager_their_units(db, company):
    mine = owned_with(db, company, "rep_a1", 1)
    colleague = owned_with(db, company, "rep_a2", 2)
    shanghai = owned_with(db, company, "rep_c1", 3)
    assert ids(list_board(db, company.actor(db, "rep_a1"))) == [mine.id]
    manager = company.actor(db, "bj_manager")
    assert sorted(ids(list_board(db, manager))) == sorted([mine.id, colleague.id])
    assert ids(list_board(db, manager, BoardFilter(owner_id=company.users["rep_a2"].id))) == [
        colleague.id
    ]
    # Filtering by someone outside the scope finds nothing rather than their rows.
    assert list_board(db, manager, BoardFilter(owner_id=company.users["rep_c1"].id)) == []
    assert shanghai.id in ids(list_board(db, company.actor(db, "boss")))
    row = list_board(db, company.actor(db, "rep_a1"))[0]
    assert row.phone == "1****0001"  # masked for a rep
