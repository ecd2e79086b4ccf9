"""Study activity import (manage_customers): a file from the learning system - phone or
customer id, course, progress %, last study date - checked row by row, then stored as the
talking points reps see on the opportunity. Previewed, then imported through the shared
import flow (`ui.import_flow`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.engine import ImportRun, Preview
from crm_core.imports.study import STUDY
from crm_core.platform.i18n import label_of
from ui.context import actor
from ui.i18n import t
from ui.import_flow import ImportTexts, import_page, run_pending

SHOWN_ROWS = 50


def _show_result(result: ImportRun) -> None:
    if result.refused:
        st.warning(
            t(
                "Nothing was imported: {rejected} rows are rejected. Correct them or import the good rows only.",
                rejected=result.counts["rejected"],
            )
        )
        return
    st.success(
        t(
            "Imported: {created} new, {updated} updated, {unchanged} unchanged, {older} kept (the stored study is newer), {rejected} rejected.",
            created=result.counts["new"],
            updated=result.counts["updated"],
            unchanged=result.counts["unchanged"],
            older=result.counts["older"],
            rejected=result.counts["rejected"],
        )
    )


def _rows_table(preview: Preview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Row"): row.row,
                t("Lead"): row.lead_name,
                t("Phone"): row.phone,
                t("Course"): row.course,
                t("Progress %"): row.progress_pct,
                t("Last studied"): row.last_studied_on.isoformat() if row.last_studied_on else "",
                t("Result"): t(label_of("learning.category", row.category)),
            }
            for row in preview.rows[:SHOWN_ROWS]
        ]
    )


def _good_rows(preview: Preview) -> None:
    if preview.rows:
        st.subheader(t("Good rows (first {count})", count=min(SHOWN_ROWS, len(preview.rows))))
        st.dataframe(_rows_table(preview), hide_index=True, width="stretch", key="learning_rows")


me = actor()
st.title(t("Study activity import"))
st.caption(
    t(
        "Study activity exported from the learning system: which course each student studies, how far they got and when they last studied. Reps see it on the opportunity as talking points for renewals. A re-import updates each student's course to the newer values."
    )
)

run_pending(STUDY, me, "learning")
st.caption(
    t(
        "Guessed from the headers; correct them if needed. A row names its student by phone, by customer id, or by both."
    )
)
import_page(
    STUDY,
    me,
    "learning",
    ImportTexts(
        upload=t("Study activity file (CSV or Excel)"),
        upload_help=t(
            "One row per student and course: phone or customer id (the learning platform's user id), course, progress %, last study date."
        ),
        rejected_file="rejected_study_activity.csv",
    ),
    show_result=_show_result,
    extra=_good_rows,
)
