"""Real exports through the lead import after a clean start: a web-lead export (no phones,
a lead number, mixed-case sources, a 0/1 converted column, `Select` placeholders) and a
marketplace's marketing-qualified leads (first-contact dates in the source's zone, an
origin column with blanks). After value mapping, the funnel and channel ROI show each
source's own figures: leads and wins per source, leads per month in the file's zone.

The expected figures are counted from the files with the csv module, not by the import."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from crm_core.analytics.channel_roi import channel_roi
from crm_core.analytics.filters import DashboardFilter
from crm_core.analytics.funnel import funnel
from crm_core.imports.leads import (
    ImportOptions,
    guess_columns,
    preview_import,
    run_import,
    value_columns,
)
from crm_core.imports.tabular import read_table
from crm_core.imports.value_mapping import create_options_for, value_key
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.models import FlowEvent, Lead, Opportunity, StageHistory
from crm_core.org.access import load_actor
from crm_core.org.setup import create_company
from crm_core.platform import clock
from crm_core.platform.company_time import company_zone, to_utc
from crm_core.platform.metadata import create_business_line, list_options

DATA = Path(__file__).parent / "data"
PLACEHOLDERS = {"", "select", "-", "n/a", "null"}


@pytest.fixture
def clean_start(db):
    """An empty company in the marketplace's zone: default option lists, one admin."""

    made = create_company(
        db,
        company_name="Switch-over Ltd",
        time_zone="America/Sao_Paulo",
        currency="BRL",
        admin_username="admin",
        admin_password="Secret-pass-123",
    )
    admin = load_actor(db, made.admin_user_id)
    line = create_business_line(db, admin, name="Online courses")
    db.commit()
    yield admin, line


def _file(name: str):
    data = (DATA / name).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    return read_table(data, name), rows


def _map_every_new_value(db, admin, frame, options, field: str, group: str) -> ImportOptions:
    """What a metadata manager does on the page: make an option of each value the lists
    lack, then check the file again."""
    values = value_columns(db, admin, frame, options)[field]
    unmapped = [v.value for v in values if v.code is None]
    create_options_for(db, admin, "channel", unmapped, group=group)
    db.commit()
    return options


def _source(cell: str) -> str:
    return " ".join(cell.split()).casefold()


def test_web_lead_export_keeps_each_sources_leads_and_conversion(db, clean_start):
    admin, line = clean_start
    frame, rows = _file("web_leads.csv")
    mapping = guess_columns(frame.columns)
    # Guessed: the lead number names the lead and is its key; the source is the channel.
    assert mapping["external_id"] == mapping["name"] == "Lead Number"
    assert mapping["channel"] == "Lead Source"
    assert mapping["stage"] == "Converted"
    options = ImportOptions(
        mapping=mapping,
        default_channel="import",  # rows without a source
        default_line_codes=(line.code,),
        value_choices={"stage": {"1": "won", "0": "lost"}},
    )
    values = value_columns(db, admin, frame, options)
    by_key = {v.key: v for v in values["channel"]}
    assert by_key["google"].rows == sum(1 for r in rows if _source(r["Lead Source"]) == "google")
    assert {v.value for v in values["channel"]} >= {"Google", "Olark Chat", "Direct Traffic"}
    assert all(v.key != "select" for v in values["channel"])
    _map_every_new_value(db, admin, frame, options, "channel", "other")

    preview = preview_import(db, admin, frame, options)
    assert preview.issues == []
    assert preview.closed == {
        "won": sum(r["Converted"] == "1" for r in rows),
        "lost": sum(r["Converted"] == "0" for r in rows),
    }
    report = run_import(db, admin, frame, options)
    assert report.counts["created"] == len(rows)

    # The file's figures per source (blank sources are the whole file's default channel).
    leads = Counter(_source(r["Lead Source"]) or "list import" for r in rows)
    wins = Counter(
        _source(r["Lead Source"]) or "list import" for r in rows if r["Converted"] == "1"
    )
    label_of = {o.code: value_key(o.label_en) for o in list_options(db, "channel")}
    label_of["import"] = "list import"

    today = clock.now().date()
    view = DashboardFilter(start=today, end=today, split="channel")
    roi = channel_roi(db, admin, view)
    assert {label_of[r.channel]: r.leads for r in roi.channels} == dict(leads)
    assert {label_of[r.channel]: r.won for r in roi.channels if r.won} == dict(wins)
    assert all(r.revenue == 0 for r in roi.channels)  # wins without amounts: no revenue

    shown = funnel(db, admin, view)
    assert shown.total == len(rows) and shown.won == sum(wins.values())
    assert shown.lost == len(rows) - sum(wins.values())
    per_source = {label_of[r.key]: (r.total, r.won) for r in shown.rows}
    assert per_source == {s: (n, wins.get(s, 0)) for s, n in leads.items()}
    # A converted row proves the win, not the trial lessons between.
    assert shown.reached("trial_booked") == 0 and shown.reached("contacted") == 0

    # Closed rows are no work: nothing waits for dispatch or sits in a pool.
    states = db.exec(select(Opportunity.pool_state, func.count()).group_by(Opportunity.pool_state))
    assert dict(states.all()) == {"closed": len(rows)}
    won = db.exec(select(StageHistory.to_stage).where(StageHistory.to_stage == "won")).all()
    assert len(won) == sum(wins.values())
    assert db.exec(select(func.count()).select_from(FlowEvent)).one() == 2 * len(rows)

    # A lead named by its number is found by that number.
    number = rows[0]["Lead Number"]
    found = search_leads(db, admin, LeadFilter(text=number))
    assert [lead.name for lead in found.rows] == [number]

    # The same file again adds nothing.
    again = run_import(db, admin, frame, options)
    assert again.counts["created"] == again.counts["added_line"] == 0
    assert again.counts["already_imported"] == len(rows)
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == len(rows)


