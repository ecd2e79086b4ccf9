"""Importing sales targets through the import engine: English and Chinese headers, units by
name or path, people by employee number or name, created / updated / unchanged, and every
reason a row is refused - within the importer's reach."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.imports import engine
from crm_core.imports.tabular import read_table
from crm_core.imports.targets import TARGETS
from crm_core.models import AuditLog, SalesTarget, SalesTargetChange
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from tests.factories import build_small_company
from tests.test_targets import NOW


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    return build_small_company(db)


def _frame(text: str, name: str = "targets.csv"):
    return read_table(text.encode("utf-8"), name)


def _reasons(plan) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for issue in plan.issues:
        out.setdefault(issue.row, []).append(issue.key)
    return out


def test_a_manager_imports_the_targets_of_their_reach(db, company):
    manager = company.actor(db, "bj_manager")
    frame = _frame(
        "Month,Unit,Rep,Metric,Value\n"
        "2026-03,Team A,,revenue,60000\n"
        "2026-03,Beijing/Team B,,Revenue,50000\n"
        "2026-03,,E0005,won,4\n"  # rep_a1 by employee number
        "2026年4月,,Rep A2,新增学员,3\n"
        "2026-03,Beijing,,revenue,1\n"  # their own unit
        "2026-03,Team C,,revenue,1\n"  # Shanghai: outside the reach
        "2026-03,,E0008,won,1\n"  # rep_c1: outside the reach
        "2026-13,Team A,,won,1\n"
        "2026-03,Team A,,charm,1\n"
        "2026-03,Team A,,won,2.5\n"
        "2026-03,Team A,E0005,won,1\n"
        "2026-03,Team A,,revenue,70000\n"  # the same target twice
    )
    plan = engine.preview(db, manager, TARGETS, frame)
    assert plan.counts == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 8}
    reasons = _reasons(plan)
    assert reasons[6] == ["Your own unit's target is set by the level above."]
    assert reasons[7] == ["No unit you may set targets for is called “{unit}”."]
    assert reasons[8] == ["No one you may set targets for has the employee number or name “{rep}”."]
    assert reasons[9] == ["“{value}” is not a month (e.g. 2026-03)."]
    assert reasons[10] == ["“{value}” is not a target metric (revenue, won, new students)."]
    assert reasons[11] == ["“{value}” is not a whole number."]
    assert reasons[12] == ["Give either a unit or a person on each row, not both."]
    assert reasons[13] == ["The same target is already on row {first_row}."]
    run = engine.apply(db, manager, TARGETS, plan, "good_rows")
    assert run.counts["created"] == 4
    stored = db.exec(select(SalesTarget).order_by(SalesTarget.id)).all()
    assert [(t.month, t.metric, t.value) for t in stored] == [
        (date(2026, 3, 1), "revenue", Decimal(60000)),
        (date(2026, 3, 1), "revenue", Decimal(50000)),
        (date(2026, 3, 1), "won", Decimal(4)),
        (date(2026, 4, 1), "new_students", Decimal(3)),
    ]
    assert {c.source for c in db.exec(select(SalesTargetChange)).all()} == {"import"}
    assert db.exec(select(AuditLog).where(AuditLog.action == "target.import")).one()

    # The same file again changes nothing; a new value is an update with its history.
    again = engine.preview(
        db,
        manager,
        TARGETS,
        _frame("月份,部门,指标,目标\n2026-03,Team A,业绩,60000\n2026-03,Team B,业绩,55000\n"),
    )
    assert again.counts == {"created": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    engine.apply(db, manager, TARGETS, again, "good_rows")
    changes = db.exec(select(SalesTargetChange).order_by(SalesTargetChange.id)).all()
    assert (changes[-1].old_value, changes[-1].new_value, changes[-1].late) == (
        Decimal(50000),
        Decimal(55000),
        True,
    )


def test_an_ambiguous_name_asks_for_the_path(db, company):
    from crm_core.org.units import create_unit  # noqa: PLC0415
    from tests.factories import SYSTEM  # noqa: PLC0415

    create_unit(db, SYSTEM, "Team A", company.units["team_b"].id)
    db.commit()
    plan = engine.preview(
        db,
        company.actor(db, "admin"),
        TARGETS,
        _frame("Month,Unit,Metric,Value\n2026-03,Team A,won,3\n2026-03,Beijing/Team A,won,3\n"),
    )
    assert _reasons(plan) == {
        2: ["Several units are called “{unit}”: give its path (Parent/Unit)."]
    }
    assert plan.counts["created"] == 1


def test_a_rep_cannot_import_targets(db, company):
    with pytest.raises(PermissionDenied):
        engine.preview(
            db,
            company.actor(db, "rep_a1"),
            TARGETS,
            _frame("Month,Rep,Metric,Value\n2026-03,E0005,won,3\n"),
        )
