"""Regression tests of the security findings on the engine: the job lock (finding 8) and
phone masks (finding 9). Each failed on the code before its fix."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, text, update
from sqlmodel import Session, select

from crm_core.circulation import jobs
from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.jobs import job_lock_key, run_job, sqlite_lock_row
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.imports.leads import ImportOptions, guess_columns, preview_import, rejected_rows_csv
from crm_core.imports.tabular import read_table
from crm_core.leads.export import export_leads
from crm_core.leads.masking import mask_any_phone, mask_phone
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.leads.tags import filter_for_audit
from crm_core.models import JobLock, Lead, Opportunity
from crm_core.platform import clock
from crm_core.sales.lead_card import get_lead_detail
from db.engine import PROJECT_ROOT
from tests.factories import add_owned_opportunity, add_waiting_opportunities, build_small_company

# --- finding 8: one crashed worker must not stop the engine ------------------------------------


@pytest.fixture
def waiting(db):
    """The small company with a dispatch rule and five opportunities waiting for it."""
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    save_rule(
        db,
        company.actor(db, "admin"),
        "dispatch",
        RuleDraft(
            name="All to A",
            org_unit_id=company.units["hq"].id,
            action={"target_unit_id": company.units["team_a"].id},
        ),
    )
    db.commit()
    add_waiting_opportunities(db, company, 5)
    yield company
    clock.reset()


def owned(db) -> int:
    db.expire_all()
    return db.exec(select(func.count()).where(Opportunity.pool_state == "owned")).one()


# A worker whose dispatch run stops halfway: it has moved the opportunities inside its
# transaction (so on SQLite it holds the write lock as well as the job's lock), says so,
# and waits on stdin for ever - until the test kills it.
STUCK_WORKER = """
import sys
from crm_core.circulation import jobs
from crm_core.circulation.dispatch import dispatch_unassigned
from db.engine import build_engine

def stuck(session, actor):
    result = dispatch_unassigned(session, actor)
    session.flush()
    print("mid-run", flush=True)
    sys.stdin.readline()
    return result

