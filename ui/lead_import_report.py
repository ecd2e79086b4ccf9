"""The lead import's own part of its page (the rest is `ui.import_flow`): the preview's
summary in words, what closes and brings revenue, the rows imported before, the collisions
with their owners and the repeats in the file; and a finished run's outcome."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.engine import ImportRun, Preview
from crm_core.imports.leads import ALREADY_IMPORTED, CATEGORIES, IntakeFindings
from crm_core.platform.i18n import label_of
from ui.i18n import nt, t


def _collisions_table(seen: IntakeFindings, line_names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Row"): c.row,
                t("Name"): c.name,
                t("Phone"): c.phone,
                t("Business line"): line_names.get(c.business_line, c.business_line),
                t("Current owner"): t("A colleague (outside your scope)")
                if c.hidden
                else c.owner_name or t(label_of("pool", c.pool_state)),
            }
            for c in seen.collisions
        ]
    )


def _summary(plan: Preview, mode: str | None) -> None:
    bad, total = len(plan.rejected), plan.total_rows
    if bad and bad == total:
        st.error(
            nt(
                "The file's {count} row is bad; see the reason below. Nothing can be imported.",
                "All {count} rows are bad; see the reasons below. Nothing can be imported.",
                bad,
                count=bad,
            )
        )
    elif bad and mode == "all_or_nothing":
        st.error(
            nt(
                "{count} row is bad, so with all or nothing this file would not be imported. Fix the row or choose to import the good ones.",
                "{count} rows are bad, so with all or nothing this file would not be imported. Fix the rows or choose to import the good ones.",
                bad,
                count=bad,
            )
        )
    elif bad:
        st.warning(
            nt(
                "{count} row cannot be imported; see the reason below. The other {good} can be imported.",
                "{count} rows cannot be imported; see the reasons below. The other {good} can be imported.",
                bad,
                count=bad,
                good=total - bad,
            )
        )
    elif total:
        st.success(
            nt("The file's {count} row is good.", "All {count} rows are good.", total, count=total)
        )


def _findings(
    seen: IntakeFindings, closes_at_file_dates: bool | None, line_names: dict[str, str]
) -> None:
    """Closes and revenue (not for a finished run: `closes_at_file_dates` None), collisions
    and repeats in the file."""
    if seen.closed and closes_at_file_dates is not None:
        closes = t(
            "{won} won and {lost} lost rows close their opportunities (no order: a win without an amount brings no revenue).",
            won=seen.closed.get("won", 0),
            lost=seen.closed.get("lost", 0),
        )
        when = (
            t("They close at the file's close date.")
            if closes_at_file_dates
            else t("The file has no close date column: they close at their first contact date.")
        )
        paid = (
            nt(
                "{count} won row brings its amount as revenue: a paid order at its close date.",
                "{count} won rows bring their amounts as revenue: a paid order at each close date.",
                seen.revenue,
                count=seen.revenue,
            )
            if seen.revenue
            else ""
        )
        st.info(f"{closes} {when} {paid}".strip())
    collisions, repeats = st.tabs(
        [
            t("Collisions ({count})", count=len(seen.collisions)),
            t("Repeated in file ({count})", count=len(seen.duplicates)),
        ]
    )
    with collisions:
        if seen.collisions:
            st.caption(
                t(
                    "These people already have an opportunity on that business line. Its owner keeps it and the inquiry is logged on it."
                )
            )
            st.dataframe(_collisions_table(seen, line_names), hide_index=True, width="stretch")
        else:
            st.caption(t("Nobody in the file is already being followed up."))
    with repeats:
        if seen.duplicates:
            table = pd.DataFrame(
                [{t("Row"): row, t("Same person as row"): first} for row, first in seen.duplicates]
            )
            st.dataframe(table, hide_index=True, width="stretch")
        else:
            st.caption(t("No person appears twice in the file."))


def show_preview_report(plan: Preview, mode: str | None, line_names: dict[str, str]) -> None:
    """Beside the engine's preview: the summary in words (with the chosen mode), closes and
    revenue, rows imported before, collisions and repeats in the file."""
    _summary(plan, mode)
    before = len(plan.rows_in(ALREADY_IMPORTED))
    if before:
        st.caption(
            nt(
                "{n} row was imported before and adds nothing.",
                "{n} rows were imported before and add nothing.",
                before,
            )
        )
    seen = plan.details.get("intake") or IntakeFindings()
    _findings(seen, bool(plan.mapping.get("closed_at")), line_names)
    _updates(plan)


def _updates(plan: Preview) -> None:
    """Every field each row would change on the stored lead it names (old -> new)."""
    updates = sorted((plan.details.get("updates") or {}).values(), key=lambda u: u.row)
    changes = [(u, c) for u in updates for c in u.changes]
    if not changes:
        return
    st.markdown(f"**{t('Changes to stored leads')}**")
    st.caption(
        nt(
            "{n} stored lead would be updated; blank cells change nothing.",
            "{n} stored leads would be updated; blank cells change nothing.",
            sum(1 for u in updates if u.changes),
        )
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Row"): u.row,
                    t("Lead"): f"#{u.lead_id}",
                    t("Field"): t(label_of("lead_import.field", c.field)),
                    t("Now"): c.old or "",
                    t("After the import"): c.new,
                }
                for u, c in changes
            ]
        ),
        hide_index=True,
        width="stretch",
        key="lead_import_updates",
    )


def show_run(run: ImportRun, line_names: dict[str, str]) -> None:
    """A finished run: refused by all or nothing, or what it stored, with its collisions."""
    counts = run.counts
    if run.refused:
        st.error(
            nt(
                "Nothing was imported: {n} row is bad and all or nothing was chosen.",
                "Nothing was imported: {n} rows are bad and all or nothing was chosen.",
                counts.get("rejected", 0),
            )
        )
        return
    st.success(
        t(
            "Import finished: {stored} of {total} rows added a new lead or business line.",
            stored=counts.get("created", 0) + counts.get("added_line", 0),
            total=run.details.get("total_rows", 0),
        )
    )
    statuses = (*CATEGORIES, "rejected")
    for column, status in zip(st.columns(len(statuses)), statuses, strict=True):
        column.metric(t(label_of("lead_import.count", status)), f"{counts.get(status, 0):,}")
    if isinstance(run.result, IntakeFindings):
        _findings(run.result, None, line_names)
