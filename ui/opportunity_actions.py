"""The actions of the opportunity detail page: log a follow-up (with an optional stage move),
change the stage, book or mark a trial lesson, set the intention and the next follow-up,
ask the manager for a transfer. Each is a form whose submit calls one core function; the
core checks everything, the form only collects."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from crm_core.models import FOLLOW_UP_CHANNELS
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from crm_core.sales.detail import OpportunityDetail
from crm_core.sales.follow_ups import (
    FollowUpInput,
    log_follow_up,
    set_intention,
    set_next_follow_up,
)
from crm_core.sales.stages import change_stage, next_stages
from crm_core.sales.transfers import colleagues, request_transfer, withdraw_transfer
from crm_core.sales.trials import book_trial, mark_trial
from ui.circulation import label
from ui.company_time import in_company_time
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t, tmd
from ui.inputs import text_area, text_input
from ui.options import choices, labels, option_text
from ui.sales import local, local_now, stage_text, to_utc


def _run(action, *args, success: str, **kwargs) -> None:
    """Call a core action in its own transaction; flash `success` and rerun, or show why
    it was refused."""
    try:
        with session() as s:
            action(s, *args, **kwargs)
    except CrmError as error:
        show_error(error)
    else:
        flash(success)
        st.rerun()


def _when(prefix: str, day_label: str, default: datetime) -> datetime:
    """A local date and time picked in a form, as UTC."""
    left, right = st.columns(2)
    day = left.date_input(t(day_label), value=default.date(), key=f"{prefix}_day")
    at = right.time_input(
        t("Time"),
        value=default.time(),
        key=f"{prefix}_time",
        step=timedelta(minutes=15),
    )
    return to_utc(day, at)


def _tomorrow_ten() -> datetime:
    return datetime.combine(local_now().date() + timedelta(days=1), time(10, 0))


def _options(category: str) -> dict[str, str]:
    """Code -> label of the active options of a list, in display order."""
    words = labels(category)
    return {code: words[code] for code in choices(category)}


def _round(name: str) -> int:
    """The current round of a form's keys: a saved form starts a new round, so every field
    comes back empty instead of keeping what was typed."""
    return st.session_state.setdefault(f"{name}_round", 0)


def _saved(name: str, action, *args, success: str, **kwargs) -> None:
    """`_run`, and on success the form named `name` starts empty."""
    try:
        with session() as s:
            action(s, *args, **kwargs)
    except CrmError as error:
        show_error(error)
    else:
        st.session_state[f"{name}_round"] = _round(name) + 1
        flash(success)
        st.rerun()


def _stage_extras(prefix: str, stage: str, reasons: dict[str, str]):
    """What the chosen stage needs, and only that: a trial time for "trial booked", a reason
    for "lost"."""
    trial_at = lost_reason = None
    if stage == "trial_booked":
        trial_at = _when(f"{prefix}_trial", N_("Trial date"), _tomorrow_ten())
    elif stage == "lost":
        lost_reason = st.selectbox(
            t("Why was it lost?"),
            ["", *reasons],
            format_func=lambda r: reasons.get(r, t("-")),
            key=f"{prefix}_lost_reason",
        )
    return trial_at, lost_reason or None


# Not st.form: a form cannot show the trial or lost fields for the stage picked in it before
# it is sent. Each field is keyed by the form's round instead.
def follow_up_form(me: Actor, detail: OpportunityDetail) -> None:
    results = _options("follow_up_result")
    reasons = _options("lost_reason")
    stages = next_stages(me, detail.stage)
    key = f"opp_fu{_round('opp_fu')}"
    left, middle, right = st.columns(3)
    channel = left.selectbox(
        t(NC_("opportunity.fu", "Channel")),
        FOLLOW_UP_CHANNELS,
        format_func=lambda c: label("follow_up.channel", c),
        key=f"{key}_channel",
    )
    result = middle.selectbox(
        t("Result"),
        ["", *results],
        format_func=lambda r: results.get(r, t("-")),
        key=f"{key}_result",
    )
    # The active levels; a disabled level the opportunity holds is not offered again.
    levels = ["", *choices("intention_level")]
    current = detail.intention_level if detail.intention_level in levels else ""
    level = right.selectbox(
        t("Intention level"),
        levels,
        index=levels.index(current),
        format_func=lambda v: option_text("intention_level", v) if v else t("-"),
        key=f"{key}_level",
    )
    content = text_area(t("What was said"), max_chars=4000, key=f"{key}_content")
    minutes = st.number_input(
        t("Call minutes"),
        min_value=0,
        max_value=600,
        value=0,
        help=t("For calls: how long you talked."),
        key=f"{key}_minutes",
    )
    stage = st.selectbox(
        t("Move to stage"),
        ["", *stages],
        format_func=lambda s: stage_text(s) if s else t("Keep the stage"),
        key=f"{key}_stage",
    )
    trial_at, lost_reason = _stage_extras(key, stage, reasons)
    next_at = None
    if stage != "lost":
        next_at = _when(f"{key}_next", N_("Next follow-up"), _tomorrow_ten())
    if st.button(t("Save the follow-up"), type="primary", key=f"{key}_save"):
        entry = FollowUpInput(
            channel=channel,
            content=content,
            result=result or None,
            intention_level=level or None,
            next_follow_up_at=next_at,
            call_duration_s=int(minutes) * 60 if minutes else None,
            stage=stage or None,
            trial_at=trial_at,
            lost_reason=lost_reason,
        )
        _saved("opp_fu", log_follow_up, me, detail.id, entry, success=N_("Follow-up saved."))


def stage_form(me: Actor, detail: OpportunityDetail) -> None:
    stages = next_stages(me, detail.stage)
    reasons = _options("lost_reason")
    key = f"opp_stage{_round('opp_stage')}"
    stage = st.selectbox(t("New stage"), stages, format_func=stage_text, key=f"{key}_stage")
    trial_at, lost_reason = _stage_extras(key, stage, reasons)
    st.caption(
        t(
            "Stages move forward; a booked trial needs its time, lost needs a reason. A paid order wins the opportunity."
        )
    )
    if st.button(t("Change the stage"), key=f"{key}_save"):
        _saved(
            "opp_stage",
            change_stage,
            me,
            detail.id,
            stage,
            trial_at=trial_at,
            lost_reason=lost_reason,
            success=N_("Stage changed."),
        )


def trial_form(me: Actor, detail: OpportunityDetail) -> None:
    booked = detail.booked_trial
    if booked is not None:
        st.info(
            tmd(
                "Trial booked for {at}: {course}",
                at=local(booked.scheduled_at),
                course=booked.course or "-",
            )
        )
        cols = st.columns(3)
        for column, outcome in zip(cols, ("done", "no_show", "cancelled"), strict=True):
            if column.button(
                t(label_of("opportunity.trial.mark", outcome)), key=f"opp_trial_{outcome}"
            ):
                _run(mark_trial, me, booked.id, outcome, success=N_("Trial lesson updated."))
    with st.form("opp_trial"):
        at = _when("opp_trial", N_("Trial date"), _tomorrow_ten())
        course = text_input(t("Course or topic"), max_chars=200)
        submit = N_("Reschedule") if booked else N_("Book the trial")
        if st.form_submit_button(t(submit)):
            _run(book_trial, me, detail.id, at, course or None, success=N_("Trial lesson booked."))


def plan_form(me: Actor, detail: OpportunityDetail) -> None:
    """The intention level and the next follow-up, set without logging a contact."""
    with st.form("opp_plan"):
        levels = choices("intention_level")
        level = st.radio(
            t("Intention level"),
            levels,
            horizontal=True,
            index=levels.index(detail.intention_level)
            if detail.intention_level in levels
            else None,
            format_func=lambda v: option_text("intention_level", v),
        )
        current = detail.next_follow_up_at
        next_at = _when(
            "opp_plan_next",
            N_("Next follow-up"),
            in_company_time(current) if current else _tomorrow_ten(),
        )
        if st.form_submit_button(t("Save")):
            try:
                with session() as s:
                    if level and level != detail.intention_level:
                        set_intention(s, me, detail.id, level)
                    set_next_follow_up(s, me, detail.id, next_at)
            except CrmError as error:
                show_error(error)
            else:
                flash(N_("Saved."))
                st.rerun()


def transfer_form(me: Actor, detail: OpportunityDetail, requests) -> None:
    pending = next((r for r in requests if r.status == "pending"), None)
    if pending is not None:
        st.info(
            tmd(
                "A transfer was asked for on {at}: {reason}",
                at=local(pending.created_at),
                reason=pending.reason,
            )
        )
        if pending.requested_by_id == me.user_id and st.button(
            t("Withdraw the request"), key="opp_transfer_withdraw"
        ):
            _run(withdraw_transfer, me, pending.id, success=N_("Request withdrawn."))
        return
    if detail.pool_state != "owned":
        st.caption(t("Only an opportunity someone owns can be transferred."))
        return
    with session() as s:
        names = dict(colleagues(s, me))
    with st.form("opp_transfer"):
        reason = text_area(t("Why should someone else take it?"), max_chars=400)
        suggested = st.selectbox(
            t("Suggest a colleague (optional)"),
            [None, *names],
            format_func=lambda u: names.get(u, t("-")),
        )
        if st.form_submit_button(t("Ask the manager")):
            _run(
                request_transfer,
                me,
                detail.id,
                reason,
                suggested,
                success=N_("Your manager has been asked."),
            )
