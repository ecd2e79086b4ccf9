"""Which follow-ups and reviews an inspector reaches: those written by a rep of a unit in
their scope, or on an opportunity of such a unit (a QA inspector of one region sees that
region). Weeks are cut in company time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm_core.models import User
from crm_core.org.access import unit_clause
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone, day_start_in, to_local
from crm_core.platform.permissions import DataScope

# The follow-up's author, joined under this name wherever a scope needs their unit.
Author = aliased(User, name="qa_author")


def follow_up_reach(actor: Actor, opportunity_unit, author_unit) -> ColumnElement[bool]:
    """Follow-ups the actor inspects: the author's unit or the opportunity's unit in scope."""
    if actor.scope is DataScope.ALL:
        return true()
    return or_(unit_clause(actor, author_unit), unit_clause(actor, opportunity_unit))


def week_start(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def week_bounds(session: Session, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the company-time week (Monday to Monday) holding `day`, as naive-UTC
    instants."""
    zone = company_zone(session)
    monday = week_start(day)
    return day_start_in(zone, monday), day_start_in(zone, monday + timedelta(days=7))


def company_today(session: Session, now: datetime) -> date:
    """The company's local date at the instant `now`."""
    return to_local(now, company_zone(session)).date()
