"""The lead import's outcome, owner and close-date columns, and value mapping remembered
for the next file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.imports.leads import ImportOptions, guess_columns, preview_import, run_import
from crm_core.imports.leads.rows import UNKNOWN_OWNER, UNMAPPED_STAGE
from crm_core.imports.tabular import read_table
from crm_core.imports.value_mapping import (
    BY_CHOICE,
    BY_MEMORY,
    BY_OPTION,
    LEAVE,
    create_options_for,
    distinct_values,
    resolve_values,
)
from crm_core.models import FlowEvent, ImportValueMap, Lead, Opportunity, StageHistory
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from tests.factories import build_small_company
from tests.test_lead_import import csv_bytes

HEADER = ["Lead Number", "Source", "Status", "Owner", "Created", "Closed"]


@pytest.fixture
def company(db):
    return build_small_company(db)


def _import(db, actor, rows, *, run=True, **extra):
    frame = read_table(csv_bytes(rows, HEADER), "crm.csv")
    options = ImportOptions(
        mapping=guess_columns(frame.columns),
        default_line_codes=("kaoyan",),
        time_zone="Asia/Shanghai",
        **extra,
    )
    return (run_import if run else preview_import)(db, actor, frame, options)


def test_distinct_values_fold_case_width_and_spaces():
    values = distinct_values(
        ["Google", "google", "ＧＯＯＧＬＥ", "Olark  Chat", "olark chat", None]
    )
    assert [(v.value, v.key, v.rows) for v in values] == [
        ("Google", "google", 3),
        ("Olark  Chat", "olark chat", 2),
    ]


def test_values_resolve_by_choice_memory_or_option(db, company):
    values = distinct_values(["SEO", "Baidu", "抖音", "sem"])
    db.add(ImportValueMap(kind="leads", category="channel", source_key="baidu", option_code="sem"))
    db.flush()
    resolved = {
        r.key: (r.code, r.how)
        for r in resolve_values(db, "leads", "channel", values, {"sem": LEAVE})
    }
    assert resolved == {
        "seo": ("seo", BY_OPTION),
        "baidu": ("sem", BY_MEMORY),
        "抖音": (None, None),
        "sem": (None, BY_CHOICE),
    }


def test_creating_options_needs_metadata_rights(db, company):
    with pytest.raises(PermissionDenied):
        create_options_for(db, company.actor(db, "rep_a1"), "channel", ["抖音"])
    made = create_options_for(db, company.actor(db, "admin"), "channel", ["抖音", "抖音 "])
    assert list(made) == ["抖音"]


def test_stage_owner_and_close_date_go_onto_the_opportunity(db, company):
    admin = company.actor(db, "admin")
    rows = [
        ["1001", "sem", "Won", "rep_a1", "2025-03-01 10:00", "2025-03-09"],
        ["1002", "sem", "qualified", "REP A2", "2025-03-02", ""],
        ["1003", "seo", "lost", "", "2025-03-03", "-"],
        ["1004", "Select", "Select", "N/A", "2025-03-04", ""],
    ]
    report = _import(db, admin, rows, default_channel="import")
    assert report.issues == [] and report.counts["created"] == 4
    opp = {
        lead.external_id: db.exec(select(Opportunity).where(Opportunity.lead_id == lead.id)).one()
        for lead in db.exec(select(Lead)).all()
    }
    won = opp["1001"]
    assert (won.stage, won.pool_state, won.owner_id) == (
        "won",
        "closed",
        company.users["rep_a1"].id,
    )
    assert won.closed_at == datetime(2025, 3, 8, 16, 0)  # midnight in Shanghai
    assert won.created_at == datetime(2025, 3, 1, 2, 0)
    assert won.furthest_stage == "new"  # the win proves no stage between
    history = db.exec(
        select(StageHistory.to_stage).where(StageHistory.opportunity_id == won.id)
    ).all()
    assert sorted(history) == ["new", "won"]
    qualified = opp["1002"]  # the full name, in any case
    assert (qualified.stage, qualified.pool_state, qualified.owner_id) == (
        "qualified",
        "owned",
        company.users["rep_a2"].id,
    )
    assert qualified.org_unit_id == company.units["team_a"].id
    lost = opp["1003"]  # no close date: closed at its first contact
    assert (lost.stage, lost.pool_state, lost.closed_at) == ("lost", "closed", lost.created_at)
    blank = opp["1004"]  # placeholders are blanks, in option columns too
    assert (blank.stage, blank.pool_state, blank.owner_id) == ("new", "unassigned", None)
    assert db.exec(select(Lead.channel).where(Lead.external_id == "1004")).one() == "import"
    reasons = set(db.exec(select(FlowEvent.reason).where(FlowEvent.opportunity_id == won.id)))
    assert reasons == {"intake", "won"}


def test_unknown_values_owners_and_future_closes_are_bad_rows(db, company):
    manager = company.actor(db, "bj_manager")
    future = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%d")
    rows = [
        ["2001", "sem", "Signed", "rep_a1", "2025-03-01", ""],
        ["2002", "sem", "won", "rep_c1", "2025-03-01", ""],  # outside Beijing's reach
        ["2003", "sem", "won", "nobody", "2025-03-01", ""],
        ["2004", "sem", "won", "rep_a1", "2025-03-01", future],
    ]
    report = _import(db, manager, rows, run=False)
    assert [(i.row, i.column, i.reason) for i in report.issues] == [
        (2, "Status", UNMAPPED_STAGE),
        (3, "Owner", UNKNOWN_OWNER),
        (4, "Owner", UNKNOWN_OWNER),
        (5, "Closed", "The close date lies in the future."),
    ]
    # Mapped by the user, `Signed` reads as won, and the choice is remembered on the run.
    rows = [["2001", "sem", "Signed", "rep_a1", "2025-03-01", ""]]
    report = _import(db, manager, rows, value_choices={"stage": {"signed": "won"}})
    assert report.issues == [] and report.closed == {"won": 1}
    again = _import(db, manager, [["2009", "sem", "SIGNED", "", "2025-03-02", ""]], run=False)
    assert again.issues == [] and again.closed == {"won": 1}
