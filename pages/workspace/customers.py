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
from crm_core.platform.i18n import NC_, label_of
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
        st.warning(
            t(
                "Nothing was imported: {rejected} rows are rejected and you chose all or nothing. Correct the file, or choose to store the good rows.",
                rejected=result.rejected,
            )
        )
        return
    st.success(
        t(
            "Import done: {created} new, {updated} updated, {unchanged} unchanged, {rejected} rejected rows left out; {linked} leads linked.",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=result.rejected,
            linked=result.linked_leads,
        )
    )


def _list_tab() -> None:
    query = search_input(
        t("Search"),
        key="customers_search",
        help=t(
            "User id or name (beginning), full phone number, or the last 4 digits of the phone."
        ),
    )
    page_number = st.number_input(t("Page"), min_value=1, step=1, key="customers_page")
    try:
        with session() as s:
            page = list_customers(s, me, query, int(page_number), PAGE_SIZE)
    except CrmError as error:
        show_error(error)
        return
    st.caption(
        t(
            "{total} customers, page {page} of {pages}.",
            total=page.total,
            page=page.page,
            pages=page.pages,
        )
    )
    if not page.rows:
        st.info(t("No customers match."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("User id"): row.platform_user_id,
                    t("Name"): row.name or "",
                    t("Phone"): row.phone,
                    t("E-mail"): row.email or "",
                    t("Registered at"): _when(row.registered_at),
                    t("Added at"): _when(row.created_at),
                    t("Linked leads"): row.linked_leads,
                }
                for row in page.rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _column(name: str) -> str:
    return t(label_of("customers.column", name))


def _import_tab() -> None:
    upload = FLOW.upload(
        t("Customer file (CSV or XLSX)"),
        _show_result,
        help=t("The user export of the learning platform. A blank cell keeps what is stored."),
    )
    frame = read_upload(upload)
    if frame is None:
        return
    st.caption(tmd("{filename}: {rows} data rows.", filename=upload.name, rows=len(frame)))

    st.subheader(t("Columns"))
    st.caption(
        t(
            NC_(
                "customers",
                "Which column of the file holds each field. Fields marked * are required.",
            )
        )
    )
    mapping = column_mapping(
        frame.columns,
        CUSTOMER_FIELDS,
        REQUIRED,
        guess_customer_mapping(frame.columns),
        label=_column,
        not_mapped=t("(not in the file)"),
        key="customers_map",
        file_id=upload.file_id,
    )
    placeholders = placeholder_input(
        t('Cells that mean "nothing"'),
        t("Comma separated. A cell equal to one of these (case ignored) counts as blank."),
        "customers_placeholders",
    )
    file_zone = file_zone_picker("customers_zone")
    missing = missing_customer_columns(mapping)
    if missing:
        names = ", ".join(_column(m) for m in missing)
        st.warning(t("Choose a column for: {columns}.", columns=names))
        return

    preview = FLOW.draw_preview(
        lambda s: preview_customer_import(
            s, me, frame, mapping, placeholders, source=upload.name, time_zone=file_zone
        )
    )
    if preview is None:
        return

    st.subheader(t("What the import would do"))
    counts = preview.counts
    st.write(
        t(
            NC_("customers", "{total} rows: {good} good, {bad} rejected."),
            total=preview.total_rows,
            good=len(preview.rows),
            bad=counts["rejected"],
        )
    )
    category_metrics(counts, CATEGORIES, lambda c: t(label_of("customers.category", c)))
    st.caption(t("Leads that would be linked by phone: {count}.", count=preview.leads_to_link))

    if preview.rejected:
        bad_rows(
            t("Rejected rows"),
            issues_table(
                preview.issues,
                _column,
                (
                    t("Row"),
                    t("Column"),
                    t("Reason"),
                ),
            ),
            download=t("Download the rejected rows (CSV)"),
            data=rejected_customer_rows_csv(me, preview, language()),
            file_name="rejected_customers.csv",
            key="customers_download_rejected",
        )

    if not preview.rows:
        st.info(t("The file has no good rows to store."))
    FLOW.mode_picker(t("Rows to store"), lambda mode: t(label_of("customers.mode", mode)))
    FLOW.import_button(t("Import"), "customers_import", disabled=not preview.rows)


me = actor()
st.title(t("Customers"))
st.caption(
    t(
        "Registered users of the learning platform. Leads with the same phone number are linked to them."
    )
)

FLOW.run_pending(lambda s, preview, mode: apply_customer_import(s, me, preview, mode))

list_tab, import_tab = st.tabs([t("Customer list"), t("Import")])
with list_tab:
    _list_tab()
with import_tab:
    _import_tab()
