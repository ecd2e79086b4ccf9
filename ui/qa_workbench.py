"""The QA workbench's tabs: the queue with the sampling run and the scoring of one item, the
week's scores, and the appeals a decider settles."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from crm_core.models import QaChecklist
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_
from crm_core.qa.appeals import decide_appeal, list_appeals
from crm_core.qa.checklists import list_checklists
from crm_core.qa.plans import list_plans, run_plan
from crm_core.qa.report import week_scores
from crm_core.qa.reviews import list_queue, review_detail, score_review
from ui.company_time import company_today
from ui.context import actor
from ui.db import session
from ui.i18n import show_error, t, tmd
from ui.options import labels
from ui.qa_review import act, points_inputs, row_label, rows_table, show_item, show_scores


def _run_plan_form(me) -> None:
    with session() as s:
        every = list_plans(s, me)
        plans = [(p.id, p.name) for p in every if p.active]
    if not plans:
        if every:
            st.caption(t("Every sampling plan is paused: resume one under Checklists and plans."))
        else:
            st.caption(t("No sampling plan yet: add one under Checklists and plans."))
        return
    names = dict(plans)
    left, middle, right = st.columns([3, 2, 2], vertical_alignment="bottom")
    plan_id = left.selectbox(
        t("Sampling plan"), list(names), format_func=names.get, key="qa_run_plan"
    )
    day = middle.date_input(t("Week of"), value=company_today(), key="qa_run_week")
    if right.button(t("Draw the sample"), key="qa_run"):
        try:
            with session() as s:
                outcome = run_plan(s, me, plan_id, day)
        except CrmError as error:
            show_error(error)
        else:
            st.success(
                t(
                    "Drawn {drawn}, new in the queue {added}, flagged for sensitive words {flagged}.",
                    **outcome,
                )
            )


def _score_form(me, review_id: int) -> None:
    with session() as s:
        detail = review_detail(s, me, review_id)
        # New scores are given on checklists in use only; a retired one is named.
        checklists = {c.id: c for c in list_checklists(s, me, active_only=True)}
        retired = None
        if detail.checklist_id and detail.checklist_id not in checklists:
            retired = s.get(QaChecklist, detail.checklist_id).name
        for c in checklists.values():
            s.expunge(c)
    show_item(detail)
    if retired:
        st.caption(tmd("The checklist {name} is retired: choose one in use.", name=retired))
    if not checklists:
        st.caption(t("No checklist yet: add one under Checklists and plans."))
        return
    ids = list(checklists)
    checklist_id = st.selectbox(
        t("Checklist"),
        ids,
        index=ids.index(detail.checklist_id) if detail.checklist_id in ids else 0,
        format_func=lambda i: checklists[i].name,
        key=f"qa_checklist_{review_id}",
    )
    checklist = checklists[checklist_id]
    tags = labels("qa_violation")
    key = f"qa_score_{review_id}"
    with st.form(key):
        scores = points_inputs(checklist, detail.scores, key)
        chosen = st.multiselect(
            t("Violation tags"),
            list(tags),
            default=[c for c in detail.violation_tags if c in tags],
            format_func=lambda c: tags.get(c, c),
            key=f"{key}_tags",
        )
        comment = st.text_area(t("Comment"), value=detail.comment or "", key=f"{key}_comment")
        saved = st.form_submit_button(t("Save the score"))
    st.caption(
        t(
            "Total {total} of {full}; passes at {mark}.",
            total=sum(scores.values()),
            full=sum(int(i["weight"]) for i in checklist.items),
            mark=checklist.pass_mark,
        )
    )
    if saved:
        act(
            lambda s: score_review(
                s,
                me,
                review_id,
                checklist_id=checklist_id,
                scores=scores,
                violation_tags=chosen,
                comment=comment,
            ),
            N_("Score saved: the rep is told."),
        )


def queue_tab() -> None:
    me = actor()
    _run_plan_form(me)
    status = (
        st.segmented_control(
            t("Show"),
            ["pending", "scored"],
            default="pending",
            format_func=lambda s: t("Waiting") if s == "pending" else t("Scored"),
            key="qa_queue_status",
        )
        or "pending"
    )
    try:
        with session() as s:
            rows = list_queue(s, me, status=status)
    except CrmError as error:
        show_error(error)
        return
    if not rows:
        st.caption(t("Nothing in the queue."))
        return
    rows_table(rows)
    by_id = {r.id: r for r in rows}
    review_id = st.selectbox(
        t("Inspect"), list(by_id), format_func=lambda i: row_label(by_id[i]), key="qa_pick"
    )
    if review_id is not None:
        try:
            _score_form(me, review_id)
        except CrmError as error:
            show_error(error)


def scores_tab() -> None:
    me = actor()
    day: date = st.date_input(t("Week of"), value=company_today(), key="qa_scores_week")
    try:
        with session() as s:
            scores = week_scores(s, me, day)
    except CrmError as error:
        show_error(error)
        return
    if not scores.reps:
        st.caption(t("Nothing scored that week."))
        return
    for title, lines, name in (
        (t("Per rep"), scores.reps, t("Rep")),
        (t("Per team"), scores.teams, t("Team")),
    ):
        st.subheader(title)
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        name: line.name,
                        t("Scored"): line.scored,
                        t("Average"): line.average,
                        t("Passed"): line.passed,
                    }
                    for line in lines
                ]
            ),
            hide_index=True,
        )
    st.subheader(t("Items losing the most points"))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Checklist"): line.checklist,
                    t("Item"): line.item,
                    t("Points given"): f"{line.given} / {line.possible}",
                }
                for line in scores.worst_items
            ]
        ),
        hide_index=True,
    )


def appeals_tab() -> None:
    me = actor()
    try:
        with session() as s:
            rows = list_appeals(s, me)
    except CrmError as error:
        show_error(error)
        return
    if not rows:
        st.caption(t("No appeal waits for a decision."))
        return
    rows_table(rows)
    by_id = {r.id: r for r in rows}
    review_id = st.selectbox(
        t("Decide"), list(by_id), format_func=lambda i: row_label(by_id[i]), key="qa_appeal_pick"
    )
    with session() as s:
        detail = review_detail(s, me, review_id)
        checklist = s.get(QaChecklist, detail.checklist_id) if detail.checklist_id else None
        if checklist is not None:
            s.expunge(checklist)
    show_item(detail)
    show_scores(checklist, detail)
    key = f"qa_decide_{review_id}"
    note = st.text_area(t("Note to the rep"), key=f"{key}_note")
    scores = points_inputs(checklist, detail.scores, key) if checklist else {}
    left, right = st.columns(2)
    if left.button(t("Uphold the score"), key=f"{key}_uphold"):
        act(
            lambda s: decide_appeal(s, me, review_id, note=note),
            N_("Score upheld: the rep is told."),
        )
    if right.button(t("Change the score"), key=f"{key}_change"):
        act(
            lambda s: decide_appeal(s, me, review_id, scores=scores, note=note),
            N_("Score changed: the rep is told."),
        )
