"""The lead import page: upload, correct a mapping, preview, import, and who may open it."""

from __future__ import annotations

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.models import Lead
from crm_core.platform.i18n import translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.test_lead_import import csv_bytes

PAGE = "pages/leads/lead_import.py"


def mapping_box(at: AppTest, name: str):
    """The column selectbox of a field (its key ends with the upload's id)."""
    return next(s for s in at.selectbox if (s.key or "").startswith(f"lead_import_map_{name}_"))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_upload_fix_the_mapping_preview_and_import(app_env, db):
    at = login("admin")  # the page shows in Chinese
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    # "Lead card" is no header the guess knows: the name column must be chosen by hand.
    header = [
        "Lead card",
        translate("Phone", "zh"),
        translate("Channel", "zh"),
        translate("Business line", "zh"),
    ]
    rows = [
        ["王芳", "13800001111", "搜索广告", "Postgraduate exam"],
        ["李雷", "12", "sem", "kaoyan"],
        ["王芳", "138-0000-1111", "sem", "kaoyan"],
    ]
    at.file_uploader[0].upload("名单.csv", csv_bytes(rows, header, "gbk"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert mapping_box(at, "name").value == ""
    assert any(
        translate("Choose the column that holds the name.", "zh") in w.value for w in at.warning
    )
    mapping_box(at, "name").select("Lead card").run()
    assert not at.exception, at.exception
    assert metrics(at)[translate("New leads", "zh")] == "1"
    assert metrics(at)[translate("Bad rows", "zh")] == "1"
    assert metrics(at)[translate("Repeated in file", "zh")] == "1"
    bad_rows = next(d.value for d in at.dataframe if translate("Reason", "zh") in d.value.columns)
    assert list(bad_rows[translate("Row", "zh")]) == [3]
    [column] = bad_rows[translate("Column", "zh")]
    assert column.startswith(translate("Phone", "zh"))
    go = at.button(key="lead_import_import")
    assert not go.disabled
    go.click().run()
    assert not at.exception, at.exception
    assert any("3 行中有 1 行新增" in s.value for s in at.success)
    assert at.file_uploader[0].value is None  # a fresh uploader after importing
    db.expire_all()
    lead = db.exec(select(Lead)).one()
    assert (lead.name, lead.phone, lead.channel) == ("王芳", "+8613800001111", "sem")


def test_all_or_nothing_with_bad_rows_cannot_be_started(app_env):
    at = login("admin")
    at.switch_page(PAGE).run()
    header = [
        translate("Name", "zh"),
        translate("Phone", "zh"),
        translate("Channel", "zh"),
        translate("Business line", "zh"),
    ]
    rows = [["王芳", "13800001111", "sem", "kaoyan"], ["李雷", "12", "sem", "kaoyan"]]
    at.file_uploader[0].upload("leads.csv", csv_bytes(rows, header), "text/csv")
    at.run()
    at.radio[0].set_value("all_or_nothing").run()
    assert not at.exception, at.exception
    assert at.button(key="lead_import_import").disabled
    assert any("本文件不会导入" in e.value for e in at.error)


def test_a_rep_cannot_open_the_import_page(app_env):
    assert_page_refused(signed_in("rep_a1"), PAGE)


def test_a_sales_manager_opens_the_import_page(app_env):
    at = login("bj_manager")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Import leads", "zh")


def _web_leads(count: int) -> bytes:
    """The first rows of the web-lead export (tests/data/web_leads.csv)."""
    from pathlib import Path

    lines = (Path(__file__).parent / "data" / "web_leads.csv").read_bytes().splitlines()
    return b"\n".join(lines[: count + 1]) + b"\n"


def value_box(at: AppTest, field: str, key: str):
    return next(
        s
        for s in at.selectbox
        if (s.key or "").startswith(f"lead_import_values_{field}_") and s.key.endswith(f"_{key}")
    )


def test_value_mapping_creates_options_maps_outcomes_and_remembers(app_env, db):
    from crm_core.models import ImportValueMap, MetadataOption, Opportunity

    at = login("admin")
    at.switch_page(PAGE).run()
    at.file_uploader[0].upload("web.csv", _web_leads(40), "text/csv")
    at.run()
    assert not at.exception, at.exception
    next(
        m for m in at.multiselect if m.key.startswith("lead_import_default_business_line_")
    ).select("kaoyan").run()
    next(
        s for s in at.selectbox if (s.key or "").startswith("lead_import_default_channel_")
    ).select("import").run()
    assert not at.exception, at.exception
    # Google and google are one value; it reads as no option yet: create it on the spot.
    value_box(at, "channel", "google").select("\x00create").run()
    at.button(key=next(b.key for b in at.button if (b.key or "").endswith("_create"))).click()
    at.run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(MetadataOption).where(MetadataOption.code == "google")).one()
    assert value_box(at, "channel", "google").value == "google"
    # Every other new source is left as bad rows; the outcome 1/0 maps onto won / lost.
    value_box(at, "stage", "1").select("won").run()
    value_box(at, "stage", "0").select("lost").run()
    assert not at.exception, at.exception
    assert metrics(at)[translate("Bad rows", "zh")] != "0"
    at.button(key="lead_import_import").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    google = db.exec(select(Lead).where(Lead.channel == "google")).all()
    assert google and all(lead.no_phone for lead in google)
    stages = set(db.exec(select(Opportunity.stage, Opportunity.pool_state)).all())
    assert stages <= {("won", "closed"), ("lost", "closed")}
    remembered = dict(
        db.exec(
            select(ImportValueMap.source_key, ImportValueMap.option_code).where(
                ImportValueMap.category == "stage"
            )
        ).all()
    )
    assert remembered == {"1": "won", "0": "lost"}


def test_the_preview_words_its_summary_by_the_counts(app_env):
    from crm_core.platform.i18n import ntranslate

    header = [
        translate("Name", "zh"),
        translate("Phone", "zh"),
        translate("Channel", "zh"),
        translate("Business line", "zh"),
    ]
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    # Every row bad: nothing "other" can be imported.
    rows = [["王芳", "12", "sem", "kaoyan"], ["李雷", "34", "sem", "kaoyan"]]
    at.file_uploader[0].upload("bad.csv", csv_bytes(rows, header), "text/csv")
    at.run()
    assert not at.exception, at.exception
    all_bad = ntranslate(
        "The file's {count} row is bad; see the reason below. Nothing can be imported.",
        "All {count} rows are bad; see the reasons below. Nothing can be imported.",
        2,
        "zh",
        count=2,
    )
    assert [e.value for e in at.error] == [all_bad] and not at.warning
    assert at.button(key="lead_import_import").disabled
    # One bad row of three: the other two can be imported.
    rows.append(["韩梅", "13800002222", "sem", "kaoyan"])
    rows.append(["赵四", "13800003333", "sem", "kaoyan"])
    rows.pop(0)
    at.file_uploader[0].upload("some.csv", csv_bytes(rows, header), "text/csv")
    at.run()
    some_bad = ntranslate(
        "{count} row cannot be imported; see the reason below. The other {good} can be imported.",
        "{count} rows cannot be imported; see the reasons below. The other {good} can be imported.",
        1,
        "zh",
        count=1,
        good=2,
    )
    assert [w.value for w in at.warning] == [some_bad]
    # None bad: said so, nothing to warn about.
    at.file_uploader[0].upload("good.csv", csv_bytes(rows[1:], header), "text/csv")
    at.run()
    assert not at.warning and not at.error
    good = ntranslate(
        "The file's {count} row is good.", "All {count} rows are good.", 2, "zh", count=2
    )
    assert good in [s.value for s in at.success]
