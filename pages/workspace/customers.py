"""Customers (manage_customers): the searchable list, and the import from the learning
platform's user export, previewed and then imported through the shared import flow (`ui.import_flow`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.customers import CUSTOMERS
from crm_core.imports.engine import ImportRun, Preview
from crm_core.leads.customers import list_customers
from crm_core.platform.errors import CrmError
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.import_flow import ImportTexts, import_page, run_pending
from ui.inputs import search_input
from ui.tables import open_table

LIBRARY = "pages/leads/library.py"
PAGE_SIZE = 50


def _when(value) -> str:
    return show_time(value)


def _show_result(result: ImportRun) -> None:
    if result.refused:
        st.warning(
            t(
                "Nothing was imported: {rejected} rows are rejected and you chose all or nothing. Correct the file, or choose to store the good rows.",
                rejected=result.counts["rejected"],
            )
        )
        return
    st.success(
        t(
            "Import done: {created} new, {updated} updated, {unchanged} unchanged, {rejected} rejected rows left out; {linked} leads linked.",
            created=result.counts["new"],
            updated=result.counts["updated"],
            unchanged=result.counts["unchanged"],
            rejected=result.counts["rejected"],
            linked=result.details["linked_leads"],
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
    # A row opens the card of its newest linked lead in the lead library.
    opens = open_table(
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
        [row.lead_id for row in page.rows],
        key="customers_rows",
        open_page=LIBRARY,
        params_of=lambda lead: {} if lead is None else {"lead": str(lead)},
    )
    if opens:
        st.caption(t("Click a customer to open the card of their newest linked lead."))


def _leads_to_link(plan: Preview) -> None:
    st.caption(
        t("Leads that would be linked by phone: {count}.", count=plan.details["leads_to_link"])
    )


def _import_tab() -> None:
    import_page(
        CUSTOMERS,
        me,
        "customers",
        ImportTexts(
            upload=t("Customer file (CSV or XLSX)"),
            upload_help=t(
                "The user export of the learning platform. A blank cell keeps what is stored."
            ),
            rejected_file="rejected_customers.csv",
        ),
        show_result=_show_result,
        extra=_leads_to_link,
    )


me = actor()
st.title(t("Customers"))
st.caption(
    t(
        "Registered users of the learning platform. Leads with the same phone number are linked to them."
    )
)

run_pending(CUSTOMERS, me, "customers")

list_tab, import_tab = st.tabs([t("Customer list"), t("Import")])
with list_tab:
    _list_tab()
with import_tab:
    _import_tab()
