"""A lead import landing its new opportunities in a chosen pool: the pool must be in the
importer's scope, each landed opportunity gets one flow event, rows with an owner stay
owned, and a pool serving one business line makes the rows of other lines bad rows."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from crm_core.circulation.pool import list_pool
from crm_core.circulation.pools import COMPANY_POOL
from crm_core.imports.leads import ImportOptions, guess_columns, preview_import, run_import
from crm_core.imports.tabular import read_table
from crm_core.models import AuditLog, BusinessLine, FlowEvent, Opportunity
from crm_core.platform.errors import ValidationError
from tests.factories import build_small_company

HEADER = ["姓名", "手机号", "渠道", "业务线", "负责人"]


@pytest.fixture
def company(db):
    return build_small_company(db)


def frame_of(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return read_table(out.getvalue().encode(), "leads.csv")


def options(frame, **more) -> ImportOptions:
    return ImportOptions(mapping=guess_columns(frame.columns), **more)


ROWS = [
    ["王芳", "13800001111", "搜索广告", "kaoyan", ""],
    ["李雷", "13800002222", "搜索广告", "kaoyan", ""],
    ["韩梅", "13800003333", "搜索广告", "kaoyan", "rep_a1"],
]


def test_the_new_opportunities_land_in_the_chosen_pool(db, company):
    frame = frame_of(ROWS)
    manager = company.actor(db, "bj_manager")
    team_b = company.units["team_b"].id
    report = run_import(db, manager, frame, options(frame, pool=team_b))
    assert report.counts["created"] == 3
    opportunities = db.exec(select(Opportunity).order_by(Opportunity.lead_id)).all()
    states = [(o.pool_state, o.org_unit_id) for o in opportunities]
    assert states == [
        ("public", team_b),
        ("public", team_b),
        ("owned", company.units["team_a"].id),  # the row names its owner
    ]
    landed = db.exec(
        select(FlowEvent).where(FlowEvent.reason == "return", FlowEvent.note == "import")
    ).all()
    assert sorted(e.opportunity_id for e in landed) == [o.id for o in opportunities[:2]]
    assert all((e.from_state, e.to_state) == ("unassigned", "public") for e in landed)
    pool = list_pool(db, company.actor(db, "rep_b1"))
    assert len(pool) == 2
    entry = db.get(AuditLog, report.import_id)
    assert entry.after["pooled"] == 2 and entry.after["pool"] == "Team B"


def test_a_pool_outside_the_importer_scope_refuses_the_file(db, company):
    frame = frame_of(ROWS[:1])
    manager = company.actor(db, "bj_manager")
    with pytest.raises(ValidationError) as refused:
        preview_import(db, manager, frame, options(frame, pool=company.units["team_c"].id))
    assert refused.value.params == {"unit": company.units["team_c"].id}
    with pytest.raises(ValidationError):
        preview_import(db, manager, frame, options(frame, pool=COMPANY_POOL))
    assert db.exec(select(Opportunity)).all() == []


def test_the_company_pool_for_a_company_wide_importer(db, company):
    frame = frame_of(ROWS[:2])
    run_import(db, company.actor(db, "admin"), frame, options(frame, pool=COMPANY_POOL))
    states = db.exec(select(Opportunity.pool_state, Opportunity.org_unit_id)).all()
    assert sorted(states) == [("public", None), ("public", None)]


def test_without_a_pool_the_import_waits_for_dispatch_as_before(db, company):
    frame = frame_of(ROWS[:2])
    run_import(db, company.actor(db, "admin"), frame, options(frame))
    states = db.exec(select(Opportunity.pool_state)).all()
    assert states == ["unassigned", "unassigned"]


def test_a_line_bound_pool_makes_rows_of_other_lines_bad(db, company):
    other = BusinessLine(code="ielts", name="IELTS")
    db.add(other)
    team_b = company.units["team_b"]
    db.flush()
    team_b.business_line_id = other.id
    db.add(team_b)
    db.commit()
    frame = frame_of([ROWS[0], ["赵六", "13800004444", "搜索广告", "ielts", ""]])
    report = preview_import(db, company.actor(db, "admin"), frame, options(frame, pool=team_b.id))
    assert report.counts["created"] == 1
    [bad] = report.issues
    assert (bad.row, bad.column) == (2, "业务线")
    assert bad.params["unit"] == "Team B"
