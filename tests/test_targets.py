"""Sales targets (业绩目标): set within scope (never one's own), split with the remainder
shown, history of every change, quarterly sums, and attainment by the attribution frozen
at payment - per role."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.analytics.filters import DashboardFilter
from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment
from crm_core.commerce.products import create_product
from crm_core.models import AuditLog, Opportunity, SalesTargetChange
from crm_core.org.users import update_user
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.sales.target_attainment import (
    attainment,
    my_attainment,
    performance_targets,
)
from crm_core.sales.target_history import target_history
from crm_core.sales.targets import TargetEntry, set_target, set_targets, split_of
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

NOW = datetime(2026, 3, 4, 2, 0)  # Wednesday 10:00 in Shanghai
MARCH, APRIL, FEB = date(2026, 3, 1), date(2026, 4, 1), date(2026, 2, 1)


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    company = build_small_company(db)
    company.product = create_product(
        db,
        SYSTEM,
        business_line_id=company.line.id,
        code="P",
        name="Course",
        list_price="9000",
        course_days=30,
    )
    db.commit()
    return company


def _pay(db, company, owner: str, tail: int, amount: str, ref: str, lead_id=None) -> Opportunity:
    opp = add_owned_opportunity(db, company, owner, tail)
    if lead_id is not None:
        opp.lead_id = lead_id
        db.add(opp)
        db.commit()
    order = create_order(db, company.actor(db, owner), opp.id, company.product.id, amount)
    record_payment(db, company.actor(db, "admin"), order.id, ref)
    db.commit()
    return opp


def _unit(company, name):
    return company.units[name].id


def _user(company, name):
    return company.users[name].id


def _set(db, company, who, value, *, unit=None, user=None, metric="revenue", month=MARCH):
    outcome = set_target(
        db,
        company.actor(db, who),
        month=month,
        metric=metric,
        value=value,
        unit_id=_unit(company, unit) if unit else None,
        user_id=_user(company, user) if user else None,
    )
    db.commit()
    return outcome


def test_managers_set_targets_within_their_reach_but_never_their_own(db, company):
    assert _set(db, company, "admin", "100000", unit="beijing").created == 1
    _set(db, company, "bj_manager", "60000", unit="team_a")
    _set(db, company, "lead_a", "30000", user="rep_a1")
    # Their own unit and their own target come from the level above.
    with pytest.raises(ValidationError):
        _set(db, company, "bj_manager", "1", unit="beijing")
    with pytest.raises(ValidationError):
        _set(db, company, "lead_a", "1", unit="team_a")
    with pytest.raises(ValidationError):
        _set(db, company, "lead_a", "1", user="lead_a")
    # Outside the reach a unit or a person does not exist.
    with pytest.raises(NotFound):
        _set(db, company, "bj_manager", "1", unit="shanghai")
    with pytest.raises(NotFound):
        _set(db, company, "bj_manager", "1", user="rep_c1")
    with pytest.raises(NotFound):
        _set(db, company, "lead_a", "1", user="rep_b1")
    # A rep and an executive read targets; they set none.
    with pytest.raises(PermissionDenied):
        _set(db, company, "rep_a1", "1", user="rep_a2")
    with pytest.raises(PermissionDenied):
        _set(db, company, "boss", "1", unit="team_a")


def test_values_are_checked_per_metric(db, company):
    with pytest.raises(ValidationError):
        _set(db, company, "admin", "2.5", unit="team_a", metric="won")
    with pytest.raises(ValidationError):
        _set(db, company, "admin", "-3", unit="team_a", metric="new_students")
    with pytest.raises(ValidationError):
        _set(db, company, "admin", "abc", unit="team_a")
    with pytest.raises(ValidationError):
        _set(db, company, "admin", "1", unit="team_a", metric="charm")
    assert _set(db, company, "admin", "0", unit="team_a").created == 1
    assert _set(db, company, "admin", "12", unit="team_a", metric="won").created == 1


def test_a_split_shows_the_remainder_even_below_zero(db, company):
    _set(db, company, "admin", "100000", unit="beijing")
    _set(db, company, "admin", "20", unit="beijing", metric="won")
    manager = company.actor(db, "bj_manager")
    set_targets(
        db,
        manager,
        [
            TargetEntry(MARCH, "revenue", Decimal(60000), unit_id=_unit(company, "team_a")),
            TargetEntry(MARCH, "revenue", Decimal(50000), unit_id=_unit(company, "team_b")),
            TargetEntry(MARCH, "won", Decimal(8), unit_id=_unit(company, "team_a")),
        ],
    )
    db.commit()
    split = split_of(db, manager, _unit(company, "beijing"), MARCH)
    assert split.targets["revenue"] == Decimal(100000)
    assert split.remainder["revenue"] == Decimal(-10000)  # over-split: shown, not refused
    assert split.remainder["won"] == Decimal(12)
    assert split.remainder["new_students"] is None  # no target to split
    names = [(p.kind, p.name) for p in split.parts]
    assert ("unit", "Team A") in names and ("unit", "Team B") in names
    assert ("user", "Bj Manager") in names  # people sitting directly in Beijing
    # A team lead splits their team among its reps.
    _set(db, company, "bj_manager", "30", unit="team_a", metric="new_students")
    _set(db, company, "lead_a", "10", user="rep_a1", metric="new_students")
    team = split_of(db, company.actor(db, "lead_a"), _unit(company, "team_a"), MARCH)
    assert team.remainder["new_students"] == Decimal(20)
    assert {p.name for p in team.parts} == {"Lead A", "Rep A1", "Rep A2"}
    with pytest.raises(NotFound):
        split_of(db, manager, _unit(company, "shanghai"), MARCH)


def test_a_change_after_the_month_began_keeps_its_history_and_is_audited(db, company):
    _set(db, company, "admin", "50000", unit="team_a", month=APRIL)  # not begun yet
    _set(db, company, "admin", "60000", unit="team_a")  # March has begun
    _set(db, company, "admin", "55000", unit="team_a")
    assert _set(db, company, "admin", "55000", unit="team_a").unchanged == 1
    changes = db.exec(select(SalesTargetChange).order_by(SalesTargetChange.id)).all()
    assert [(c.old_value, c.new_value, c.late) for c in changes] == [
        (None, Decimal(50000), False),
        (None, Decimal(60000), True),
        (Decimal(60000), Decimal(55000), True),
    ]
    audit = db.exec(select(AuditLog).where(AuditLog.action == "target.set")).all()
    assert len(audit) == 3
    history = target_history(db, company.actor(db, "bj_manager"), month=MARCH)
    assert [(h.old_value, h.new_value, h.late) for h in history] == [
        (Decimal(60000), Decimal(55000), True),
        (None, Decimal(60000), True),
    ]
    assert history[0].subject_name == "Team A"
    assert target_history(db, company.actor(db, "bj_manager"), late_only=True, month=APRIL) == []
    # A rep reads the history of their own unit and their own targets only.
    _set(db, company, "admin", "1000", unit="team_c")
    rep = company.actor(db, "rep_a1")
    assert {h.subject_name for h in target_history(db, rep)} == {"Team A"}
    assert {h.subject_name for h in target_history(db, company.actor(db, "rep_c1"))} == {"Team C"}


def test_attainment_uses_the_frozen_attribution(db, company):
    _set(db, company, "admin", "100000", unit="beijing")
    _set(db, company, "admin", "40000", unit="team_a")
    _set(db, company, "lead_a", "20000", user="rep_a2")
    _set(db, company, "lead_a", "2", user="rep_a2", metric="new_students")
    _set(db, company, "lead_a", "3", user="rep_a2", metric="won")
    # rep_a1's student first paid in February; paying again in March is no new student.
    clock.freeze(datetime(2026, 2, 10, 2, 0))
    first = _pay(db, company, "rep_a1", 1, "9000", "PAY-FEB")
    clock.freeze(NOW)
    _pay(db, company, "rep_a1", 2, "9000", "PAY-MAR-1", lead_id=first.lead_id)
    _pay(db, company, "rep_a2", 3, "8500", "PAY-MAR-2")
    _pay(db, company, "rep_c1", 4, "9000", "PAY-MAR-3")
    # rep_a2 moves to Team B afterwards: March's revenue stays with Team A.
    update_user(db, SYSTEM, _user(company, "rep_a2"), org_unit_id=_unit(company, "team_b"))
    db.commit()

    result = attainment(db, company.actor(db, "bj_manager"), MARCH)
    units = {r.name: r.figures for r in result.units}
    assert set(units) == {"Beijing", "Team A", "Team B"}
    assert units["Beijing"]["revenue"].actual == Decimal(17500)
    assert units["Beijing"]["revenue"].share == pytest.approx(0.175)
    assert units["Team A"]["revenue"].actual == Decimal(17500)
    assert units["Team A"]["won"].actual == Decimal(2)
    assert units["Team A"]["new_students"].actual == Decimal(1)
    assert units["Team B"]["revenue"].actual == Decimal(0)
    assert units["Team B"]["revenue"].target is None
    people = {r.name: r.figures for r in result.people}
    assert "Rep C1" not in people
    assert people["Rep A2"]["revenue"].actual == Decimal(8500)
    assert people["Rep A2"]["revenue"].share == pytest.approx(0.425)
    assert people["Rep A2"]["revenue"].gap == Decimal(11500)
    assert people["Rep A2"]["new_students"].actual == Decimal(1)
    assert people["Rep A1"]["new_students"].actual == Decimal(0)
    assert people["Rep A1"]["revenue"].actual == Decimal(9000)

    # The whole company for the admin; February alone for the February payment.
    everyone = attainment(db, company.actor(db, "admin"), FEB)
    feb = {r.name: r.figures for r in everyone.units}
    assert feb["HQ"]["revenue"].actual == Decimal(9000)
    assert feb["HQ"]["new_students"].actual == Decimal(1)

    # A rep reads their own figures and their unit's.
    mine = attainment(db, company.actor(db, "rep_a1"), MARCH)
    assert [r.name for r in mine.units] == ["Team A"]
    assert [r.name for r in mine.people] == ["Rep A1"]


def test_a_quarter_is_the_sum_of_its_months(db, company):
    for month, value in ((date(2026, 1, 1), "10000"), (FEB, "20000"), (MARCH, "30000")):
        _set(db, company, "admin", value, unit="team_a", month=month)
    _set(db, company, "admin", "99999", unit="team_a", month=APRIL)
    _pay(db, company, "rep_a1", 1, "9000", "PAY-1")
    quarter = attainment(db, company.actor(db, "bj_manager"), date(2026, 2, 14), "quarter")
    assert quarter.months == [date(2026, 1, 1), FEB, MARCH]
    team_a = next(r for r in quarter.units if r.name == "Team A")
    assert team_a.figures["revenue"].target == Decimal(60000)
    assert team_a.figures["revenue"].actual == Decimal(9000)
    with pytest.raises(ValidationError):
        attainment(db, company.actor(db, "bj_manager"), MARCH, "decade")


def test_the_workbench_figures_are_the_reps_own_month(db, company):
    assert my_attainment(db, company.actor(db, "rep_a1")) == []
    _set(db, company, "lead_a", "30000", user="rep_a1")
    _set(db, company, "lead_a", "4", user="rep_a1", metric="won")
    _set(db, company, "lead_a", "50000", user="rep_a2")
    _pay(db, company, "rep_a1", 1, "9000", "PAY-1")
    _pay(db, company, "rep_a2", 2, "9000", "PAY-2")
    figures = {f.metric: f for f in my_attainment(db, company.actor(db, "rep_a1"))}
    assert set(figures) == {"revenue", "won"}
    assert figures["revenue"].actual == Decimal(9000)
    assert figures["revenue"].share == pytest.approx(0.3)
    assert figures["won"].actual == Decimal(1)


def test_performance_targets_are_prorated_for_part_months(db, company):
    _set(db, company, "admin", "31000", unit="team_a")
    _set(db, company, "admin", "62000", user="rep_a1")
    _set(db, company, "admin", "99000", unit="team_c")
    manager = company.actor(db, "bj_manager")
    whole = performance_targets(db, manager, DashboardFilter(start=MARCH, end=date(2026, 3, 31)))
    assert not whole.prorated
    assert whole.units == {_unit(company, "team_a"): {"revenue": Decimal(31000)}}
    assert whole.people == {_user(company, "rep_a1"): {"revenue": Decimal(62000)}}
    part = performance_targets(db, manager, DashboardFilter(start=MARCH, end=date(2026, 3, 10)))
    assert part.prorated
    assert part.units[_unit(company, "team_a")]["revenue"] == Decimal(10000)
    assert performance_targets(db, manager, DashboardFilter()).units == {}
    with pytest.raises(PermissionDenied):
        performance_targets(db, company.actor(db, "rep_a1"), DashboardFilter())


def test_reading_needs_a_sales_role(db, company):
    from crm_core.org.users import create_user  # noqa: PLC0415

    company.users["qa_person"] = create_user(
        db,
        SYSTEM,
        username="qa_person",
        full_name="QA Person",
        employee_no="E0099",
        password="secret123",
        org_unit_id=_unit(company, "hq"),
        role_codes=["qa_inspector"],
    )
    db.commit()
    qa = company.actor(db, "qa_person")
    with pytest.raises(PermissionDenied):
        attainment(db, qa, MARCH)
    with pytest.raises(PermissionDenied):
        target_history(db, qa)
    assert clock.now() - NOW < timedelta(days=1)
