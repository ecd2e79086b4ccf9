"""Regression tests for the findings of the outside security probe, one (or a few) per
finding, named after it. Each failed on the code before its fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import func, select

from crm_core.analytics import DashboardFilter, performance
from crm_core.imports.history import HistoryOptions, guess_columns, run_history_import
from crm_core.imports.tabular import read_table
from crm_core.models import Opportunity, SalesOrder
from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import translate
from tests.factories import build_small_company
from tests.hostile_files import (
    declared_whole_sheet,
    rows_past_declared_dimension,
    shared_strings_bomb,
    value_far_right,
)

EVERYTHING = DashboardFilter()


def _one_win(closed: datetime, created: datetime | None = None) -> bytes:
    created = created or closed - timedelta(days=3)
    return (
        "deal id,owner,stage,created,closed,amount,customer\n"
        f"X1,Rep A1,Won,{created:%Y-%m-%d},{closed:%Y-%m-%d %H:%M},9999999,Big Deal\n"
    ).encode()


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_1_revenue_without_the_right_to_record_payments(db):
    company = build_small_company(db)
    now = clock.now()
    frame = read_table(_one_win(now - timedelta(hours=1)), "won.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)
    manager = company.actor(db, "bj_manager")
    before = performance(db, manager, EVERYTHING).total.revenue

    report = run_history_import(db, manager, frame, None, options)

    assert report.imported == 0
    assert [(i.row, i.reason) for i in report.issues] == [
        (2, "A won opportunity brings revenue: importing it needs the right to record payments.")
    ]
    assert db.exec(select(func.count()).select_from(SalesOrder)).one() == 0
    assert db.exec(select(func.count()).select_from(Opportunity)).one() == 0
    assert performance(db, manager, EVERYTHING).total.revenue == before


def test_finding_1_an_importer_who_may_record_payments_keeps_the_files_dates(db):
    company = build_small_company(db)
    closed = datetime(2025, 3, 31, 23, 30)
    frame = read_table(_one_win(closed), "won.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)

    report = run_history_import(db, company.actor(db, "admin"), frame, None, options)

    assert report.imported == 1
    order = db.exec(select(SalesOrder)).one()
    # The file's time is company time (Asia/Shanghai, +8): kept as that instant.
    assert (order.status, order.amount, order.paid_at) == (
        "paid",
        Decimal("9999999"),
        closed - timedelta(hours=8),
    )


def test_finding_1_a_win_closed_in_the_future_is_refused(db):
    company = build_small_company(db)
    now = clock.now()
    frame = read_table(_one_win(now + timedelta(days=40), now - timedelta(days=3)), "won.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=company.line.id)

    report = run_history_import(db, company.actor(db, "admin"), frame, None, options)

    assert [(i.row, i.column, i.reason) for i in report.issues] == [
        (2, "closed", "A date in the future.")
    ]
    assert db.exec(select(func.count()).select_from(SalesOrder)).one() == 0


# Finding 2: an upload's declared size is never trusted, and reading stops at the limits.


def _read_in_a_process(path) -> dict:
    """Read the file with `read_table` in a fresh process: its outcome, and its peak memory."""
    code = (
        "import json, sys\n"
        "from crm_core.imports.tabular import read_table\n"
        "try:\n"
        "    frame = read_table(open(sys.argv[1], 'rb').read(), sys.argv[1])\n"
        "    out = {'rows': frame.index.tolist(), 'columns': list(frame.columns)}\n"
        "except Exception as error:\n"
        "    out = {'refused': getattr(error, 'key', repr(error))}\n"
        # VmHWM is this program's own peak: ru_maxrss would also count the parent's (the
        # test runner's) memory, which Linux carries over into a child started by vfork.
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "out['peak_mb'] = int(peak.split()[1]) // 1024\n"
        "print(json.dumps(out))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_finding_2_a_sheet_that_declares_a_million_rows_of_16384_cells(tmp_path):
    path = tmp_path / "declared.xlsx"
    path.write_bytes(declared_whole_sheet())
    assert len(path.read_bytes()) < 8_000

    outcome = _read_in_a_process(path)

    assert outcome["rows"] == [1_048_576] and outcome["columns"] == ["name", "phone"]
    assert outcome["peak_mb"] < 1024


def test_finding_2_a_million_row_xlsx_is_refused_at_the_row_limit(tmp_path, monkeypatch):
    from openpyxl.worksheet._reader import WorkSheetParser

    data = rows_past_declared_dimension(1_000_000)
    path = tmp_path / "million.xlsx"
    path.write_bytes(data)
    assert (
        _read_in_a_process(path)["refused"]
        == "The file {filename} has more than {max:,} data rows. Split it into smaller files."
    )
    assert _read_in_a_process(path)["peak_mb"] < 1024

    # Reading stops at the first row past the limit, not at the end of the file.
    parsed = []
    original = WorkSheetParser.parse

    def counting(self):
        for row in original(self):
            parsed.append(row[0])
            yield row

    monkeypatch.setattr(WorkSheetParser, "parse", counting)
    with pytest.raises(ValidationError) as refusal:
        read_table(data, "million.xlsx", max_rows=1000)
    assert (
        refusal.value.key
        == "The file {filename} has more than {max:,} data rows. Split it into smaller files."
    )
    assert len(parsed) == 1 + 1000 + 1


def test_finding_2_rows_past_the_declared_dimension_are_read():
    frame = read_table(rows_past_declared_dimension(5), "short-dimension.xlsx")
    assert frame.index.tolist() == [2, 3, 4, 5, 6]
    assert frame["name"].tolist() == [f"Lead {n}" for n in range(2, 7)]


def test_finding_2_a_value_far_right_and_a_zip_bomb_are_refused():
    with pytest.raises(ValidationError) as wide:
        read_table(value_far_right(), "wide.xlsx")
    assert (
        wide.value.key
        == "Row {row} of {filename} has values beyond column {max}. Delete the columns that are not needed and upload it again."
    )
    bomb = shared_strings_bomb(110)
    assert len(bomb) < 1_000_000
    with pytest.raises(ValidationError) as large:
        read_table(bomb, "bomb.xlsx")
    assert (
        large.value.key
        == "The file {filename} unpacks to {size_mb} MB, more than the {max_mb} MB an upload may hold. Split it into smaller files."
    )


def test_finding_2_a_csv_stops_at_the_row_limit_and_blank_lines_do_not_count():
    rows = "".join(f"Lead {n},1380000{n:04d}\n" for n in range(12))
    with pytest.raises(ValidationError) as refusal:
        read_table(("name,phone\n" + rows).encode(), "leads.csv", max_rows=10)
    assert (
        refusal.value.key
        == "The file {filename} has more than {max:,} data rows. Split it into smaller files."
    )
    spaced = "name,phone\n" + "\n\n\n".join(f"Lead {n},1380000{n:04d}" for n in range(10))
    frame = read_table(spaced.encode(), "spaced.csv", max_rows=10)
    assert len(frame.index) == 10 and frame.index[-1] == 2 + 9 * 3


# Finding 13: a Big5 file (traditional Chinese, Taiwan and Hong Kong) is read as Big5.


def test_finding_13_a_big5_file_reads_as_big5_not_gb18030_gibberish():
    text = "姓名,手機,地區\n陳大文,0912345678,臺北市\n張學友,91234567,香港\n"
    frame = read_table(text.encode("big5"), "big5.csv")
    assert list(frame.columns) == ["姓名", "手機", "地區"]
    assert frame[translate("Name", "zh")].tolist() == ["陳大文", "張學友"]
    # GBK files, simplified or with the traditional characters GBK holds, read as before.
    gbk = "姓名,手机\n张三,13800138000\n臺灣,13800138001\n".encode("gbk")
    assert read_table(gbk, "gbk.csv")[translate("Name", "zh")].tolist() == ["张三", "臺灣"]
