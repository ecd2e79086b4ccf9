"""Study activity import (manage_customers): a file from the learning system - phone or
customer id, course, progress %, last study date - checked row by row, then stored as the
talking points reps see on the opportunity. Previewed, then imported as every file import
is (see `ui.file_import`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.study import (
    CATEGORIES,
    LEARNING_FIELDS,
    REQUIRED,
    LearningImportResult,
    LearningPreview,
    apply_learning_import,
    guess_learning_mapping,
    missing_learning_columns,
    preview_learning_import,
    rejected_learning_rows_csv,
)
from crm_core.platform.i18n import label_of
from ui.company_time import file_zone_picker
from ui.context import actor
from ui.file_import import (
    ImportFlow,
    bad_rows,
    category_metrics,
    column_mapping,
    issues_table,
    placeholder_input,
    read_upload,
)
from ui.i18n import language, t, tmd

SHOWN_ROWS = 50
FLOW = ImportFlow(
    preview="learning_preview",
    pending="learning_import_pending",
    result="learning_result",
    upload_round="learning_upload_round",
    uploader="learning_file",
    mode="learning_mode",
    refused="learning_refused",
)


def _show_result(result: LearningImportResult) -> None:
    if result.refused:
        st.warning(
            t(
                "Nothing was imported: {rejected} rows are rejected. Correct them or import the good rows only.",
                rejected=result.rejected,
            )
        )
        return
    st.success(
        t(
            "Imported: {created} new, {updated} updated, {unchanged} unchanged, {older} kept (the stored study is newer), {rejected} rejected.",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            older=result.older,
            rejected=result.rejected,
        )
    )


def _column(name: str) -> str:
    return t(label_of("learning.column", name))


def _rows_table(preview: LearningPreview) -> pd.DataFrame:
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


def _import_section() -> None:
    upload = FLOW.upload(
        t("Study activity file (CSV or Excel)"),
        _show_result,
        help=t(
            "One row per student and course: phone or customer id (the learning platform's user id), course, progress %, last study date."
        ),
    )
    frame = read_upload(upload)
    if frame is None:
        return
    st.caption(tmd("{filename}: {rows} rows.", filename=upload.name, rows=len(frame)))
    st.subheader(t("Columns"))
    st.caption(
        t(
            "Guessed from the headers; correct them if needed. A row names its student by phone, by customer id, or by both."
        )
    )
    mapping = column_mapping(
        frame.columns,
        LEARNING_FIELDS,
        REQUIRED,
        guess_learning_mapping(frame.columns),
        label=_column,
        not_mapped=t("(not in the file)"),
        key="learning_map",
        file_id=upload.file_id,
    )
    placeholders = placeholder_input(
        t("Cells that mean “empty”"),
        t("Comma-separated; such cells count as blank."),
        "learning_placeholders",
    )
    file_zone = file_zone_picker("learning_zone")
    missing = missing_learning_columns(mapping)
    if missing:
        names = ", ".join(_column(m) for m in missing)
        st.warning(t("Choose a column for: {columns}.", columns=names))
        return
    preview = FLOW.draw_preview(
        lambda s: preview_learning_import(
            s, me, frame, mapping, placeholders, source=upload.name, time_zone=file_zone
        )
    )
    if preview is None:
        return

    st.subheader(t("Preview"))
    counts = preview.counts
    st.write(
        t(
            "{total} rows: {good} good, {bad} rejected.",
            total=preview.total_rows,
            good=len(preview.rows),
            bad=counts["rejected"],
        )
    )
    category_metrics(counts, CATEGORIES, lambda c: t(label_of("learning.category", c)))
    if preview.rejected:
        bad_rows(
            t("Rejected rows"),
            issues_table(
                preview.issues,
                _column,
                (t("Row"), t("Column"), t("Reason")),
            ),
            download=t("Download the rejected rows (CSV)"),
            data=rejected_learning_rows_csv(me, preview, language()),
            file_name="rejected_study_activity.csv",
            key="learning_download_rejected",
            table_key="learning_issues",
        )
    if preview.rows:
        st.subheader(t("Good rows (first {count})", count=min(SHOWN_ROWS, len(preview.rows))))
        st.dataframe(_rows_table(preview), hide_index=True, width="stretch", key="learning_rows")
    else:
        st.info(t("No row can be imported."))
    FLOW.mode_picker(t("When rows are rejected"), lambda mode: t(label_of("learning.mode", mode)))
    FLOW.import_button(t("Import"), "learning_import", disabled=not preview.rows)


me = actor()
st.title(t("Study activity import"))
st.caption(
    t(
        "Study activity exported from the learning system: which course each student studies, how far they got and when they last studied. Reps see it on the opportunity as talking points for renewals. A re-import updates each student's course to the newer values."
    )
)

FLOW.run_pending(lambda s, preview, mode: apply_learning_import(s, me, preview, mode))

_import_section()
