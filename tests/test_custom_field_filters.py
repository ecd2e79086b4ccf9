"""Custom-field filters at every shape the match count can choose (by key, a hashed set, per
row; counted from the value rows or over the leads): the lead library and the board find the
same rows as the plain semi-join, within each reader's reach, merged leads left out; and a
merge carries the merged lead's values to the kept lead."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from crm_core.custom_fields import filters
from crm_core.custom_fields.definitions import ChoiceDraft, define_field
from crm_core.custom_fields.filters import condition
from crm_core.custom_fields.values import values_for, write_values
from crm_core.leads import search
from crm_core.leads.merge import merge_leads
from crm_core.leads.search import LeadFilter, count_matching, lead_conditions, search_leads
from crm_core.models import AuditLog, Lead, LeadFieldValue
from crm_core.platform import clock
from crm_core.sales import board
from crm_core.sales.board import BoardFilter, count_board, list_board
from tests.factories import add_owned_opportunity, build_small_company

T0 = datetime(2026, 3, 2, 9, 0)
LEVELS = [ChoiceDraft("Bachelor", "本科", "bachelor"), ChoiceDraft("Master", "硕士", "master")]
SUBJECTS = [ChoiceDraft("Math", "数学", "math"), ChoiceDraft("English", "英语", "english")]
# Which shape each setting forces: (FEW, the lead library's and the board's count cap).
SHAPES = {"ids": (10_000, 10_000), "set": (0, 10_000), "per_row": (0, 1)}
READERS = ("admin", "rep_a1", "lead_a", "bj_manager", "rep_c1")


@pytest.fixture
def world(db):
    clock.freeze(T0)
    company = build_small_company(db)
    admin = company.actor(db, "admin")
    fields = {
        "budget": define_field(db, admin, "lead", label_en="Budget", kind="number"),
        "degree": define_field(db, admin, "lead", label_en="Degree", kind="choice", choices=LEVELS),
        "subjects": define_field(
            db, admin, "lead", label_en="Subjects", kind="multi_choice", choices=SUBJECTS
        ),
        "event": define_field(db, admin, "opportunity", label_en="Event", kind="text"),
    }
    owners = ["rep_a1", "rep_a2", "rep_b1", "rep_c1"] * 4
    opps = []
    for i, owner in enumerate(owners, start=1):
        clock.freeze(T0 + timedelta(minutes=i))  # distinct creation times: a stable order
        opps.append(add_owned_opportunity(db, company, owner, i))
    clock.freeze(T0 + timedelta(hours=1))
    leads = [o.lead_id for o in opps]
    write_values(
        db,
        "lead",
        {
            lead: {
                fields["budget"].id: float(10 * (i % 5)),
                fields["degree"].id: "master" if i % 3 else "bachelor",
                **({fields["subjects"].id: ("math", "english")[: 1 + i % 2]} if i % 4 else {}),
            }
            for i, lead in enumerate(leads)
        },
    )
    write_values(db, "opportunity", {o.id: {fields["event"].id: "Expo"} for o in opps[::3]})
    db.commit()
    # A merged lead keeps the values the kept lead did not take: no filter finds it.
    merge_leads(db, admin, leads[1], leads[5])
    db.commit()
    return company, fields, leads


def _force(monkeypatch, shape: str) -> None:
    few, cap = SHAPES[shape]
    monkeypatch.setattr(filters, "FEW", few)
    monkeypatch.setattr(search, "COUNT_CAP", cap)
    monkeypatch.setattr(board, "COUNT_CAP", cap)


def _conditions(fields) -> list:
    return [
        condition(fields["budget"], "between", (10, 30)),
        condition(fields["budget"], "between", (None, 0)),
        condition(fields["degree"], "any_of", ("master",)),
        condition(fields["subjects"], "any_of", ("english",)),
        condition(fields["subjects"], "any_of", ("math", "english")),
    ]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_library_finds_the_same_leads_in_every_shape(db, world, monkeypatch, shape):
    company, fields, leads = world
    expected = {}
    for reader in READERS:
        actor = company.actor(db, reader)
        for made in _conditions(fields):
            lead_filter = LeadFilter(custom=(made,))
            # The plain semi-join over the leads, the reader's scope as it always was.
            expected[reader, made] = list(
                db.exec(
                    select(Lead.id)
                    .where(*lead_conditions(actor, lead_filter))
                    .order_by(col(Lead.created_at), col(Lead.id))
                ).all()
            )
    assert expected["admin", _conditions(fields)[2]], "the data must hold matches"
    assert leads[5] not in expected["admin", _conditions(fields)[0]]
    _force(monkeypatch, shape)
    cap = SHAPES[shape][1]
    for (reader, made), ids in expected.items():
        actor = company.actor(db, reader)
        for extra in ({}, {"channel": "sem"}):  # alone, and beside another criterion
            lead_filter = LeadFilter(custom=(made,), **extra)
            found = search_leads(db, actor, lead_filter, sort="oldest", page_size=200)
            assert [r.id for r in found.rows] == ids, (reader, made, extra)
            assert (found.total, found.total_capped) == (min(len(ids), cap), len(ids) > cap)
            assert count_matching(db, actor, lead_filter, cap=cap) == (
                min(len(ids), cap),
                len(ids) > cap,
            )
            newest = search_leads(db, actor, lead_filter, page_size=3)
            assert [r.id for r in newest.rows] == ids[::-1][:3]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_board_pages_the_same_opportunities_in_every_shape(db, world, monkeypatch, shape):
    company, fields, leads = world
    tests = [*_conditions(fields), condition(fields["event"], "contains", "exp")]
    expected, columns = {}, {}
    for reader in READERS:
        actor = company.actor(db, reader)
        for made in tests:
            f = BoardFilter(custom=(made,))
            rows = list_board(db, actor, f, sort="newest", limit=200)
            expected[reader, made] = [r.opportunity_id for r in rows]
            columns[reader, made] = [
                (c.stage, c.count, [r.opportunity_id for r in c.cards])
                for c in board.board_columns(db, actor, f, cards=2, sort="newest")
            ]
    _force(monkeypatch, shape)
    for (reader, made), ids in expected.items():
        actor = company.actor(db, reader)
        f = BoardFilter(custom=(made,))
        rows = list_board(db, actor, f, sort="newest", limit=200)
        assert [r.opportunity_id for r in rows] == ids, (reader, made)
        paged = list_board(db, actor, f, sort="newest", limit=2, offset=1)
        assert [r.opportunity_id for r in paged] == ids[1:3]
        # The board counts up to one past its cap ("10,000+").
        assert count_board(db, actor, f) == min(len(ids), SHAPES[shape][1] + 1)
        assert [
            (c.stage, c.count, [r.opportunity_id for r in c.cards])
            for c in board.board_columns(db, actor, f, cards=2, sort="newest")
        ] == columns[reader, made]
    # The expected lists are what each reader holds: checked once against the data.
    admin_budget = expected["admin", tests[0]]
    held = {
        lead
        for lead, value in db.exec(
            select(LeadFieldValue.lead_id, LeadFieldValue.number_value).where(
                LeadFieldValue.field_id == fields["budget"].id
            )
        ).all()
        if 10 <= value <= 30
    }
    rows = list_board(db, company.actor(db, "admin"), BoardFilter(), sort="newest", limit=200)
    assert admin_budget == [r.opportunity_id for r in rows if r.lead_id in held]
    assert expected["rep_c1", tests[0]] == [
        r.opportunity_id
        for r in rows
        if r.lead_id in held and r.owner_id == company.users["rep_c1"].id
    ]


def test_a_merge_carries_the_merged_leads_values_to_the_kept_lead(db, world):
    company, fields, leads = world
    admin = company.actor(db, "admin")
    budget, degree, subjects = fields["budget"], fields["degree"], fields["subjects"]
    keep, gone = add_owned_opportunity(db, company, "rep_a1", 90).lead_id, leads[8]
    write_values(db, "lead", {keep: {degree.id: "bachelor"}})
    write_values(
        db, "lead", {gone: {budget.id: 75.0, degree.id: "master", subjects.id: ("math", "english")}}
    )
    db.commit()
    result = merge_leads(db, admin, keep, gone)
    db.commit()
    assert result.moved_fields == 2
    # The kept lead's own choice stands; the number and both codes come over.
    assert values_for(db, admin, "lead", [keep])[keep] == {
        "budget": 75.0,
        "degree": "bachelor",
        "subjects": ("math", "english"),
    }
    # The value it did not take stays on the merged lead's row, which no filter finds.
    left = db.exec(select(LeadFieldValue.field_id).where(LeadFieldValue.lead_id == gone)).all()
    assert list(left) == [degree.id]
    masters = search_leads(
        db, admin, LeadFilter(custom=(condition(degree, "any_of", ("master",)),))
    )
    assert gone not in {r.id for r in masters.rows} and keep not in {r.id for r in masters.rows}
    found = search_leads(db, admin, LeadFilter(custom=(condition(budget, "between", (75, 75)),)))
    assert [r.id for r in found.rows] == [keep]
    entry = db.exec(
        select(AuditLog).where(AuditLog.action == "lead.merge", AuditLog.target_id == str(keep))
    ).one()
    assert entry.after["moved_field_ids"] == sorted([budget.id, subjects.id])
    # A multi-choice field the kept lead already holds keeps the kept lead's codes (no union).
    other = add_owned_opportunity(db, company, "rep_a1", 91).lead_id
    write_values(db, "lead", {other: {subjects.id: ("english",)}})
    db.commit()
    merge_leads(db, admin, other, keep)
    db.commit()
    assert values_for(db, admin, "lead", [other])[other] == {
        "subjects": ("english",),
        "budget": 75.0,
        "degree": "bachelor",
    }
