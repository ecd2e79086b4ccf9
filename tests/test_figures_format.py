"""Figures that read: money with its currency and separators, compact metrics per language
(664.3万 in Chinese, never "k"; 6.64M in English) with the full figure in the tooltip, and
exports that keep numbers as numbers."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pandas as pd
from openpyxl import load_workbook

from crm_core.analytics import export_table
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from crm_core.platform.i18n.formats import (
    format_compact,
    format_compact_money,
    format_money,
)
from tests.apptest import login
from tests.dashboard_factories import move, open_opportunity, pay

PERFORMANCE = "pages/dashboards/performance.py"
FUNNEL = "pages/dashboards/funnel.py"


def test_compact_forms_per_language():
    assert format_compact(6_643_300, "zh") == "664.3万"
    assert format_compact(6_643_300, "en") == "6.64M"
    assert format_compact(123_456_789, "zh") == "1.2亿"
    assert format_compact(11_996, "zh") == "1.2万"
    assert format_compact(11_996, "en") == "12K"
    assert format_compact(999, "zh") == "999"
    for value in (1_000, 11_996, 252_900, 430_370, 99_999):
        assert "k" not in format_compact(value, "zh").lower()
        assert "k" not in format_compact_money(Decimal(value), "zh").lower()


def test_money_carries_the_currency_and_separators():
    assert format_money(Decimal("6643300.5"), "zh") == "¥6,643,300.50"
    assert format_money(Decimal("6643300.5"), "en") == "CN¥6,643,300.50"
    assert format_money(Decimal("9800"), "en", "USD") == "$9,800.00"
    assert format_money(Decimal("3000.4"), "zh", whole=True) == "¥3,000"
    assert format_compact_money(Decimal("6643300"), "zh") == "¥664.3万"
    assert format_compact_money(Decimal("6643300"), "en") == "CN¥6.64M"


FRAME = pd.DataFrame(
    {
        "Rep": ["=cmd", "Li"],
        "Revenue": [2159980.0, 5624.95],
        "Won": [12, 3],
        "Win rate": [0.125, None],
        "Day": [datetime(2026, 3, 1, 8, 0), datetime(2026, 3, 2, 9, 30)],
    }
)
KINDS = {"Revenue": "money", "Won": "count", "Win rate": "share"}


def test_csv_writes_numbers_not_text():
    text = export_table(FRAME, "csv", "t", KINDS).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1:4] == ["2159980.00", "12", "0.125"]
    assert rows[2][1:4] == ["5624.95", "3", ""]
    assert rows[1][0].startswith("'")  # a formula stays text


def test_xlsx_cells_are_numbers_with_number_formats():
    book = load_workbook(io.BytesIO(export_table(FRAME, "xlsx", "t", KINDS)))
    sheet = book.active
    revenue, won, share = sheet["B2"], sheet["C2"], sheet["D2"]
    assert revenue.value == 2159980.0 and revenue.number_format == "#,##0.00"
    assert won.value == 12 and won.number_format == "#,##0"
    assert share.value == 0.125 and share.number_format == "0.0%"


def open_page(page: str):
    at = login("boss")
    at.query_params["start"] = "2026-03-01"
    at.query_params["end"] = "2026-03-31"
    at = at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_a_long_metric_is_compact_with_the_full_figure_in_its_tooltip(app_env, db):
    opp = open_opportunity(db, app_env, "rep_a1", datetime(2026, 3, 2))
    move(db, opp, ("contacted", datetime(2026, 3, 3)))
    pay(db, app_env, opp, "6643300", datetime(2026, 3, 5))
    clock.freeze(datetime(2026, 3, 20, 4, 0))
    at = open_page(PERFORMANCE)
    revenue = next(m for m in at.metric if m.label == translate("Revenue", "zh"))
    assert revenue.value == "¥664.3万"
    assert "¥6,643,300.00" in revenue.proto.help
    at = open_page(FUNNEL)
    # The funnel chart's labels are the page's own counts, not Plotly's short forms.
    spec = at.get("plotly_chart")[0].proto.spec
    assert '"text":["1","1","1","1","1","1"]' in spec.replace(" ", "")
