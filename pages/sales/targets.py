"""Sales targets (业绩目标): monthly targets of revenue, won opportunities and new paid
students per org unit and person; attainment for a month or a quarter (the sum of its
months); a unit's target split among its child units and people, with what is left; the
history of every change; and the target import."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.imports.targets import TARGETS
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.permissions import Permission
from crm_core.sales.target_attainment import PERIODS, attainment
from crm_core.sales.target_history import target_history
from crm_core.sales.targets import readable_units, settable_units, settable_users
from ui.company_time import company_today, show_time
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.import_flow import ImportTexts, import_page, run_pending
from ui.target_split import split_editor
from ui.targets import (
    attainment_frame,
    metric_label,
    month_choices,
    month_text,
    show_attainment,
    value_text,
)

IMPORT_KEY = "targets_import"
me = actor()
manager = me.can(Permission.MANAGE_TARGETS)
if manager:
    run_pending(TARGETS, me, IMPORT_KEY)
st.title(t("Sales targets"))
st.caption(
    t(
        "Monthly targets of revenue, won opportunities and new paid students per org unit and person; a quarter's target is the sum of its months. Actual figures are credited as on team performance: to the rep and the unit frozen on each order at payment. New paid students: people whose first paid order falls in the period."
    )
)
today = company_today()
months = month_choices(today)
left, right = st.columns(2)
period = (
    left.segmented_control(
        t("Period"),
        PERIODS,
        default="month",
        format_func=lambda p: t(label_of("target.period", p)),
        key="targets_period",
    )
    or "month"
)
month = right.selectbox(
    t("Month"),
    months,
    index=months.index(today.replace(day=1)),
    format_func=month_text,
    key="targets_month",
)
try:
    with session() as s:
        found = attainment(s, me, month, period)
        units = readable_units(s, me)
        settable = set()
        if manager:
            settable = {("unit", u) for u in settable_units(s, me)} | {
                ("user", u) for u in settable_users(s, me)
            }
        history = target_history(s, me, month=month if period == "month" else None)
except CrmError as error:
    show_error(error)
    st.stop()

names = {u.id: u.name for u in units.values()}
labels = [t("Attainment"), t("History")]
if manager:
    labels[1:1] = [t("Set and split"), t("Import")]
tabs = dict(zip(labels, st.tabs(labels), strict=True))

with tabs[t("Attainment")]:
    st.caption(t("Months: {months}", months=", ".join(month_text(m) for m in found.months)))
    st.subheader(t("Org units"))
    for row in found.units:
        row.name = (
            "\u3000" * (row.depth - min((r.depth for r in found.units), default=0)) + row.name
        )
    if found.units:
        show_attainment(attainment_frame(found.units, t("Org unit")), "targets_units")
    else:
        st.caption(t("No unit in your reach."))
    st.subheader(t("People"))
    if found.people:
        show_attainment(attainment_frame(found.people, t("Person"), names), "targets_people")
    else:
        st.caption(t("No one in your reach."))

if manager:
    with tabs[t("Set and split")]:
        st.caption(
            t(
                "Targets are set per month. You set those of the units and people in your reach; your own unit's target and your own come from the level above. A split over the unit's target is allowed and shown as a negative remainder."
            )
        )
        if not units:
            st.info(t("No unit in your reach."))
        else:
            unit_id = st.selectbox(
                t("Unit"),
                list(units),
                format_func=lambda u: "\u3000" * units[u].depth + units[u].name,
                key="targets_split_unit",
            )
            split_editor(unit_id, names[unit_id], month, settable)
    with tabs[t("Import")]:
        st.caption(
            t(
                "A CSV or Excel file with a row per target: the month (2026-03), the org unit (name, or path such as Beijing/Team A) or the person (employee number or name), the metric (revenue, won, new students) and the value. A changed value keeps its history."
            )
        )
        import_page(
            TARGETS,
            me,
            IMPORT_KEY,
            ImportTexts(
                upload=t("Target file"),
                upload_help=t("A spreadsheet of monthly targets."),
                rejected_file="rejected_targets.csv",
            ),
        )

with tabs[t("History")]:
    st.caption(
        t(
            "Every change of a target, newest first. A change made after its month began keeps the value before it here."
        )
    )
    if history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Time"): show_time(h.at),
                        t("Month"): month_text(h.month),
                        t("Unit or person"): h.subject_name,
                        t("Metric"): metric_label(h.metric),
                        t("Before"): value_text(h.metric, h.old_value),
                        t("After"): value_text(h.metric, h.new_value),
                        t("Changed by"): h.changed_by or t("System"),
                        t("After the month began"): t("Yes") if h.late else t("No"),
                        t("Source"): t(label_of("target.source", h.source)),
                        t("Why"): h.note or "",
                    }
                    for h in history
                ]
            ),
            hide_index=True,
            width="stretch",
            key="targets_history",
        )
    else:
        st.caption(t("No change yet."))
