"""The customers page: an import through the widgets, the list search, masking for
marketing, and a rep kept out."""

from __future__ import annotations

from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.test_customers import (
    GOOD,
    HEADER_ZH,
    add_marketing_user,
    apply_customer_import,
    csv_bytes,
    customers,
    preview,
)

PAGE = "pages/workspace/customers.py"


def test_admin_imports_and_searches_through_the_page(app_env, db):
    at = login("admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Customer", "zh")
    rows = [*GOOD, ("U3", "坏日期", "13700000003", "", "2026-13-01")]
    at.file_uploader[0].upload("客户.csv", csv_bytes(rows, HEADER_ZH, "gbk"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    boxes = {s.key: s.value for s in at.selectbox if (s.key or "").startswith("customers_map_")}
    assert sorted(boxes.values()) == sorted(HEADER_ZH)
    assert {m.label: m.value for m in at.metric} == {
        translate("Add product", "zh"): "2",
        translate("Updated", "zh"): "0",
        translate("Unchanged", "zh"): "0",
        translate(NC_("customers.category", "Rejected"), "zh"): "1",
    }
    bad = next(d.value for d in at.dataframe if translate("Reason", "zh") in d.value.columns)
    assert list(bad[translate("Row", "zh")]) == [4]

    at.radio(key="customers_mode").set_value("all_or_nothing")
    at.button(key="customers_import").click()
    at.run()
    assert not at.exception, at.exception
    assert any("未导入任何数据" in w.value for w in at.warning)
    assert customers(db) == {}

    at.radio(key="customers_mode").set_value("good_rows")
    at.button(key="customers_import").click()
    at.run()
    assert not at.exception, at.exception
    assert any("导入完成:新增 2" in s.value for s in at.success)
    assert sorted(customers(db)) == ["U1", "U2"]
    assert at.file_uploader[0].value is None  # a fresh uploader after importing
    # under it, the user's last runs of this import
    assert [e.label for e in at.expander] == [translate("Your last imports", "zh")]

    at.text_input(key="customers_search").input("5678").run()
    assert not at.exception, at.exception
    listed = at.dataframe[0].value
    assert list(listed[translate("User id", "zh")]) == ["U1"]
    assert list(listed[translate("Phone", "zh")]) == ["+8613812345678"]


def test_marketing_sees_masked_phones_and_a_rep_cannot_open_the_page(app_env, db):
    marketing = add_marketing_user(db, app_env)
    apply_customer_import(db, marketing, preview(db, marketing, csv_bytes(GOOD)), "good_rows")
    at = login("mkt")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert sorted(at.dataframe[0].value[translate("Phone", "zh")]) == ["1****0002", "1****5678"]
    assert_page_refused(signed_in("rep_a1"), PAGE)


def test_the_shared_flow_offers_lead_custom_fields_as_columns(app_env, db):
    from crm_core.custom_fields.definitions import define_field

    define_field(db, app_env.actor(db, "admin"), "lead", label_en="School", kind="text")
    db.commit()
    at = login("admin")
    at.switch_page(PAGE).run()
    header = [*HEADER_ZH, "School"]
    rows = [(*row, "PKU") for row in GOOD]
    at.file_uploader[0].upload("客户.csv", csv_bytes(rows, header), "text/csv")
    at.run()
    assert not at.exception, at.exception
    box = next(s for s in at.selectbox if (s.key or "").startswith("customers_map_custom.school_"))
    assert (box.label, box.value) == ("School", "School")
    assert not at.radio(key="customers_mode").disabled
    assert not at.button(key="customers_import").disabled
