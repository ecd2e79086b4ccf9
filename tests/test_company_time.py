"""The company's time zone (issue 18, item 2): days and months cut in company time
across daylight-saving changes, SQL that groups by local day, imports that read the file's
zone, and pages that show company time."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import select

from crm_core.imports import engine
from crm_core.imports.customers import CUSTOMERS
from crm_core.imports.leads import ImportOptions, guess_columns, run_import
from crm_core.imports.tabular import read_table
from crm_core.models import AuditLog, Lead, LoginEvent
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import (
    day_start_in,
    local_day_sql,
    local_day_start,
    month_bounds,
    month_bounds_in,
    offset_segments,
    to_company,
)
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import translate
from crm_core.platform.settings import get_setting, set_setting
from tests.factories import build_small_company

NEW_YORK = ZoneInfo("America/New_York")
SYSTEM = Actor.system()


def test_the_default_zone_is_shanghai(db):
    assert get_setting(db, "company.time_zone") == "Asia/Shanghai"
    assert to_company(db, datetime(2026, 1, 31, 16, 30)) == datetime(2026, 2, 1, 0, 30)


def test_an_unknown_zone_is_refused(db):
    with pytest.raises(ValidationError) as refused:
        set_setting(db, SYSTEM, "company.time_zone", "Europe/Atlantis")
    assert refused.value.key == "“{zone}” is not a known time zone."


def test_days_across_the_spring_and_autumn_changes_in_new_york():
    # 2026-03-08: clocks go from 02:00 to 03:00 (EST -5 to EDT -4): a 23-hour day.
    start, end = day_start_in(NEW_YORK, date(2026, 3, 8)), day_start_in(NEW_YORK, date(2026, 3, 9))
    assert (start, end) == (datetime(2026, 3, 8, 5), datetime(2026, 3, 9, 4))
    assert end - start == timedelta(hours=23)
    # 2026-11-01: clocks go back from 02:00 to 01:00: a 25-hour day.
    start, end = (
        day_start_in(NEW_YORK, date(2026, 11, 1)),
        day_start_in(NEW_YORK, date(2026, 11, 2)),
    )
    assert (start, end) == (datetime(2026, 11, 1, 4), datetime(2026, 11, 2, 5))
    assert end - start == timedelta(hours=25)


def test_months_across_the_changes_in_new_york():
    assert month_bounds_in(NEW_YORK, date(2026, 3, 20)) == (
        datetime(2026, 3, 1, 5),
        datetime(2026, 4, 1, 4),
    )
    assert month_bounds_in(NEW_YORK, date(2026, 11, 1)) == (
        datetime(2026, 11, 1, 4),
        datetime(2026, 12, 1, 5),
    )


def test_session_helpers_follow_the_setting(db):
    set_setting(db, SYSTEM, "company.time_zone", "America/New_York")
    # 03:30 UTC on 8 March is still 7 March, 22:30 EST.
    assert local_day_start(db, datetime(2026, 3, 8, 3, 30)) == datetime(2026, 3, 7, 5)
    # 12:00 UTC on 8 March is 08:00 EDT: the day began at 05:00 UTC (midnight EST).
    assert local_day_start(db, datetime(2026, 3, 8, 12)) == datetime(2026, 3, 8, 5)
    assert month_bounds(db, datetime(2026, 11, 30, 23)) == (
        datetime(2026, 11, 1, 4),
        datetime(2026, 12, 1, 5),
    )
    assert to_company(db, datetime(2026, 1, 1, 14)) == datetime(2026, 1, 1, 9)


def test_the_offset_changes_of_a_period_are_found_to_the_minute():
    segments = offset_segments(NEW_YORK, datetime(2026, 3, 1), datetime(2026, 11, 30))
    assert segments == [
        (datetime(2026, 3, 8, 7), timedelta(hours=-5)),
        (datetime(2026, 11, 1, 6), timedelta(hours=-4)),
        (None, timedelta(hours=-5)),
    ]


def test_sql_groups_by_local_day_across_a_change(db):
    set_setting(db, SYSTEM, "company.time_zone", "America/New_York")
    instants = [
        datetime(2026, 3, 8, 4, 59),  # 7 March 23:59 EST
        datetime(2026, 3, 8, 5, 0),  # 8 March 00:00 EST
        datetime(2026, 3, 9, 3, 59),  # 8 March 23:59 EDT
        datetime(2026, 3, 9, 4, 0),  # 9 March 00:00 EDT
        datetime(2026, 11, 1, 4, 30),  # 1 November 00:30 EDT
        datetime(2026, 11, 2, 4, 30),  # 1 November 23:30 EST
        datetime(2026, 11, 2, 5, 0),  # 2 November 00:00 EST
    ]
    for at in instants:
        db.add(AuditLog(at=at, action="zone.test", target_type="test"))
    db.flush()
    day = local_day_sql(db, AuditLog.at, datetime(2026, 3, 1), datetime(2026, 12, 1))
    rows = db.exec(
        select(day, func.count()).where(AuditLog.action == "zone.test").group_by(day)
    ).all()
    counted = {str(d)[:10]: n for d, n in rows}
    assert counted == {
        "2026-03-07": 1,
        "2026-03-08": 2,
        "2026-03-09": 1,
        "2026-11-01": 2,
        "2026-11-02": 1,
    }


HEADER = ["姓名", "手机号", "渠道", "业务线", "首次咨询时间"]


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def test_a_lead_import_in_new_york_stores_true_instants(db):
    company = build_small_company(db)
    clock.freeze(datetime(2026, 12, 1, 12))
    frame = read_table(
        _csv(
            [
                ["Ann", "13800001111", "sem", "kaoyan", "2026-03-07 23:30"],  # EST
                ["Bob", "13800002222", "sem", "kaoyan", "2026-07-01 09:00"],  # EDT
            ]
        ),
        "leads.csv",
    )
    options = ImportOptions(mapping=guess_columns(frame.columns), time_zone="America/New_York")
    report = run_import(db, company.actor(db, "admin"), frame, options)
    assert report.stored == 2
    stored = dict(db.exec(select(Lead.name, Lead.created_at)).all())
    assert stored == {"Ann": datetime(2026, 3, 8, 4, 30), "Bob": datetime(2026, 7, 1, 13)}


def test_an_import_without_a_zone_reads_company_time(db):
    company = build_small_company(db)
    clock.freeze(datetime(2026, 12, 1, 12))
    frame = read_table(_csv([["Cy", "13800003333", "sem", "kaoyan", "2026-03-08 08:00"]]), "l.csv")
    run_import(db, company.actor(db, "admin"), frame, ImportOptions(guess_columns(frame.columns)))
    assert db.exec(select(Lead.created_at)).one() == datetime(2026, 3, 8, 0)  # Shanghai +8


def test_the_customer_import_reads_the_file_zone(db):
    company = build_small_company(db)
    clock.freeze(datetime(2026, 12, 1, 12))
    data = "用户ID,姓名,手机号,注册时间\nu1,Ann,13800001111,2026-11-01 01:30\n".encode()
    frame = read_table(data, "customers.csv")
    options = engine.ImportOptions(time_zone="America/New_York")
    preview = engine.preview(db, company.actor(db, "admin"), CUSTOMERS, frame, options)
    (row,) = preview.rows
    # 01:30 on the autumn change happens twice; the first (EDT, -4) is read.
    assert row.final("registered_at") == datetime(2026, 11, 1, 5, 30)


def test_pages_show_company_time(committed_db, app_settings):
    from tests.apptest import signed_in
    from ui.company_time import forget_zone
    from ui.text import md

    build_small_company(committed_db)
    set_setting(committed_db, SYSTEM, "company.time_zone", "America/New_York")
    committed_db.add(LoginEvent(at=datetime(2026, 3, 8, 6, 15), username="ghost", event="failed"))
    committed_db.commit()
    forget_zone()  # the zone changed after app_settings forgot it
    at = signed_in("admin")
    at.switch_page("pages/admin/login_log.py").run()
    assert not at.exception
    captions = [c.value for c in at.sidebar.caption]
    # The zone name is shown literally (Markdown-escaped, as every parameter).
    assert (
        translate(
            "Times on this page are in the company's time zone, {zone}.",
            "zh",
            zone=md("America/New_York"),
        )
        in captions
    )
    frame = at.dataframe[0].value
    column = translate("Time", "zh")
    shown = [v for v, who in zip(frame[column], frame.iloc[:, 1], strict=False) if who == "ghost"]
    # 06:15 UTC is 01:15 EST, written as every list writes a time: to the minute.
    assert shown == ["2026-03-08 01:15"]
