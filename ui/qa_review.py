"""Pieces the QA pages share: a review's row in a table, its follow-up with the opportunity's
context and the recording, and the per-item points of its checklist."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.models import QaChecklist
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.qa.reviews import ReviewDetail, ReviewRow
from ui.company_time import show_time
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t, tmd
from ui.options import labels, stage_text


def act(action, done: str, **params) -> bool:
    """Run one core change in its own transaction; a refusal shows its reason."""
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
        return False
    flash(done, **params)
    st.rerun()
    return True


def rows_table(rows: list[ReviewRow]) -> None:
    """The reviews as a table (no row is clicked: a select box picks one)."""
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "#": r.id,
                    t("Rep"): r.rep_name or "",
                    t("Channel"): t(label_of("follow_up.channel", r.channel)),
                    t("Call length (s)"): r.call_duration_s,
                    t("Written"): show_time(r.written_at),
                    t("Why"): t(label_of("qa.reason", r.reason)),
                    t("Sensitive words"): "、".join(r.flagged_words),
                    t("Status"): t(label_of("qa.status", r.status)),
                    t("Score"): r.total,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def row_label(row: ReviewRow) -> str:
    return f"#{row.id} · {row.rep_name or ''} · {show_time(row.written_at)}"


def show_item(detail: ReviewDetail) -> None:
    """The follow-up as it was written, its recording, and its opportunity."""
    row = detail.row
    if row.flagged_words:
        st.warning(tmd("Sensitive words: {words}", words="、".join(row.flagged_words)))
    st.markdown(
        tmd(
            "**{lead}** · {line} · {stage} · opportunity #{opportunity}",
            lead=detail.lead_name,
            line=detail.business_line,
            stage=stage_text(detail.stage),
            opportunity=row.opportunity_id,
        )
    )
    st.caption(
        tmd(
            "{channel} by {rep}, {at}",
            channel=t(label_of("follow_up.channel", row.channel)),
            rep=row.rep_name or "",
            at=show_time(row.written_at),
        )
    )
    if row.call_duration_s is not None:
        st.caption(tmd("Call length: {seconds} s", seconds=row.call_duration_s))
    if detail.recording_url:
        st.audio(detail.recording_url)
    st.text(detail.content or "")
    if detail.result:
        st.caption(
            tmd(
                "Result: {result}",
                result=labels("follow_up_result").get(detail.result, detail.result),
            )
        )


def points_inputs(checklist: QaChecklist, given: dict, key: str) -> dict[str, int]:
    """One number per checklist item, 0 to its weight, starting at what was given (or full)."""
    scores: dict[str, int] = {}
    for item in checklist.items:
        weight = int(item["weight"])
        scores[item["code"]] = int(
            st.number_input(
                tmd("{item} (0–{weight})", item=item["label"], weight=weight),
                min_value=0,
                max_value=weight,
                value=int(given.get(item["code"], weight)),
                step=1,
                key=f"{key}_{checklist.id}_{item['code']}",
            )
        )
    return scores


def show_scores(checklist: QaChecklist | None, detail: ReviewDetail) -> None:
    """The points per item, the tags and the comment of a scored review."""
    if checklist is not None:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Item"): item["label"],
                        t("Points"): detail.scores.get(item["code"]),
                        t("Out of"): item["weight"],
                    }
                    for item in checklist.items
                ]
            ),
            hide_index=True,
        )
    if detail.violation_tags:
        names = labels("qa_violation")
        st.markdown(
            tmd(
                "Violations: {tags}", tags="、".join(names.get(c, c) for c in detail.violation_tags)
            )
        )
    if detail.comment:
        st.markdown(tmd("Inspector's comment: {comment}", comment=detail.comment))
    if detail.appeal_reason:
        st.markdown(tmd("Appeal: {reason}", reason=detail.appeal_reason))
    if detail.decision_note:
        st.markdown(tmd("Decision: {note}", note=detail.decision_note))
    if detail.original_total is not None and detail.original_total != detail.row.total:
        st.caption(tmd("First score: {total}", total=detail.original_total))
