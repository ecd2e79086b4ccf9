"""Activity rankings (龙虎榜): per rep and team, for a day, week and month in company time,
of calls, call minutes, follow-ups, fast first contacts, trials, wins and revenue; within
the viewer's reach; a rep sees only their own figures and rank."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment
from crm_core.commerce.products import create_product
from crm_core.models import Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sales.rankings import period_of, rankings
from crm_core.sales.trials import book_trial
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

NOW = datetime(2026, 3, 4, 2, 0)  # Wednesday 10:00 in Shanghai


@pytest.fixture
def company(db):
    clock.freeze(NOW)
    company = build_small_company(db)
    opps = {
        owner: add_owned_opportunity(db, company, owner, tail)
        for tail, owner in enumerate(("rep_a1", "rep_a2", "rep_b1", "rep_c1"), start=1)
    }
    product = create_product(
        db,
        SYSTEM,
        business_line_id=company.line.id,
        code="P",
        name="Course",
        list_price="9000",
        course_days=30,
    )
    # rep_a1: two calls (3 and 2 minutes) and a trial; rep_a2: one note and a 9,000 win.
    for seconds in (180, 120):
        log_follow_up(
            db,
            company.actor(db, "rep_a1"),
            opps["rep_a1"].id,
            FollowUpInput(
                channel="call",
                content="call",
                call_duration_s=seconds,
                next_follow_up_at=NOW + timedelta(days=1),
            ),
        )
    book_trial(db, company.actor(db, "rep_a1"), opps["rep_a1"].id, NOW + timedelta(days=2))
    log_follow_up(
        db,
        company.actor(db, "rep_a2"),
        opps["rep_a2"].id,
        FollowUpInput(channel="wechat", content="note", next_follow_up_at=NOW + timedelta(days=1)),
    )
    order = create_order(db, company.actor(db, "rep_a2"), opps["rep_a2"].id, product.id, "9000")
    record_payment(db, company.actor(db, "admin"), order.id, "PAY-1")
    # rep_b1 was assigned an hour ago and called within the day.
    opp = db.get(Opportunity, opps["rep_b1"].id)
    opp.assigned_at, opp.first_follow_up_at = NOW - timedelta(hours=1), None
    db.add(opp)
    db.commit()
    clock.advance(timedelta(minutes=30))
    log_follow_up(
        db,
        company.actor(db, "rep_b1"),
        opps["rep_b1"].id,
        FollowUpInput(
            channel="call",
            content="hi",
            call_duration_s=59,
            next_follow_up_at=NOW + timedelta(days=1),
        ),
    )
    db.commit()
    company.opps = opps
    yield company
    clock.reset()


def test_periods_are_company_days_weeks_and_months(db, company):
    # Shanghai is UTC+8: the day starts at 16:00 UTC the day before.
    assert period_of(db, "day") == (datetime(2026, 3, 3, 16), datetime(2026, 3, 4, 16))
    assert period_of(db, "week") == (datetime(2026, 3, 1, 16), datetime(2026, 3, 8, 16))
    assert period_of(db, "month") == (datetime(2026, 2, 28, 16), datetime(2026, 3, 31, 16))
    with pytest.raises(ValidationError):
        period_of(db, "year")


def test_a_manager_ranks_the_reps_and_teams_in_reach(db, company):
    manager = company.actor(db, "bj_manager")
    by_calls = rankings(db, manager, period="week", metric="calls")
    figures = {r.name: r.values for r in by_calls.reps}
    assert set(figures) == {"Rep A1", "Rep A2", "Rep B1", "Lead A"}  # not Shanghai's rep
    assert figures["Rep A1"]["calls"] == 2 and figures["Rep A1"]["call_minutes"] == 5
    assert figures["Rep A1"]["trials"] == 1 and figures["Rep A2"]["follow_ups"] == 1
    assert figures["Rep A2"]["wins"] == 1 and figures["Rep A2"]["revenue"] == 9000
    # Assigned yesterday or an hour ago, followed up within the day; Lead A holds nothing.
    assert figures["Rep B1"]["fast_contacts"] == 1 and figures["Rep A1"]["fast_contacts"] == 1
    assert figures["Lead A"]["fast_contacts"] == 0
    assert [(r.name, r.rank) for r in by_calls.reps[:2]] == [("Rep A1", 1), ("Rep B1", 2)]
    # Equal figures share a rank.
    assert {r.rank for r in by_calls.reps[2:]} == {3}
    teams = {t.name: t.values for t in by_calls.teams}
    assert teams["Team A"]["calls"] == 2 and teams["Team B"]["calls"] == 1
    by_revenue = rankings(db, manager, period="month", metric="revenue")
    assert by_revenue.reps[0].name == "Rep A2" and by_revenue.teams[0].name == "Team A"
    # Next week nothing has happened yet.
    empty = rankings(db, manager, period="week", today=date(2026, 3, 10), metric="calls")
    assert all(r.values["calls"] == 0 for r in empty.reps)


def test_a_rep_sees_their_own_rank_among_their_team(db, company):
    mine = rankings(db, company.actor(db, "rep_a2"), period="week", metric="revenue")
    assert [r.name for r in mine.reps] == ["Rep A2"] and mine.teams == []
    assert mine.me.rank == 1 and mine.among == 3  # Rep A1, Rep A2, Lead A
    other = rankings(db, company.actor(db, "rep_a1"), period="week", metric="revenue")
    assert other.me.rank == 2 and [r.name for r in other.reps] == ["Rep A1"]


def test_unknown_metric_is_refused(db, company):
    with pytest.raises(ValidationError):
        rankings(db, company.actor(db, "bj_manager"), metric="charm")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_rankings_page_for_a_manager_and_a_rep(app_env, db, lang):
    from crm_core.models import User  # noqa: PLC0415
    from crm_core.platform.i18n import translate  # noqa: PLC0415
    from tests.apptest import signed_in  # noqa: PLC0415

    for username in ("bj_manager", "rep_a1"):
        user = db.exec(select(User).where(User.username == username)).one()
        user.language = lang
        db.add(user)
    db.commit()
    at = signed_in("bj_manager")
    at.switch_page("pages/dashboards/rankings.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Activity rankings", lang)
    assert len(at.dataframe) == 2  # teams and reps
    at.selectbox(key="rank_metric").set_value("calls").run()
    assert not at.exception, at.exception
    rep = signed_in("rep_a1")
    rep.switch_page("pages/dashboards/rankings.py").run()
    assert not rep.exception, rep.exception
    frame = rep.dataframe[0].value
    assert len(frame) == 1  # only the rep's own row
    rep.switch_page("pages/sales/workbench.py").run()
    assert not rep.exception, rep.exception
