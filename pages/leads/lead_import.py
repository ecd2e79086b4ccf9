"""Lead import (marketing, managers): the import engine's page flow (`ui.import_flow`) with
the lead import's spec - upload -> column mapping (custom fields of leads and opportunities
among the fields) -> channel and business lines for the whole file -> value mapping ->
preview (a dry run of the intake) -> import.

The preview is kept while the file and every choice stay the same. The Import button only
remembers which preview was on screen; the next run imports exactly that preview, under a
progress bar. Stopping the page mid-run rolls the whole import back.
"""

from __future__ import annotations

import streamlit as st

from crm_core.circulation.pools import COMPANY_POOL, pool_choices
from crm_core.imports.engine import ImportRun, Preview
from crm_core.imports.leads import LEADS, list_imports
from crm_core.imports.leads.landing import LeadSettings
from crm_core.imports.leads.spec import STORED
from crm_core.imports.leads.updates import UPDATED
from crm_core.platform.metadata import list_business_lines
from ui.context import actor
from ui.db import session
from ui.i18n import nt, t
from ui.import_flow import ImportTexts, flow_of, import_page, run_pending
from ui.lead_import_report import show_preview_report, show_run

KEY = "lead_import"

me = actor()
st.title(t("Import leads"))
st.caption(
    t(
        "Upload a CSV or Excel file of leads (up to 200,000 rows). Check which column is which, look at the preview, then import. Known people are not duplicated: their owners keep them and see the new inquiry."
    )
)
with session() as s:
    line_names = {line.code: line.name for line in list_business_lines(s)}


def _mode() -> str | None:
    return st.session_state.get(flow_of(KEY).mode)


def _extra(plan: Preview) -> None:
    show_preview_report(plan, _mode(), line_names)


def _ready(plan: Preview) -> bool:
    # Collisions alone are worth a run too: each logs the new inquiry on the owner's
    # opportunity.
    to_store = len(plan.rows_in(*STORED, UPDATED))
    return bool(to_store) and not (_mode() == "all_or_nothing" and plan.rejected)


def _button(plan: Preview) -> str:
    to_store = len(plan.rows_in(*STORED, UPDATED))
    return nt("Import ({n} row)", "Import ({n} rows)", to_store)


def _result(run: ImportRun) -> None:
    show_run(run, line_names)


def _settings() -> LeadSettings:
    """Where the new opportunities go: dispatch as always, or a pool the importer may
    choose (`crm_core.circulation.pools`)."""
    with session() as s:
        pools = {c.unit_id: c.label for c in pool_choices(s, me)}
    pool = st.selectbox(
        t("New opportunities go to"),
        [None, *pools],
        key=f"{KEY}_pool",
        format_func=lambda u: (
            t("Dispatch, as the rules say")
            if u is None
            else t("The pool of the whole company")
            if u == COMPANY_POOL
            else t("The pool of {unit}", unit=pools[u])
        ),
        help=t(
            "In a pool, reps claim them instead of dispatch handing them out. Rows that name an owner or close stay as they say."
        ),
    )
    existing = st.selectbox(
        t("Rows of leads already stored"),
        [False, True],
        format_func=lambda update: (
            t("Update their fields (add new and update existing)")
            if update
            else t("Only add (the owner sees the new inquiry)")
        ),
        key=f"{KEY}_update",
        help=t(
            "Matched by external id, else by phone. Blank cells never erase a value; the preview lists every field that would change."
        ),
    )
    return LeadSettings(pool=pool, update_existing=existing)


run_pending(LEADS, me, KEY)
import_page(
    LEADS,
    me,
    KEY,
    ImportTexts(
        upload=t("Lead file (CSV or XLSX)"),
        upload_help=t(
            "UTF-8 (with or without BOM), GBK and Excel files all read. The first row holds the column names."
        ),
        rejected_file="rejected-leads.csv",
    ),
    show_result=_result,
    extra=_extra,
    ready=_ready,
    keep_preview=True,
    runs=lambda s: list_imports(s, me),
    button=_button,
    settings=_settings,
)