jobs.JOBS["dispatch"] = stuck
jobs.run_job("dispatch", engine=build_engine(sys.argv[1]))
"""


def start_stuck_worker(database_url: str) -> subprocess.Popen:
    """A worker process in the middle of a dispatch run (it has printed `mid-run`)."""
    worker = subprocess.Popen(
        [sys.executable, "-c", STUCK_WORKER, database_url],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CRM_DATABASE_URL": database_url},
    )
    assert worker.stdout.readline().strip() == "mid-run"
    return worker


def wait_for_advisory_lock(engine, job: str) -> None:
    """On PostgreSQL, block (no polling) until the killed worker's server session has ended
    and its advisory lock with it; at most five seconds."""
    with Session(engine) as session:
        session.exec(text("SET LOCAL lock_timeout = '5s'"))
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=job_lock_key(job)))
        session.rollback()


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_8_a_worker_killed_mid_run_does_not_block_the_next_run(
    db, waiting, engine, database_url
):
    worker = start_stuck_worker(database_url)
    try:
        killed_at = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if engine.dialect.name == "postgresql":
        wait_for_advisory_lock(engine, "dispatch")
    # The core clock has not moved: no lease had to run out.
    run = run_job("dispatch", engine=engine)
    assert run.status == "done", run.error
    assert time.monotonic() - killed_at < 5
    assert run.counts["assigned"] == 5 and owned(db) == 5  # the dead run left nothing behind


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_8_two_runs_in_one_process_never_share_the_lock(db, waiting, engine):
    """The app serves every browser session from one process: two "run now" clicks at once
    must not both run because they share a host and a pid."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's advisory lock is per session")
    with sqlite_lock_row(engine, "dispatch", jobs.default_holder()) as taken:
        assert taken
        clock.advance(timedelta(minutes=10))  # past any lease: this process is alive
        assert run_job("dispatch", engine=engine).status == "busy" and owned(db) == 0
    assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_8_a_lock_from_a_worker_on_another_host_lapses_after_a_short_lease(
    db, waiting, engine
):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's advisory lock ends with the session")
    # "host:pid" of a worker elsewhere: this host cannot tell whether it is still alive.
    with sqlite_lock_row(engine, "dispatch", "crm-worker-2.internal:4242") as taken:
        assert taken
        clock.advance(timedelta(minutes=1))
        assert run_job("dispatch", engine=engine).status == "busy" and owned(db) == 0
        clock.advance(timedelta(minutes=4))
        assert run_job("dispatch", engine=engine).status == "done" and owned(db) == 5


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_8_a_run_whose_lock_was_taken_over_commits_nothing(
    db, waiting, engine, monkeypatch
):
    """A short lease means a slow run may see its lock taken by another host's worker; the
    slow run must then not commit on top of the new holder's run."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the lock row is SQLite's; PostgreSQL's advisory lock cannot be taken over")

    def overtaken(session, actor):
        # While this run works, its lease lapses and a worker on another host takes the lock.
        with Session(engine) as other:
            other.exec(
                update(JobLock)
                .where(JobLock.name == "dispatch")
                .values(
                    holder="crm-worker-2.internal:4242",
                    expires_at=clock.now() + timedelta(minutes=2),
                )
            )
            other.commit()
        return dispatch_unassigned(session, actor)

    monkeypatch.setitem(jobs.JOBS, "dispatch", overtaken)
    run = run_job("dispatch", engine=engine)
    assert (
        run.status == "failed"
        and run.error
        == "Another worker took over this job's lock while the run was still working (its lease had run out), so nothing of this run was saved."
    )
    assert owned(db) == 0
    # The new holder's lock is left alone.
    db.expire_all()
    assert db.get(JobLock, "dispatch").holder == "crm-worker-2.internal:4242"


# --- finding 9: a mask hides at least half of the national number ------------------------------


def visible_digits(masked: str, country_code: int) -> int:
    """How many digits of the national number a mask shows (the country code aside)."""
    national = masked.removeprefix(f"+{country_code} ")
    return sum(ch.isdigit() for ch in national)


SHORT_NUMBERS = {
    # E.164: (region, mask)
    "+85291234567": ("HK", "+852 ****4567"),
    "+85251234567": ("HK", "+852 ****4567"),
    "+6591234567": ("SG", "+65 ****4567"),
    "+6561234567": ("SG", "+65 ****4567"),
    "+886912345678": ("TW", "+886 ****5678"),
    "+886221234567": ("TW", "+886 ****4567"),
    "+37251234567": ("EE", "+372 ****4567"),
    "+3725123456": ("EE", "+372 ****456"),
    "+3726401234": ("EE", "+372 ****234"),
}


@pytest.mark.parametrize("e164", sorted(SHORT_NUMBERS))
def test_finding_9_short_foreign_numbers_hide_at_least_half(e164):
    region, expected = SHORT_NUMBERS[e164]
    number = phonenumbers.parse(e164)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.region_code_for_number(number) == region
    national = phonenumbers.national_significant_number(number)
    masked = mask_phone(e164)
    assert masked == expected
    assert visible_digits(masked, number.country_code) <= len(national) // 2
    assert mask_any_phone(e164) == masked  # typed in, it masks the same


def test_finding_9_mainland_mobiles_and_landlines_hide_at_least_half():
    assert mask_phone("+8613812345678") == "1****5678"
    assert mask_phone("+8619912345678") == "1****5678"
    # A Beijing landline (10 national digits) is no mobile: at most 5 of them show.
    assert mask_phone("+861065529988") == "1****9988"
    # What is not a phone at all (kept as typed) shows at most half of its digits too.
    assert mask_any_phone("1380000") == "****000"


# Many numbers: an example number of every region and type with its subscriber digits
# drawn at random (valid ones only), and any "+digits" string at all.
TYPES = [
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.VOIP,
]


@st.composite
def valid_numbers(draw) -> phonenumbers.PhoneNumber:
    region = draw(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(TYPES)))
    assume(example is not None)
    national = phonenumbers.national_significant_number(example)
    keep = draw(st.integers(min_value=0, max_value=min(3, len(national) - 1)))
    digits = draw(
        st.text("0123456789", min_size=len(national) - keep, max_size=len(national) - keep)
    )
    number = phonenumbers.parse(f"+{example.country_code}{national[:keep]}{digits}")
    assume(phonenumbers.is_valid_number(number))
    return number


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(valid_numbers())
def test_finding_9_no_mask_shows_more_than_half_of_a_national_number(number):
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.national_significant_number(number)
    masked = mask_phone(e164)
    assert "****" in masked
    shown = visible_digits(masked, number.country_code)
    assert shown <= len(national) // 2, (e164, masked)
    # What shows is the number's own start and end, nothing else.
    head, tail = masked.removeprefix(f"+{number.country_code} ").split("****")
    assert national.startswith(head) and national.endswith(tail)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{3,15}", fullmatch=True))
def test_finding_9_any_stored_string_shows_at_most_half_of_its_digits(e164):
    """Valid or not: at most half of the stored digits after the country code show."""
    masked = mask_phone(e164)
    assert "****" in masked
    if masked.startswith("+"):
        country, national = masked[1:].split(" ", 1)
        assert e164.startswith(f"+{country}")
        assert int(country) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        digits = e164[1 + len(country) :]
    else:  # mainland China (no prefix shown), or no known country code at all
        national = masked
        digits = e164[3:] if e164.startswith("+86") else e164[1:]
    shown = sum(ch.isdigit() for ch in national)
    if not (e164.startswith("+86") and len(digits) == 11 and digits.startswith("1")):
        assert shown <= len(digits) // 2, (e164, masked)


# Every place a rep sees a phone: the lead list (search), the card, the export, the import
# report, the audit of a search. A Hong Kong number shows 4 of its 8 digits in each.
HK = "+85291234567"
HK_MASKED = "+852 ****4567"


def test_finding_9_every_screen_and_file_masks_a_short_number_the_same_way(db):
    company = build_small_company(db)
    opportunity = add_owned_opportunity(db, company, "rep_a1", 1)
    db.exec(
        update(Lead).where(Lead.id == opportunity.lead_id).values(phone=HK, phone_suffix=HK[-4:])
    )
    db.commit()
    rep = company.actor(db, "rep_a1")
    manager = company.actor(db, "bj_manager")  # imports and exports, no view_full_phone

    [row] = search_leads(db, rep, LeadFilter()).rows
    assert row.phone == HK_MASKED
    assert get_lead_detail(db, rep, opportunity.lead_id).phone == HK_MASKED

    export = export_leads(db, manager, LeadFilter(), "csv", "en")
    cells = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert [r[2] for r in cells[1:]] == ["'" + HK_MASKED]  # "+" is neutralised as a formula
    assert b"91234567" not in export.data

    header = ["Name", "Mobile", "Source", "Campaign", "Business line", "Created", "Tags"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(
        [
            header,
            ["Chan", "+852 9123 4567", "sem", "", "kaoyan", "", ""],
            ["Lee", "6123456", "sem", "", "kaoyan", "", ""],
        ]
    )
    frame = read_table(buffer.getvalue().encode(), "leads.csv")
    options = ImportOptions(mapping=guess_columns(frame.columns))
    report = preview_import(db, manager, frame, options)
    assert [c.phone for c in report.collisions] == [HK_MASKED]
    assert report.issues[0].params["phone"] == "****456"  # 7 digits that are no number
    data = rejected_rows_csv(manager, frame, report, options, "en").decode("utf-8-sig")
    assert "****456" in data and "6123456" not in data

    # A searched number that is no valid phone is kept in the audit at most half shown.
    assert filter_for_audit(LeadFilter(text="6123456"))["text"] == "****456"
    assert filter_for_audit(LeadFilter(text="+852 9123 4567"))["text"] == HK_MASKED
    assert not re.search(r"\d{5}", filter_for_audit(LeadFilter(text="61234567"))["text"])
