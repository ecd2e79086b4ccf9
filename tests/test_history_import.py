"""The history import: the Maven CRM data set (../shared/datasets, with its quirks) imports
with its team file, and the dashboards then show its known figures - win rate 63.15%, won
value 10,005,534, and per regional office, manager and agent what pandas computes on the
raw files; re-importing adds nothing; bad rows are reported with row, column and reason;
owners and teams map to existing users and units; permissions."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import func, select

from crm_core.analytics import DashboardFilter, funnel, performance
from crm_core.imports.history import (
    HistoryOptions,
    guess_columns,
    guess_team_columns,
    list_history_imports,
    preview_history,
    run_history_import,
)
from crm_core.imports.tabular import read_table
from crm_core.models import FlowEvent, Opportunity, OrgUnit, SalesOrder, StageHistory, User
from crm_core.org.access import load_actor
from crm_core.org.users import create_user
from crm_core.platform.errors import PermissionDenied
from crm_core.platform.i18n import NC_, translate
from tests.factories import PASSWORD, SYSTEM, build_small_company


def in_company(*day: int) -> datetime:
    """The instant a file's date in company time (Asia/Shanghai, +8) is stored as."""
    return datetime(*day) - timedelta(hours=8)


# The project's shared folder sits beside the checkout (CRM_SHARED_DIR points elsewhere).
MAVEN = (
    Path(os.environ.get("CRM_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
    / "datasets"
    / "maven_crm_sales_opportunities"
)
needs_maven = pytest.mark.skipif(
    not (MAVEN / "sales_pipeline.csv").is_file(),
    reason=f"the Maven data set is not at {MAVEN} (set CRM_SHARED_DIR to the shared folder)",
)
EVERYTHING = DashboardFilter()


def maven_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    pipeline = MAVEN / "sales_pipeline.csv"
    teams = MAVEN / "sales_teams.csv"
    return (
        read_table(pipeline.read_bytes(), pipeline.name),
        read_table(teams.read_bytes(), teams.name),
    )


def maven_options(company, **changes) -> HistoryOptions:
    pipeline, teams = maven_frames()
    values = dict(
        mapping=guess_columns(pipeline.columns),
        team_mapping=guess_team_columns(teams.columns),
        business_line_id=company.line.id,
        parent_unit_id=company.units["hq"].id,
        create_missing=True,
    )
    values.update(changes)
    return HistoryOptions(**values)


@pytest.fixture
def maven(db):
    company = build_small_company(db)
    pipeline, teams = maven_frames()
    report = run_history_import(
        db, company.actor(db, "admin"), pipeline, teams, maven_options(company)
    )
    return company, report


@pytest.fixture(scope="module")
def expected() -> dict:
    """The figures, computed with pandas on the raw files."""
    pipeline = pd.read_csv(MAVEN / "sales_pipeline.csv")
    teams = pd.read_csv(MAVEN / "sales_teams.csv")
    deals = pipeline.merge(teams, on="sales_agent", how="left")
    closed = deals[deals.deal_stage.isin(["Won", "Lost"])]

    def figures(by: str) -> dict:
        won = closed[closed.deal_stage == "Won"].groupby(by)
        lost = closed[closed.deal_stage == "Lost"].groupby(by).size()
        return {
            name: (int(n), int(lost.get(name, 0)), Decimal(int(value)))
            for name, n, value in zip(
                won.size().index, won.size(), won.close_value.sum(), strict=True
            )
        }

    won = int((closed.deal_stage == "Won").sum())
    return {
        "win_rate": won / len(closed),
        "won_value": Decimal(int(closed[closed.deal_stage == "Won"].close_value.sum())),
        "rows": len(pipeline),
        "won": won,
        "office": figures("regional_office"),
        "manager": figures("manager"),
        "agent": figures("sales_agent"),
    }


@needs_maven
def test_the_maven_preview_reads_every_row_with_its_quirks(db):
    company = build_small_company(db)
    pipeline, teams = maven_frames()
    report = preview_history(
        db, company.actor(db, "admin"), pipeline, teams, maven_options(company)
    )
    assert (report.total_rows, report.to_import, report.rejected) == (8800, 8800, 0)
    assert report.by_stage == {"new": 500, "qualified": 1589, "won": 4238, "lost": 2473}
    assert report.won_value == Decimal("10005534")
    # Three offices under HQ, six managers' teams; the 30 agents with deals become users.
    assert sorted(name for name, parent in report.new_units if parent == "HQ") == [
        "Central",
        "East",
        "West",
    ]
    assert len(report.new_units) == 9 and len(report.new_users) == 30
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == 0


@needs_maven
def test_the_dashboards_show_the_known_maven_figures(db, maven, expected):
    company, report = maven
    assert report.imported == expected["rows"] == 8800
    admin = company.actor(db, "admin")
    total = performance(db, admin, EVERYTHING).total
    assert round(total.win_rate * 100, 2) == 63.15
    assert total.win_rate == pytest.approx(expected["win_rate"])
    assert total.revenue == expected["won_value"] == Decimal("10005534")
    assert total.won == expected["won"]

    offices = performance(db, admin, EVERYTHING).units
    by_office = {r.label: (r.won, r.lost, r.revenue) for r in offices if r.revenue}
    assert by_office == expected["office"]
    by_manager = {}
    for office in offices:
        if office.label in expected["office"]:
            drill = performance(db, admin, EVERYTHING.with_changes(unit_id=office.key))
            by_manager.update({r.label: (r.won, r.lost, r.revenue) for r in drill.units})
    assert by_manager == expected["manager"]
    by_agent = {
        r.label: (r.won, r.lost, r.revenue) for r in performance(db, admin, EVERYTHING).reps
    }
    assert by_agent == expected["agent"]

    steps = funnel(db, admin, EVERYTHING)
    assert steps.total == 8800 and steps.won == expected["won"] and steps.lost == 2473


@needs_maven
def test_a_manager_of_an_office_sees_that_office_only(db, maven, expected):
    company, _ = maven
    central = db.exec(select(OrgUnit).where(OrgUnit.name == "Central")).one()
    admin = company.actor(db, "admin")
    create_user(
        db,
        SYSTEM,
        username="central.boss",
        full_name="Central Boss",
        employee_no="C1",
        password=PASSWORD,
        org_unit_id=central.id,
        role_codes=["sales_manager"],
    )
    db.commit()
    user = db.exec(select(User).where(User.username == "central.boss")).one()
    seen = performance(db, load_actor(db, user.id), EVERYTHING).total
    won, lost, value = expected["office"]["Central"]
    assert (seen.won, seen.lost, seen.revenue) == (won, lost, value)
    assert performance(db, admin, EVERYTHING).total.revenue == expected["won_value"]


@needs_maven
def test_reimporting_adds_nothing(db, maven):
    company, _ = maven
    pipeline, teams = maven_frames()
    again = run_history_import(
        db, company.actor(db, "admin"), pipeline, teams, maven_options(company)
    )
    assert (again.imported, again.already_imported, again.new_users) == (0, 8800, [])
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == 8800
    assert db.exec(select(func.count()).select_from(OrgUnit)).one() == 6 + 9
    runs = list_history_imports(db, company.actor(db, "admin"))
    # A run's record is its audit entry (the engine's run list).
    assert [(r.counts["imported"], r.counts["already_imported"]) for r in runs] == [
        (0, 8800),
        (8800, 0),
    ]


@needs_maven
def test_imported_rows_are_consistent_with_the_product(db, maven):
    company, _ = maven
    won = db.exec(select(Opportunity).where(Opportunity.external_id == "history:1C1I7A6R")).one()
    moses = db.exec(select(User).where(User.full_name == "Moses Frase")).one()
    assert (won.stage, won.pool_state, won.owner_id) == ("won", "closed", moses.id)
    # The file's dates are company time (Asia/Shanghai): stored as their instants.
    assert won.created_at == in_company(2016, 10, 20) and won.closed_at == in_company(2017, 3, 1)
    history = db.exec(
        select(StageHistory.to_stage, StageHistory.changed_at)
        .where(StageHistory.opportunity_id == won.id)
        .order_by(StageHistory.changed_at)
    ).all()
    assert history == [("new", in_company(2016, 10, 20)), ("won", in_company(2017, 3, 1))]
    order = db.exec(select(SalesOrder).where(SalesOrder.opportunity_id == won.id)).one()
    team = db.get(OrgUnit, moses.org_unit_id)
    assert (order.status, order.amount, order.paid_at) == ("paid", Decimal("1054"), won.closed_at)
    assert (order.attributed_owner_id, order.attributed_unit_id, order.attributed_org_path) == (
        moses.id,
        team.id,
        team.path,
    )
    assert team.name == "Dustin Brinkmann"
    flows = db.exec(
        select(FlowEvent.to_state, FlowEvent.reason)
        .where(FlowEvent.opportunity_id == won.id)
        .order_by(FlowEvent.at)
    ).all()
    assert flows == [("owned", "intake"), ("closed", "won")]
    # Imported agents are resigned, disabled accounts: they own their past, never sign in.
    assert (moses.status, moses.enabled) == ("resigned", False)
    engaging = db.exec(
        select(Opportunity).where(Opportunity.external_id == "history:HAXMC4IX")
    ).one()
    # Its agent is no user: the open deal goes to the pool (the default), not to a resigned
    # account made up for it; the agent's closed deals stay theirs.
    assert (engaging.stage, engaging.pool_state, engaging.owner_id) == ("qualified", "public", None)
    assert won.lead_id != engaging.lead_id


BAD = """商机编号,负责人,阶段,创建时间,关闭时间,成交金额,客户
A1,Rep A1,Won,2025-01-02,2025-02-01,"1,200",Acme
A2,rep_a2,Lost,2025-01-03,2025-01-20,,
A3,Rep A1,Engaging,2025-01-04,,,Beta
,Rep A1,Won,2025-01-05,2025-02-01,10,
A5,Rep A1,Negotiating,2025-01-05,,,
A6,Rep A1,Won,2025-13-05,2025-02-01,10,
A7,Rep A1,Won,2025-01-05,,10,
A8,Rep A1,Won,2025-01-05,2025-02-01,,
A1,Rep A1,Lost,2025-01-05,2025-02-01,,
A10,Nobody Known,Lost,2025-01-05,2025-02-01,,
A11,Rep A1,Won,2025-03-05,2025-02-01,5,
"""


def bad_file():
    return read_table(BAD.encode("utf-8"), "history.csv")


def test_bad_rows_are_reported_and_good_rows_map_to_existing_people(db):
    company = build_small_company(db)
    frame = bad_file()
    mapping = guess_columns(frame.columns)
    assert {field: column for field, column in mapping.items() if column} == {
        "external_id": translate("Opportunity id", "zh"),
        "owner": translate("Head", "zh"),
        "stage": translate("Stage", "zh"),
        "created_at": translate(NC_("dash.col", "Created"), "zh"),
        "closed_at": translate("Closed", "zh"),
        "amount": translate("Closed value", "zh"),
        "name": translate("Customer", "zh"),
    }
    options = HistoryOptions(mapping=mapping, business_line_id=company.line.id)
    manager = company.actor(db, "bj_manager")
    report = preview_history(db, manager, frame, None, options)
    revenue = "A won opportunity brings revenue: importing it needs the right to record payments."
    assert [(i.row, i.column, i.reason) for i in report.issues] == [
        # A sales manager may not record payments, so the file's wins are not theirs to bring.
        (2, translate("Stage", "zh"), revenue),
        (5, translate("Opportunity id", "zh"), "No opportunity id."),
        # A stage value no option reads as, remembered or chosen: a bad row (value mapping).
        (6, translate("Stage", "zh"), "{value} is not mapped onto a stage."),
        (7, translate(NC_("dash.col", "Created"), "zh"), "Not a date: {value}."),
        (8, translate("Stage", "zh"), revenue),
        (9, translate("Stage", "zh"), revenue),
        (10, translate("Opportunity id", "zh"), "The same id as row {first}."),
        (11, translate("Head", "zh"), "No user called {owner}."),
        (12, translate("Stage", "zh"), revenue),
    ]
    assert report.issues[2].params == {"value": "Negotiating"}
    assert report.issues[6].params == {"first": 2}
    assert report.warnings == []

    admin = company.actor(db, "admin")
    report = preview_history(db, admin, frame, None, options)
    assert [i.row for i in report.issues] == [5, 6, 7, 10, 11]
    # What real exports hold is kept, with a notice on the row: a win without its close date
    # takes the row's last known date, a win without an amount counts with no revenue, a
    # row closed before it was created keeps the file's dates.
    assert [(w.row, w.column, w.reason, w.params) for w in report.warnings] == [
        (
            8,
            translate("Closed", "zh"),
            "No close date: its last known date {date} is used.",
            {"date": "2025-01-05 00:00"},
        ),
        (
            9,
            translate("Closed value", "zh"),
            "A win without an amount: counted with no revenue.",
            {},
        ),
        (
            12,
            translate("Closed", "zh"),
            "Closed before it was created: the file's dates are kept.",
            {},
        ),
    ]
    refused = run_history_import(
        db,
        admin,
        frame,
        None,
        HistoryOptions(mapping=mapping, business_line_id=company.line.id, mode="all_or_nothing"),
    )
    assert refused.refused and refused.imported == 0
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == 0

    done = run_history_import(db, admin, frame, None, options)
    assert done.imported == 6
    rows = db.exec(
        select(
            Opportunity.external_id,
            Opportunity.owner_id,
            Opportunity.org_unit_id,
            Opportunity.stage,
            Opportunity.closed_at,
        ).order_by(Opportunity.id)
    ).all()
    a1, a2 = company.users["rep_a1"], company.users["rep_a2"]
    team_a = company.units["team_a"].id
    assert rows == [
        ("history:A1", a1.id, team_a, "won", in_company(2025, 2, 1)),
        ("history:A2", a2.id, team_a, "lost", in_company(2025, 1, 20)),
        ("history:A3", a1.id, team_a, "qualified", None),
        ("history:A7", a1.id, team_a, "won", in_company(2025, 1, 5)),
        ("history:A8", a1.id, team_a, "won", in_company(2025, 2, 1)),
        ("history:A11", a1.id, team_a, "won", in_company(2025, 2, 1)),
    ]
    orders = db.exec(select(SalesOrder.amount).order_by(SalesOrder.id)).all()
    assert orders == [Decimal("1200"), Decimal("10"), Decimal("0"), Decimal("5")]
    total = performance(db, manager, EVERYTHING).total
    assert (total.won, total.lost, total.revenue) == (4, 1, Decimal("1215"))


def test_teams_map_to_existing_units_and_unknown_ones_are_refused_unless_created(db):
    company = build_small_company(db)
    frame = bad_file().head(3)
    teams = read_table(b"owner,team\nRep A1,Team B\nrep_a2,Team X\n", "teams.csv")
    options = HistoryOptions(
        mapping=guess_columns(frame.columns),
        team_mapping=guess_team_columns(teams.columns),
        business_line_id=company.line.id,
        parent_unit_id=company.units["beijing"].id,
    )
    admin = company.actor(db, "admin")
    report = preview_history(db, admin, frame, teams, options)
    assert [(i.row, i.reason, i.params) for i in report.issues] == [
        (3, "No unit called {team}.", {"team": "Team X"})
    ]
    created = run_history_import(
        db, admin, frame, teams, HistoryOptions(**{**options.__dict__, "create_missing": True})
    )
    assert created.new_units == [("Team X", "Beijing")] and created.imported == 3
    order = db.exec(select(SalesOrder)).one()  # A1 (the others of the head are no wins)
    # Attributed to the team the file names for the deal, not where Rep A1 sits now.
    assert order.attributed_unit_id == company.units["team_b"].id


def test_permissions(db):
    company = build_small_company(db)
    frame = bad_file()
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)
    with pytest.raises(PermissionDenied):
        preview_history(db, company.actor(db, "rep_a1"), frame, None, options)
    with pytest.raises(PermissionDenied):
        preview_history(db, company.actor(db, "boss"), frame, None, options)


@needs_maven
def test_maven_quarters_stay_right_in_a_us_zone(db, expected):
    from datetime import date

    from crm_core.platform.settings import set_setting

    company = build_small_company(db)
    set_setting(db, SYSTEM, "company.time_zone", "America/New_York")
    db.commit()
    pipeline, teams = maven_frames()
    admin = company.actor(db, "admin")
    run_history_import(db, admin, pipeline, teams, maven_options(company))
    raw = pd.read_csv(MAVEN / "sales_pipeline.csv")
    won = raw[raw.deal_stage == "Won"].assign(q=pd.to_datetime(raw.close_date).dt.to_period("Q"))
    for quarter, deals in won.groupby("q"):
        start, end = quarter.start_time.date(), quarter.end_time.date()
        seen = performance(db, admin, DashboardFilter(start=start, end=end)).total
        assert (seen.won, seen.revenue) == (len(deals), Decimal(int(deals.close_value.sum())))
    assert isinstance(start, date)
