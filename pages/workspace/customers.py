"""Customers (manage_customers): the searchable list, and the import from the learning
platform's user export, previewed and then imported as every file import is (see
`ui.file_import`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.customers import (
    CATEGORIES,
    CUSTOMER_FIELDS,
    REQUIRED,
    CustomerImportResult,
    apply_customer_import,
    guess_customer_mapping,
    missing_customer_columns,
    preview_customer_import,
    rejected_customer_rows_csv,
)
from crm_core.leads.customers import list_customers
from crm_core.platform.errors import CrmError
from ui.company_time import file_zone_picker, show_time
from ui.context import actor
from ui.db import session
from ui.file_import import (
    ImportFlow,
    bad_rows,
    category_metrics,
    column_mapping,
    issues_table,
    placeholder_input,
    read_upload,
)
from ui.i18n import language, show_error, t, tmd
from ui.inputs import search_input

PAGE_SIZE = 50
FLOW = ImportFlow(
    preview="customers_preview",
    pending="customers_import_pending",
    result="customers_result",
    upload_round="customers_upload_round",
    uploader="customers_file",
    mode="customers_mode",
    refused="customers_refused",
)


def _when(value) -> str:
    return show_time(value)


def _show_result(result: CustomerImportResult) -> None:
    if result.refused:
        st.warning(t("customers.result.refused", rejected=result.rejected))
        return
    st.success(
        t(
            "customers.result.done",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=result.rejected,
            linked=result.linked_leads,
        )
    )


def _list_tab() -> None:
    query = search_input(
        t("customers.search"), key="customers_search", help=t("customers.search_help")
    )
    page_number = st.number_input(t("customers.page"), min_value=1, step=1, key="customers_page")
    try:
        with session() as s:
            page = list_customers(s, me, query, int(page_number), PAGE_SIZE)
    except CrmError as error:
        show_error(error)
        return
    st.caption(t("customers.total", total=page.total, page=page.page, pages=page.pages))
    if not page.rows:
        st.info(t("customers.empty"))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("customers.table.platform_user_id"): row.platform_user_id,
                    t("customers.table.name"): row.name or "",
                    t("customers.table.phone"): row.phone,
                    t("customers.table.email"): row.email or "",
                    t("customers.table.registered_at"): _when(row.registered_at),
                    t("customers.table.created_at"): _when(row.created_at),
                    t("customers.table.linked_leads"): row.linked_leads,
                }
                for row in page.rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _column(name: str) -> str:
    return t(f"customers.column.{name}")


def _import_tab() -> None:
    upload = FLOW.upload(t("customers.upload"), _show_result, help=t("customers.upload_help"))
    frame = read_upload(upload)
    if frame is None:
        return
    st.caption(tmd("customers.file_rows", filename=upload.name, rows=len(frame)))

    st.subheader(t("customers.mapping"))
    st.caption(t("customers.mapping_help"))
    mapping = column_mapping(
        frame.columns,
        CUSTOMER_FIELDS,
        REQUIRED,
        guess_customer_mapping(frame.columns),
        label=_column,
        not_mapped=t("customers.not_mapped"),
        key="customers_map",
        file_id=upload.file_id,
    )
    placeholders = placeholder_input(
        t("customers.placeholders"), t("customers.placeholders_help"), "customers_placeholders"
    )
    file_zone = file_zone_picker("customers_zone")
    missing = missing_customer_columns(mapping)
    if missing:
        names = ", ".join(_column(m) for m in missing)
        st.warning(t("customers.missing_columns", columns=names))
        return

    preview = FLOW.draw_preview(
        lambda s: preview_customer_import(
            s, me, frame, mapping, placeholders, source=upload.name, time_zone=file_zone
        )
    )
    if preview is None:
        return

    st.subheader(t("customers.preview"))
    counts = preview.counts
    st.write(
        t(
            "customers.summary",
            total=preview.total_rows,
            good=len(preview.rows),
            bad=counts["rejected"],
        )
    )
    category_metrics(counts, CATEGORIES, lambda c: t(f"customers.category.{c}"))
    st.caption(t("customers.leads_to_link", count=preview.leads_to_link))

    if preview.rejected:
        bad_rows(
            t("customers.bad_rows"),
            issues_table(
                preview.issues,
                _column,
                (
                    t("customers.table.row"),
                    t("customers.table.column"),
                    t("customers.table.reason"),
                ),
            ),
            download=t("customers.download_rejected"),
            data=rejected_customer_rows_csv(me, preview, language()),
            file_name="rejected_customers.csv",
            key="customers_download_rejected",
        )

    if not preview.rows:
        st.info(t("customers.nothing_to_import"))
    FLOW.mode_picker(t("customers.mode"), lambda mode: t(f"customers.mode.{mode}"))
    FLOW.import_button(t("customers.import"), "customers_import", disabled=not preview.rows)


me = actor()
st.title(t("nav.customers"))
st.caption(t("customers.intro"))

FLOW.run_pending(lambda s, preview, mode: apply_customer_import(s, me, preview, mode))

list_tab, import_tab = st.tabs([t("customers.tab.list"), t("customers.tab.import")])
with list_tab:
    _list_tab()
with import_tab:
    _import_tab()