def test_marketplace_mqls_keep_leads_per_origin_and_month_in_the_files_zone(db, clean_start):
    admin, line = clean_start
    frame, rows = _file("marketplace_mqls.csv")
    mapping = guess_columns(frame.columns)
    assert mapping["name"] == mapping["external_id"] == "mql_id"
    assert mapping["channel"] == "origin"
    assert mapping["created_at"] == "first_contact_date"
    assert mapping["landing_page"] == "landing_page_id"
    options = ImportOptions(
        mapping=mapping,
        default_channel="import",
        default_line_codes=(line.code,),
        time_zone="America/Sao_Paulo",
    )
    _map_every_new_value(db, admin, frame, options, "channel", "other")
    report = run_import(db, admin, frame, options)
    assert report.issues == [] and report.counts["created"] == len(rows)

    # `referral` reads as the default Referral channel; the others became options.
    label_of = {o.code: value_key(o.label_en) for o in list_options(db, "channel")}
    label_of["import"] = ""
    # Per origin over the whole year, and per month of the file's own dates.
    whole = DashboardFilter(start=date(2017, 6, 1), end=date(2018, 5, 31), split="channel")
    roi = channel_roi(db, admin, whole)
    assert {label_of[r.channel]: r.leads for r in roi.channels} == dict(
        Counter(r["origin"] for r in rows)
    )
    months = Counter(r["first_contact_date"][:7] for r in rows)
    for month, expected in sorted(months.items()):
        year, number = map(int, month.split("-"))
        end = date(year + number // 12, number % 12 + 1, 1).toordinal() - 1
        view = DashboardFilter(start=date(year, number, 1), end=date.fromordinal(end))
        assert channel_roi(db, admin, view).total.leads == expected, month
        assert funnel(db, admin, view).total == expected, month
    # The opportunity is as old as the first contact (midnight in the file's zone).
    first = rows[0]
    lead = db.exec(select(Lead).where(Lead.external_id == first["mql_id"])).one()
    opportunity = db.exec(select(Opportunity).where(Opportunity.lead_id == lead.id)).one()
    moment = to_utc(datetime.fromisoformat(first["first_contact_date"]), company_zone(db))
    assert lead.created_at == opportunity.created_at == moment
    assert opportunity.pool_state == "unassigned"  # open rows go to dispatch as before
