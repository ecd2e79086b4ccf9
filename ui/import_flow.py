"""One page flow for every file import on the engine (`crm_core.imports.engine`): upload,
the file's zone, the column mapping (guessed, editable), value mapping for option columns,
the placeholders, the mode, the preview (counts per category, bad rows with their download,
warnings), the import on the next run, and the last result. An import page is a call of
`import_page` with its spec, its texts and whatever is truly its own (`extra`).

The Import button only remembers which preview was on screen and the chosen mode; the next
run imports exactly that preview (see `ui.file_import.ImportFlow`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from crm_core.imports.engine import (
    FieldSpec,
    ImportOptions,
    ImportRun,
    ImportSpec,
    Preview,
    apply,
    guess_columns,
    import_fields,
    last_runs,
    missing,
    preview,
    rejected_rows_csv,
)
from crm_core.platform.i18n import label_of
from ui.company_time import file_zone_picker, show_time
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
from ui.i18n import language, t, tmd
from ui.value_mapping import value_mapping


@dataclass(frozen=True)
class ImportTexts:
    """What a page calls its import: the uploader's label and help, and the name of the
    rejected rows' file."""

    upload: str
    upload_help: str
    rejected_file: str
    import_button: str | None = None  # default "Import"


def flow_of(key: str) -> ImportFlow:
    """The session keys of the import page `key`."""
    return ImportFlow(
        preview=f"{key}_preview",
        pending=f"{key}_import_pending",
        result=f"{key}_result",
        upload_round=f"{key}_upload_round",
        uploader=f"{key}_file",
        mode=f"{key}_mode",
        refused=f"{key}_refused",
    )


def field_label(spec: ImportSpec, field: FieldSpec) -> str:
    """A field's name in the reader's language: its own label (custom fields), else the
    import's label family."""
    if field.labels:
        return field.labels.get(language()) or field.name
    return t(label_of(f"{spec.kind}.column", field.name))


def category_label(spec: ImportSpec, category: str) -> str:
    """A category's name in the reader's language (the import's label family; bad rows are
    named alike where the family does not name them)."""
    key = label_of(f"{spec.kind}.category", category)
    if key == category == "rejected":
        return t("Bad rows")
    return t(key)


def run_pending(spec: ImportSpec, actor, key: str) -> None:
    """Import the preview the Import button asked for on the last run (call it early on
    the page, before anything reads what the import changes)."""

    def run(s, plan: Preview, mode: str) -> ImportRun:
        bar = st.progress(0.0, text=t("Importing..."))
        try:
            return apply(s, actor, spec, plan, mode, progress=bar.progress)
        finally:
            bar.empty()

    flow_of(key).run_pending(run)


def show_counts(spec: ImportSpec, run: ImportRun) -> None:
    """The outcome of an import: refused by all or nothing, or what it stored."""
    counts = run.counts
    if run.refused:
        st.warning(
            t(
                "Nothing was imported: {rejected} rows are rejected and you chose all or nothing. Correct the file, or choose to store the good rows.",
                rejected=counts.get("rejected", 0),
            )
        )
        return
    parts = ", ".join(
        f"{category_label(spec, c)}: {counts.get(c, 0)}" for c in (*spec.categories, "rejected")
    )
    st.success(t("Import done: {counts}.", counts=parts))


