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
        st.warning(t("learning.result.refused", rejected=result.rejected))
        return
    st.success(
        t(
            "learning.result.done",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            older=result.older,
            rejected=result.rejected,
        )
    )


def _column(name: str) -> str:
    return t(f"learning.column.{name}")


def _rows_table(preview: LearningPreview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("learning.table.row"): row.row,
                t("learning.table.lead"): row.lead_name,
                t("learning.table.phone"): row.phone,
                t("learning.table.course"): row.course,
                t("learning.table.progress"): row.progress_pct,
                t("learning.table.last_studied"): row.last_studied_on.isoformat()
                if row.last_studied_on
                else "",
                t("learning.table.category"): t(f"learning.category.{row.category}"),
            }
            for row in preview.rows[:SHOWN_ROWS]
        ]
    )


def _import_section() -> None:
    upload = FLOW.upload(t("learning.upload"), _show_result, help=t("learning.upload_help"))
    frame = read_upload(upload)
    if frame is None:
        return
    st.caption(tmd("learning.file_rows", filename=upload.name, rows=len(frame)))
    st.subheader(t("learning.mapping"))
    st.caption(t("learning.mapping_help"))
    mapping = column_mapping(
        frame.columns,
        LEARNING_FIELDS,
        REQUIRED,
        guess_learning_mapping(frame.columns),
        label=_column,
        not_mapped=t("learning.not_mapped"),
        key="learning_map",
        file_id=upload.file_id,
    )
    placeholders = placeholder_input(
        t("learning.placeholders"), t("learning.placeholders_help"), "learning_placeholders"
    )
    file_zone = file_zone_picker("learning_zone")
    missing = missing_learning_columns(mapping)
    if missing:
        names = ", ".join(_column(m) for m in missing)
        st.warning(t("learning.missing_columns", columns=names))
        return
    preview = FLOW.draw_preview(
        lambda s: preview_learning_import(
            s, me, frame, mapping, placeholders, source=upload.name, time_zone=file_zone
        )
    )
    if preview is None:
        return

    st.subheader(t("learning.preview"))
    counts = preview.counts
    st.write(
        t(
            "learning.summary",
            total=preview.total_rows,
            good=len(preview.rows),
            bad=counts["rejected"],
        )
    )
    category_metrics(counts, CATEGORIES, lambda c: t(f"learning.category.{c}"))
    if preview.rejected:
        bad_rows(
            t("learning.bad_rows"),
            issues_table(
                preview.issues,
                _column,
                (t("learning.table.row"), t("learning.table.column"), t("learning.table.reason")),
            ),
            download=t("learning.download_rejected"),
            data=rejected_learning_rows_csv(me, preview, language()),
            file_name="rejected_study_activity.csv",
            key="learning_download_rejected",
            table_key="learning_issues",
        )
    if preview.rows:
        st.subheader(t("learning.good_rows", count=min(SHOWN_ROWS, len(preview.rows))))
        st.dataframe(_rows_table(preview), hide_index=True, width="stretch", key="learning_rows")
    else:
        st.info(t("learning.nothing_to_import"))
    FLOW.mode_picker(t("learning.mode"), lambda mode: t(f"learning.mode.{mode}"))
    FLOW.import_button(t("learning.import"), "learning_import", disabled=not preview.rows)


me = actor()
st.title(t("nav.learning_import"))
st.caption(t("learning.intro"))

FLOW.run_pending(lambda s, preview, mode: apply_learning_import(s, me, preview, mode))

_import_section()
