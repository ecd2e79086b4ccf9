"""Importing call records through the import engine: a vendor's export with Chinese headers,
a file zone, mixed-case results, placeholders and bad rows; calls become follow-up calls of
the lead's opportunity; unknown numbers and seats are warned about and kept; the same file
again records nothing new; only a call-centre administrator imports."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from crm_core.calls.setup import save_line, save_seat
from crm_core.imports import engine
from crm_core.imports.calls import CALLS
from crm_core.imports.engine import ImportOptions
from crm_core.imports.tabular import read_table
from crm_core.models import AuditLog, CallRecord, FollowUp
from crm_core.platform import clock
from crm_core.platform.errors import PermissionDenied
from tests.factories import add_owned_opportunity, build_small_company

FILE = """通话ID,坐席,被叫号码,开始时间,接通时间,结束时间,通话时长,通话结果,录音地址
C-1,8001,138 0000 0001,2026-03-01 09:00:00,2026-03-01 09:00:05,2026-03-01 09:03:05,180,已接通,https://rec.example.com/1.mp3
C-2,8001,13800000001,2026-03-01 10:00:00,,2026-03-01 10:00:30,0,No_Answer,-
C-3,9999,13999999999,2026-03-01 11:00:00,,2026-03-01 11:00:10,-,busy,
C-4,8001,13800000001,2026-03-01 12:00:00,,,abc,maybe,ftp://x
C-1,8001,13800000001,2026-03-01 09:00:00,,,,,
"""


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    company.opp = add_owned_opportunity(db, company, "rep_a1", 1)
    admin = company.actor(db, "admin")
    line = save_line(db, admin, name="Beijing", caller_number="01055550100")
    save_seat(db, admin, seat_no="8001", user_id=company.users["rep_a1"].id, line_id=line.id)
    db.commit()
    yield company
    clock.reset()


def _preview(db, actor):
    frame = read_table(FILE.encode("utf-8"), "话单.csv")
    return engine.preview(db, actor, CALLS, frame, ImportOptions(time_zone="Asia/Shanghai"))


def test_a_vendor_export_becomes_calls_and_follow_ups(db, company):
    admin = company.actor(db, "admin")
    preview = _preview(db, admin)
    assert preview.counts == {"record": 3, "already": 0, "rejected": 2}
    reasons = {(i.row, i.field) for row in preview.rejected for i in row.issues}
    assert {(5, "duration"), (5, "result"), (5, "recording_url")} <= reasons
    assert any(i.field == "call_id" for row in preview.rejected for i in row.issues if i.row == 6)
    assert {(w.row, w.field) for w in preview.warnings} == {(4, "callee"), (4, "seat")}
    run = engine.apply(db, admin, CALLS, preview, "good_rows")
    db.commit()
    assert run.counts["recorded"] == 3 and run.counts["follow_ups"] == 2
    calls = {c.provider_call_id: c for c in db.exec(select(CallRecord)).all()}
    first = calls["C-1"]
    assert (first.opportunity_id, first.duration_s, first.result) == (
        company.opp.id,
        180,
        "answered",
    )
    assert first.ended_at == datetime(2026, 3, 1, 1, 3, 5)  # 09:03:05 in Shanghai
    assert calls["C-2"].result == "no_answer" and calls["C-2"].recording_url is None
    assert calls["C-3"].lead_id is None and calls["C-3"].user_id is None
    follow_ups = db.exec(select(FollowUp).where(FollowUp.opportunity_id == company.opp.id)).all()
    assert sorted(f.result for f in follow_ups) == ["connected", "no_answer"]
    assert db.exec(select(AuditLog).where(AuditLog.action == "calls.import")).one()
    # The same file again: everything is there already.
    again = _preview(db, admin)
    assert again.counts == {"record": 0, "already": 3, "rejected": 2}


def test_only_a_call_centre_administrator_imports(db, company):
    with pytest.raises(PermissionDenied):
        _preview(db, company.actor(db, "bj_manager"))


def test_an_imported_call_summary_with_a_sensitive_word_is_flagged(db, company):
    from crm_core.models import QaReview  # noqa: PLC0415
    from crm_core.sms.words import add_words  # noqa: PLC0415
    from tests.factories import SYSTEM  # noqa: PLC0415

    add_words(db, SYSTEM, "保证通过")
    admin = company.actor(db, "admin")
    file = (
        "通话ID,坐席,被叫号码,结束时间,通话时长,通话结果,通话摘要\n"
        "S-1,8001,13800000001,2026-03-01 09:03:05,180,已接通,承诺学员保证通过\n"
        "S-2,8001,13800000001,2026-03-01 10:03:05,60,已接通,约了周五试听\n"
        "S-3,8001,13800000001,2026-03-01 11:03:05,20,已接通,\n"
    )
    frame = read_table(file.encode("utf-8"), "话单.csv")
    preview = engine.preview(db, admin, CALLS, frame, ImportOptions(time_zone="Asia/Shanghai"))
    run = engine.apply(db, admin, CALLS, preview, "good_rows")
    db.commit()
    assert (run.counts["follow_ups"], run.counts["flagged"]) == (3, 1)
    contents = sorted(db.exec(select(FollowUp.content).where(FollowUp.channel == "call")).all())
    assert contents == ["", "承诺学员保证通过", "约了周五试听"]
    [flag] = db.exec(select(QaReview)).all()
    assert flag.flagged_words == ["保证通过"]
    assert db.get(FollowUp, flag.follow_up_id).content == "承诺学员保证通过"
