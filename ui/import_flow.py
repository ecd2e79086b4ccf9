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
from typing import Any

import pandas as pd
import streamlit as st

from crm_core.imports.engine import (
    FieldSpec,
    ImportOptions,
    ImportRun,
    ImportSpec,
    PastRun,
    Preview,
    apply,
    guess_columns,
    import_fields,
    last_runs,
    missing,
    preview,
    rejected_rows_csv,
    value_columns,
)
from crm_core.imports.value_mapping import choices as choices_of
from crm_core.platform.errors import CrmError
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
from ui.i18n import language, show_error, t, tmd
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
    keep_preview: bool = False,
    runs: Callable[[Any], list[PastRun]] | None = None,
    button: Callable[[Preview], str] | None = None,
    settings: Callable[[], Any] | None = None,
) -> None:
    """The whole import: upload to Import button. `show_result` draws the last run (by
    default its counts), `extra` draws what the page adds to the preview, `ready` says
    whether the Import button is enabled (by default: the preview has good rows and, for
    an import that is all or nothing by nature, no bad ones). `keep_preview`: a preview is
    kept while the file and every choice stay the same (a large file is checked once, not
    on every click). `runs(session)` lists the last runs (by default the reader's own).
    `button(preview)` words the Import button (by default `texts.import_button`).
    `settings()` draws the import's own options beyond the file (after the column mapping)
    and returns them as `ImportOptions.settings` (None: not ready, the page stops there)."""
    flow = flow_of(key)
    upload = flow.upload(
        texts.upload,
        show_result or (lambda run: show_counts(spec, run)),
        help=texts.upload_help,
    )
    frame = read_upload(upload)
    if frame is None:
        _last_runs(spec, actor, key, runs)
        return
    st.caption(tmd("{filename}: {rows} data rows.", filename=upload.name, rows=len(frame)))
    with session() as s:
        fields = import_fields(s, actor, spec)
    by_name = {f.name: f for f in fields}

    st.subheader(t("Columns"))
    st.caption(t("Which column of the file holds each field. Fields marked * are required."))
    guessed = guess_columns(fields, frame.columns)
    for name, other in spec.shared_guess:  # a field that goes by another's column
        if not guessed.get(name) and guessed.get(other):
            guessed[name] = guessed[other]
    mapping = column_mapping(
        frame.columns,
        list(by_name),
        (*spec.required, *(group[0] for group in spec.columns_needed)),
        guessed,
        label=lambda name: field_label(spec, by_name[name]),
        not_mapped=t("(not in the file)"),
        key=f"{key}_map",
        file_id=upload.file_id,
    )
    defaults = file_defaults(spec, actor, key, upload.file_id, by_name)
    placeholders = placeholder_input(
        t('Cells that mean "nothing"'),
        t("Comma separated. A cell equal to one of these (case ignored) counts as blank."),
        f"{key}_placeholders",
    )
    # Only a file with dates or times has a zone to choose.
    timed = any(f.kind in ("date", "datetime") for f in fields)
    zone = file_zone_picker(f"{key}_zone") if timed else None
    own = settings() if settings is not None else None
    if settings is not None and own is None:
        return
    if spec.mapping_problems is not None:
        problems = spec.mapping_problems(mapping, defaults)
        for problem in problems:
            st.warning(t(problem))
        if problems:
            return
    absent = missing(spec, mapping, defaults)
    if absent:
        names = ", ".join(field_label(spec, by_name[m]) for m in absent)
        st.warning(t("Choose a column for: {columns}.", columns=names))
        return

    choices: dict[str, dict[str, str]] = {}
    options = ImportOptions(mapping, placeholders, zone, choices, upload.name, defaults, own)
    kept = f"{key}_kept"
    try:
        with session() as s:
            found = value_columns(s, actor, spec, frame, options)
    except CrmError as error:
        show_error(error)
        return
    if found:
        st.subheader(t("Values"))
        for name, resolved in found.items():
            field = by_name[name]
            choices[name] = value_mapping(
                actor,
                name,
                field.category or "",
                resolved,
                title=field_label(spec, field),
                key=f"{key}_values_{name}_{upload.file_id}",
                on_created=lambda: st.session_state.pop(kept, None),
            )
    signature = (
        upload.file_id,
        tuple(mapping.items()),
        tuple(placeholders),
        zone,
        tuple(sorted((f, tuple(sorted(c.items()))) for f, c in choices.items())),
        tuple(sorted(defaults.items())),
        own.signature() if hasattr(own, "signature") else own,
    )
    last = st.session_state.get(kept)
    if keep_preview and last is not None and last[0] == signature:
        plan = last[1]
        st.session_state[flow.preview] = plan
    else:
        plan = flow.draw_preview(lambda s: preview(s, actor, spec, frame, options))
        if keep_preview and plan is not None:
            st.session_state[kept] = (signature, plan)
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
    label = button(plan) if button is not None else texts.import_button or t("Import")
    flow.import_button(label, f"{key}_import", disabled=not can)


def file_defaults(
    spec: ImportSpec, actor, key: str, file_id: str, by_name: dict[str, FieldSpec]
) -> dict[str, Any]:
    """A picker per field the spec offers a value for the whole file (options of the
    field's list; several for a list field): field -> the chosen value."""
    if not spec.file_defaults:
        return {}
    chosen: dict[str, Any] = {}
    with session() as s:
        lists = {n: choices_of(s, by_name[n].category or "") for n in spec.file_defaults}
    grid = st.columns(len(spec.file_defaults))
    for column, name in zip(grid, spec.file_defaults, strict=True):
        field = by_name[name]
        names = {c.code: c.label_zh if language() == "zh" else c.label_en for c in lists[name]}
        label = t("{field} where the file has none", field=field_label(spec, field))
        help = t("For rows whose cell is blank, or for every row when the file has no column.")
        if field.several:
            picked = column.multiselect(
                label,
                list(names),
                format_func=lambda code, names=names: names.get(code, code),
                help=help,
                key=f"{key}_default_{name}_{file_id}",
            )
            if picked:
                chosen[name] = tuple(picked)
        else:
            code = column.selectbox(
                label,
                ["", *names],
                format_func=lambda code, names=names: names.get(code, t("- none -")),
                help=help,
                key=f"{key}_default_{name}_{file_id}",
            )
            if code:
                chosen[name] = code
    return chosen


def _last_runs(
    spec: ImportSpec, actor, key: str, listed: Callable[[Any], list[PastRun]] | None
) -> None:
    """The last runs of this import (by default the reader's own): when, which file, what
    it stored (or that all or nothing refused it)."""
    with session() as s:
        runs = listed(s) if listed is not None else last_runs(s, actor, spec)
    if not runs:
        return
    with st.expander(t("Your last imports"), expanded=False):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Time"): show_time(run.at),
                        t("File"): run.source,
                        t("Result"): _result(spec, run),
                    }
                    for run in runs
                ]
            ),
            hide_index=True,
            width="stretch",
            key=f"{key}_last_runs",
        )


def _result(spec: ImportSpec, run: PastRun) -> str:
    counts = ", ".join(f"{category_label(spec, c)} {n}" for c, n in run.counts.items() if n)
    if run.refused:
        return t("Refused (all or nothing): {counts}", counts=counts)
    return counts


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
