"""The QA workbench's setup tab: checklists (items with weights, a pass mark; retired and
restored) and sampling plans (a share per rep, filters, the stored seed; paused and resumed,
and the week the weekly run last drew)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, label_of
from crm_core.qa.checklists import (
    create_checklist,
    full_marks,
    list_checklists,
    set_checklist_active,
)
from crm_core.qa.plans import create_plan, list_plans, set_plan_active
from ui.company_time import show_time
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t
from ui.qa_review import act

CHANNELS = ("", "call", "wechat", "sms", "visit", "note")


def parse_items(text: str) -> list[tuple[str, int]]:
    """Lines of "item, weight" (a comma, a Chinese comma or a tab between)."""
    items = []
    for line in (text or "").splitlines():
        line = line.replace("，", ",").replace("\t", ",")
        if not line.strip():
            continue
        label, _, weight = line.rpartition(",")
        try:
            items.append((label.strip(), int(weight.strip())))
        except ValueError:
            raise ValidationError(
                N_("Write each item as “item, weight”: {line}"), line=line
            ) from None
    return items


def _toggle(
    label: str, names: dict[int, str], running: dict[int, bool], key: str, labels, change, done
) -> None:
    """Pick one row and switch it: `labels` = (switch off, switch on) button texts and
    `done` the messages after each; `change(session, id, on)` is the core call."""
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    picked = left.selectbox(label, list(names), format_func=names.get, key=f"{key}_pick")
    on = not running[picked]
    if right.button(t(labels[on]), key=f"{key}_toggle"):
        act(lambda s: change(s, picked, on), done[on], name=names[picked])


def _checklists(me) -> tuple[dict[int, str], dict[int, str]]:
    """The checklists' table and their retire/restore; returns every checklist's name and
    those in use (a new plan chooses among these)."""
    with session() as s:
        checklists = list_checklists(s, me)
        rows = [
            {
                t("Checklist"): c.name,
                t("Items"): "; ".join(f"{i['label']} {i['weight']}" for i in c.items),
                t("Out of"): full_marks(c),
                t("Pass mark"): c.pass_mark,
                t("State"): t("In use") if c.active else t("Retired"),
            }
            for c in checklists
        ]
        every = {c.id: c.name for c in checklists}
        running = {c.id: c.active for c in checklists}
    names = {i: name for i, name in every.items() if running[i]}
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        _toggle(
            t("Checklist"),
            every,
            running,
            "qa_cl",
            (N_("Retire the checklist"), N_("Restore the checklist")),
            lambda s, i, on: set_checklist_active(s, me, i, on),
            (N_("Checklist {name} retired."), N_("Checklist {name} restored.")),
        )
        st.caption(
            t(
                "A retired checklist takes no new plan or score; the scores given on it keep it. Pause the plans that use it first."
            )
        )
    with st.form("qa_new_checklist"):
        st.markdown(t("**A new checklist**"))
        name = st.text_input(t("Name"), key="qa_cl_name")
        items = st.text_area(
            t("Items, one a line: item, weight"),
            placeholder="Greeting, 10\nNeeds analysis, 30",
            key="qa_cl_items",
        )
        mark = st.number_input(t("Pass mark"), min_value=0, value=60, step=1, key="qa_cl_mark")
        saved = st.form_submit_button(t("Add the checklist"))
    if saved:
        try:
            parsed = parse_items(items)
        except ValidationError as error:
            show_error(error)
        else:
            act(
                lambda s: create_checklist(s, me, name=name, items=parsed, pass_mark=int(mark)),
                N_("Checklist added."),
            )
    return every, names


def _filters_text(filters: dict) -> str:
    return "; ".join(f"{t(label_of('qa.filter', k))}: {v}" for k, v in sorted(filters.items()))


def _plan_state(plan) -> str:
    if plan.active:
        return t("Running")
    if plan.paused_at is None:
        return t("Paused")
    return t("Paused since {when}", when=show_time(plan.paused_at))


def _plans(me, every: dict[int, str], checklists: dict[int, str]) -> None:
    with session() as s:
        plans = list_plans(s, me)
        rows = [
            {
                t("Sampling plan"): p.name,
                t("Checklist"): every.get(p.checklist_id, ""),
                t("Share per rep (%)"): p.percent,
                t("Filters"): _filters_text(p.filters or {}),
                t("Seed"): p.seed,
                t("State"): _plan_state(p),
                t("Last week drawn"): (
                    t("Week of {day}", day=p.drawn_week.isoformat()) if p.drawn_week else ""
                ),
            }
            for p in plans
        ]
        names = {p.id: p.name for p in plans}
        running = {p.id: p.active for p in plans}
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        _toggle(
            t("Sampling plan"),
            names,
            running,
            "qa_plan",
            (N_("Pause the plan"), N_("Resume the plan")),
            lambda s, i, on: set_plan_active(s, me, i, on),
            (N_("Sampling plan {name} paused."), N_("Sampling plan {name} resumed.")),
        )
        st.caption(
            t(
                "Once a week ends, the worker draws each running plan for it (company time); a paused plan is skipped until it is resumed."
            )
        )
    if not checklists:
        return
    with st.form("qa_new_plan"):
        st.markdown(t("**A new sampling plan**"))
        name = st.text_input(t("Name"), key="qa_plan_name")
        checklist_id = st.selectbox(
            t("Checklist"), list(checklists), format_func=checklists.get, key="qa_plan_checklist"
        )
        percent = st.number_input(
            t("Share per rep (%)"), min_value=1, max_value=100, value=5, key="qa_plan_percent"
        )
        channel = st.selectbox(
            t(label_of("qa.filter", "channel")),
            CHANNELS,
            format_func=lambda c: t(label_of("follow_up.channel", c)) if c else t("Any"),
            key="qa_plan_channel",
        )
        short = st.number_input(
            t(label_of("qa.filter", "max_duration_s")), min_value=0, value=0, key="qa_plan_short"
        )
        new_days = st.number_input(
            t(label_of("qa.filter", "new_rep_days")), min_value=0, value=0, key="qa_plan_new"
        )
        lost = st.checkbox(t(label_of("qa.filter", "lost_only")), key="qa_plan_lost")
        saved = st.form_submit_button(t("Add the plan"))
    if saved:
        filters = {
            "channel": channel,
            "max_duration_s": int(short),
            "new_rep_days": int(new_days),
            "lost_only": lost,
        }
        act(
            lambda s: create_plan(
                s, me, name=name, checklist_id=checklist_id, percent=int(percent), filters=filters
            ),
            N_("Sampling plan added."),
        )


def setup_tab() -> None:
    me = actor()
    st.subheader(t("Checklists"))
    every, checklists = _checklists(me)
    st.subheader(t("Sampling plans"))
    _plans(me, every, checklists)
