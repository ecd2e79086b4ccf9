"""AppTest: the sales targets page (attainment, set and split, history, import), the
workbench's targets line and the target columns of team performance, in both languages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from crm_core.models import SalesTarget, User
from crm_core.platform.i18n import translate
from crm_core.sales.targets import set_target
from tests.factories import SYSTEM

PAGE = "pages/sales/targets.py"


def _language(db, lang: str, *usernames: str) -> None:
    for username in usernames:
        user = db.exec(select(User).where(User.username == username)).one()
        user.language = lang
        db.add(user)
    db.commit()


def _this_month(db) -> date:
    from crm_core.platform import clock  # noqa: PLC0415
    from crm_core.platform.company_time import company_zone, to_local  # noqa: PLC0415

    return to_local(clock.now(), company_zone(db)).date().replace(day=1)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_splits_a_target_and_reads_the_attainment(app_env, db, lang):
    from tests.apptest import signed_in  # noqa: PLC0415

    _language(db, lang, "bj_manager")
    users, units = app_env.users, app_env.units
    month = _this_month(db)
    set_target(
        db, SYSTEM, month=month, metric="revenue", value="100000", unit_id=units["beijing"].id
    )
    db.commit()
    at = signed_in("bj_manager")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Sales targets", lang)
    assert len(at.dataframe) >= 2  # units and people
    # Beijing is the manager's own unit: its target comes from above; its parts are theirs.
    key = f"tgt_unit_{units['team_a'].id}_revenue_{month.isoformat()}"
    assert at.number_input(
        key=f"tgt_unit_{units['beijing'].id}_revenue_{month.isoformat()}"
    ).disabled
    at.number_input(key=key).set_value(120000.0)
    at.text_input(key="targets_note").input("Stretch")
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at.exception, at.exception
    db.expire_all()
    stored = db.exec(select(SalesTarget).where(SalesTarget.org_unit_id == units["team_a"].id)).one()
    assert stored.value == Decimal(120000)
    saved = translate("Saved: {created} new, {updated} changed.", lang).format(created=1, updated=0)
    assert [s.value for s in at.success] == [saved]
    # Over the unit's target: shown as a negative remainder, with a warning.
    assert at.warning, "the over-split is pointed out"
    assert users["rep_a1"].id  # the people table lists the reps in reach


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_workbench_shows_the_reps_own_targets(app_env, db, lang):
    from tests.apptest import signed_in  # noqa: PLC0415

    _language(db, lang, "rep_a1")
    month = _this_month(db)
    set_target(
        db, SYSTEM, month=month, metric="revenue", value="30000", user_id=app_env.users["rep_a1"].id
    )
    db.commit()
    rep = signed_in("rep_a1")
    rep.switch_page("pages/sales/workbench.py").run()
    assert not rep.exception, rep.exception
    prefix = translate("Your targets this month: {figures}.", lang).split("{")[0]
    assert any(c.value.startswith(prefix) for c in rep.caption)


def test_team_performance_shows_target_columns(app_env, db):
    from tests.apptest import signed_in  # noqa: PLC0415

    _language(db, "en", "bj_manager")
    month = _this_month(db)
    set_target(
        db, SYSTEM, month=month, metric="revenue", value="50000", unit_id=app_env.units["team_a"].id
    )
    db.commit()
    at = signed_in("bj_manager")
    at.switch_page("pages/dashboards/performance.py").run()
    assert not at.exception, at.exception
    columns = set()
    for frame in at.dataframe:
        columns |= set(frame.value.columns)
    assert {"Revenue target", "Revenue attainment", "Won target"} <= columns


def test_an_executive_reads_the_targets_without_setting_them(app_env, db):
    from tests.apptest import signed_in  # noqa: PLC0415

    at = signed_in("boss")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.get("form_submit_button")