def import_page(
    spec: ImportSpec,
    actor,
    key: str,
    texts: ImportTexts,
    *,
    show_result: Callable[[ImportRun], None] | None = None,
    extra: Callable[[Preview], None] | None = None,
    ready: Callable[[Preview], bool] | None = None,
) -> None:
    """The whole import: upload to Import button. `show_result` draws the last run (by
    default its counts), `extra` draws what the page adds to the preview, `ready` says
    whether the Import button is enabled (by default: the preview has good rows and, for
    an import that is all or nothing by nature, no bad ones)."""
    flow = flow_of(key)
    upload = flow.upload(
        texts.upload,
        show_result or (lambda run: show_counts(spec, run)),
        help=texts.upload_help,
    )
    frame = read_upload(upload)
    if frame is None:
        _last_runs(spec, actor, key)
        return
    st.caption(tmd("{filename}: {rows} data rows.", filename=upload.name, rows=len(frame)))
    with session() as s:
        fields = import_fields(s, actor, spec)
    by_name = {f.name: f for f in fields}

    st.subheader(t("Columns"))
    st.caption(t("Which column of the file holds each field. Fields marked * are required."))
    mapping = column_mapping(
        frame.columns,
        list(by_name),
        (*spec.required, *(group[0] for group in spec.columns_needed)),
        guess_columns(fields, frame.columns),
        label=lambda name: field_label(spec, by_name[name]),
        not_mapped=t("(not in the file)"),
        key=f"{key}_map",
        file_id=upload.file_id,
    )
    placeholders = placeholder_input(
        t('Cells that mean "nothing"'),
        t("Comma separated. A cell equal to one of these (case ignored) counts as blank."),
        f"{key}_placeholders",
    )
    # Only a file with dates or times has a zone to choose.
    timed = any(f.kind in ("date", "datetime") for f in fields)
    zone = file_zone_picker(f"{key}_zone") if timed else None
    absent = missing(spec, mapping)
    if absent:
        names = ", ".join(field_label(spec, by_name[m]) for m in absent)
        st.warning(t("Choose a column for: {columns}.", columns=names))
        return

    choices: dict[str, dict[str, str]] = {}
    options = ImportOptions(mapping, placeholders, zone, choices, upload.name)
    plan = flow.draw_preview(lambda s: preview(s, actor, spec, frame, options))
    if plan is not None and plan.values:
        st.subheader(t("Values"))
        for name, resolved in plan.values.items():
            field = by_name[name]
            choices[name] = value_mapping(
                actor,
                name,
                field.category or "",
                resolved,
                title=field_label(spec, field),
                key=f"{key}_values_{name}_{upload.file_id}",
            )
        if any(choices.values()):  # the user's choices change what the file holds
            plan = flow.draw_preview(lambda s: preview(s, actor, spec, frame, options))
    if plan is None:
        return
    _show_preview(spec, actor, key, texts, plan, extra)
    if len(spec.modes) > 1:
        flow.mode_picker(t("Rows to store"), lambda mode: t(label_of("customers.mode", mode)))
    else:
        st.session_state[flow.mode] = spec.modes[0]
    if ready is None:
        can = bool(plan.rows) and (len(spec.modes) > 1 or not plan.rejected)
    else:
        can = ready(plan)
    label = texts.import_button or t("Import")
    flow.import_button(label, f"{key}_import", disabled=not can)


def _last_runs(spec: ImportSpec, actor, key: str) -> None:
    """The reader's own last runs of this import: when, which file, what it stored."""
    with session() as s:
        runs = last_runs(s, actor, spec)
    if not runs:
        return
    with st.expander(t("Your last imports"), expanded=False):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Time"): show_time(run.at),
                        t("File"): run.source,
                        t("Result"): ", ".join(
                            f"{category_label(spec, c)} {n}" for c, n in run.counts.items() if n
                        ),
                    }
                    for run in runs
                ]
            ),
            hide_index=True,
            width="stretch",
            key=f"{key}_last_runs",
        )


def _show_preview(
    spec: ImportSpec,
    actor,
    key: str,
    texts: ImportTexts,
    plan: Preview,
    extra: Callable[[Preview], None] | None,
) -> None:
    by_name = {f.name: f for f in plan.fields}

    def label(name: str) -> str:
        return field_label(spec, by_name[name]) if name in by_name else name

    st.subheader(t("What the import would do"))
    counts = plan.counts
    st.write(
        t(
            "{total} rows: {good} good, {bad} rejected.",
            total=plan.total_rows,
            good=len(plan.rows),
            bad=counts["rejected"],
        )
    )
    categories = (*spec.categories, "rejected")
    category_metrics(counts, categories, lambda c: category_label(spec, c))
    headers = (t("Row"), t("Column"), t("Reason"))
    if plan.warnings:
        st.subheader(t("Warnings"))
        st.caption(t("These rows are stored all the same; look at them after the import."))
        st.dataframe(issues_table(plan.warnings, label, headers), hide_index=True, width="stretch")
    if plan.rejected:
        bad_rows(
            t("Rejected rows"),
            issues_table(plan.issues, label, headers),
            download=t("Download the rejected rows (CSV)"),
            data=rejected_rows_csv(actor, spec, plan, language()),
            file_name=texts.rejected_file,
            key=f"{key}_download_rejected",
        )
    if extra is not None:
        extra(plan)
    if not plan.rows:
        st.info(t("The file has no good rows to store."))
