"""Customers (manage_customers): the searchable list, and the import from the learning
platform's user export.

The Import button only remembers which preview was on screen and the chosen mode; the page
imports exactly that preview on the next run, after app.py has checked the session again.
The file is never re-read between the preview and the import.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.cells import DEFAULT_PLACEHOLDERS
from crm_core.customers import (
    CATEGORIES,
    CUSTOMER_FIELDS,
    MODES,
    REQUIRED,
    CustomerImportResult,
    CustomerPreview,
    apply_customer_import,
    guess_customer_mapping,
    list_customers,
    missing_customer_columns,
    preview_customer_import,
    rejected_customer_rows_csv,
)
from crm_core.errors import CrmError
from crm_core.tabular import read_table
from ui.context import actor
from ui.db import session
from ui.i18n import language, show_error, t

PAGE_SIZE = 50
_PREVIEW = "customers_preview"
_PENDING = "customers_import_pending"
_RESULT = "customers_result"
_REFUSED = "customers_refused"
_UPLOAD_ROUND = "customers_upload_round"


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _request_import() -> None:
    # Runs before the next script run: remember the preview on screen and the chosen mode.
    preview = st.session_state.get(_PREVIEW)
    if preview is not None:
        st.session_state[_PENDING] = (preview, st.session_state.get("customers_mode"))


def _result_message(result: CustomerImportResult) -> str:
    if result.refused:
        return t("customers.result.refused", rejected=result.rejected)
    return t(
        "customers.result.done",
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=result.rejected,
        linked=result.linked_leads,
    )


def _list_tab() -> None:
    query = st.text_input(
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


def _issues_table(preview: CustomerPreview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("customers.table.row"): issue.row,
                t("customers.table.column"): t(f"customers.column.{issue.field}")
                + (f" ({issue.column})" if issue.column else ""),
                t("customers.table.reason"): t(issue.key, **issue.params),
            }
            for issue in preview.issues
        ]
    )


def _placeholders(text: str) -> list[str]:
    # A Chinese keyboard types the full-width comma.
    return [part.strip() for part in text.replace("\uff0c", ",").split(",") if part.strip()]


def _import_tab() -> None:
    refused = st.session_state.pop(_REFUSED, None)
    upload_round = st.session_state.get(_UPLOAD_ROUND, 0)
    upload = st.file_uploader(
        t("customers.upload"),
        type=["csv", "xlsx"],
        key=f"customers_file_{upload_round}",
        help=t("customers.upload_help"),
    )
    if upload is None:
        result = st.session_state.get(_RESULT)
        if result is not None:
            st.success(_result_message(result))
        return
    st.session_state.pop(_RESULT, None)
    if refused is not None:
        st.warning(_result_message(refused))

    try:
        frame = read_table(upload.getvalue(), upload.name)
    except CrmError as error:
        show_error(error)
        return
    st.caption(t("customers.file_rows", filename=upload.name, rows=len(frame)))

    st.subheader(t("customers.mapping"))
    st.caption(t("customers.mapping_help"))
    guessed = guess_customer_mapping(frame.columns)
    options = ["", *frame.columns]
    mapping: dict[str, str | None] = {}
    grid = st.columns(3)
    for position, name in enumerate(CUSTOMER_FIELDS):
        with grid[position % 3]:
            choice = st.selectbox(
                t(f"customers.column.{name}") + (" *" if name in REQUIRED else ""),
                options,
                index=options.index(guessed.get(name) or ""),
                format_func=lambda column: column or t("customers.not_mapped"),
                key=f"customers_map_{name}_{upload.file_id}",  # a new file starts from its guess
            )
        mapping[name] = choice or None
    placeholder_text = st.text_input(
        t("customers.placeholders"),
        value=", ".join(DEFAULT_PLACEHOLDERS),
        key="customers_placeholders",
        help=t("customers.placeholders_help"),
    )
    missing = missing_customer_columns(mapping)
    if missing:
        names = ", ".join(t(f"customers.column.{m}") for m in missing)
        st.warning(t("customers.missing_columns", columns=names))
        return

    try:
        with session() as s:
            preview = preview_customer_import(
                s, me, frame, mapping, _placeholders(placeholder_text), source=upload.name
            )
    except CrmError as error:
        show_error(error)
        return
    st.session_state[_PREVIEW] = preview

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
    for column, category in zip(st.columns(len(CATEGORIES)), CATEGORIES, strict=True):
        column.metric(t(f"customers.category.{category}"), counts[category])
    st.caption(t("customers.leads_to_link", count=preview.leads_to_link))

    if preview.rejected:
        st.subheader(t("customers.bad_rows"))
        st.dataframe(_issues_table(preview), hide_index=True, width="stretch")
        st.download_button(
            t("customers.download_rejected"),
            rejected_customer_rows_csv(me, preview, language()),
            file_name="rejected_customers.csv",
            mime="text/csv",
            key="customers_download_rejected",
        )

    if not preview.rows:
        st.info(t("customers.nothing_to_import"))
    st.radio(
        t("customers.mode"),
        MODES,
        format_func=lambda mode: t(f"customers.mode.{mode}"),
        key="customers_mode",
    )
    st.button(
        t("customers.import"),
        type="primary",
        disabled=not preview.rows,
        on_click=_request_import,
        key="customers_import",
    )


me = actor()
st.title(t("nav.customers"))
st.caption(t("customers.intro"))

pending = st.session_state.pop(_PENDING, None)
if pending is not None:
    pending_preview, pending_mode = pending
    try:
        with session() as s:
            outcome = apply_customer_import(s, me, pending_preview, pending_mode or MODES[0])
    except CrmError as error:
        show_error(error)
    else:
        if outcome.refused:
            st.session_state[_REFUSED] = outcome  # keep the file: correct it or change mode
        else:
            st.session_state[_RESULT] = outcome
            # A fresh uploader: the imported file is done with.
            st.session_state[_UPLOAD_ROUND] = st.session_state.get(_UPLOAD_ROUND, 0) + 1
# Only a preview drawn on this run can be imported.
st.session_state.pop(_PREVIEW, None)

list_tab, import_tab = st.tabs([t("customers.tab.list"), t("customers.tab.import")])
with list_tab:
    _list_tab()
with import_tab:
    _import_tab()
