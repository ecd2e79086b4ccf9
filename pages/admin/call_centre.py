"""The call centre (外呼接口管理, call-centre administrators): the vendor (its secret kept
encrypted, never shown again), lines and caller numbers, seats mapped to users, and the call
log with the calls to numbers that are no lead's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.calls.log import list_calls
from crm_core.calls.providers import KINDS, call_provider_config, save_call_provider_config
from crm_core.calls.setup import list_lines, list_seats, save_line, save_seat
from crm_core.imports.calls import CALLS
from crm_core.org.users import list_users
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.permissions import Permission
from ui.company_time import show_time, zone_caption
from ui.context import actor
from ui.db import session
from ui.feedback import flash, show_flash
from ui.i18n import nt, show_error, t
from ui.import_flow import ImportTexts, import_page, run_pending
from ui.provider_form import provider_form

me = actor()
st.title(t("Call centre"))
show_flash()
zone_caption()


def _act(action, done: str) -> None:
    try:
        with session() as s:
            action(s)
    except CrmError as error:
        show_error(error)
    else:
        flash(done)
        st.rerun()


def provider_tab() -> None:
    if not me.can(Permission.MANAGE_SETTINGS):
        st.caption(t("The vendor's settings are an administrator's."))
        return
    with session() as s:
        config = call_provider_config(s, me)
    provider_form(
        "calls_provider",
        config,
        KINDS,
        "calls.provider",
        lambda s, **settings: save_call_provider_config(s, me, **settings),
    )


def lines_tab() -> None:
    with session() as s:
        lines = list_lines(s, me)
    if lines:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Line"): line.name,
                        t("Caller number"): line.caller_number,
                        t("In use"): line.active,
                    }
                    for line in lines
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    with st.form("calls_line"):
        name = st.text_input(t("Line"))
        number = st.text_input(t("Caller number"))
        if st.form_submit_button(t("Add the line")):
            _act(lambda s: save_line(s, me, name=name, caller_number=number), N_("Line saved."))


def seats_tab() -> None:
    with session() as s:
        seats = list_seats(s, me)
        lines = {line.id: line.name for line in list_lines(s, me) if line.active}
        rows, _ = list_users(s, me, status="active", limit=1000)
        users = {u.id: f"{u.full_name} ({u.username})" for u in rows}
    if seats:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("Seat"): seat.seat_no,
                        t("User"): seat.user_name,
                        t("Line"): seat.line_name,
                        t("In use"): seat.active,
                    }
                    for seat in seats
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if not lines:
        st.caption(t("Add a line first."))
        return
    with st.form("calls_seat"):
        seat_no = st.text_input(t("Seat"))
        user = st.selectbox(t("User"), list(users), format_func=users.get)
        line = st.selectbox(t("Line"), list(lines), format_func=lines.get)
        if st.form_submit_button(t("Save the seat")):
            _act(
                lambda s: save_seat(s, me, seat_no=seat_no, user_id=user, line_id=line),
                N_("Seat saved."),
            )


def log_tab() -> None:
    unknown = st.toggle(t("Only numbers that are no lead's"), key="calls_unknown")
    with session() as s:
        calls = list_calls(s, me, unknown_numbers=unknown)
    if not calls:
        st.caption(t("No call yet."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("Started"): show_time(c.started_at),
                    t("Lead"): c.lead_name or "",
                    t("Phone"): c.phone,
                    t("User"): c.user_name or "",
                    t("State"): t(label_of("call.state", c.state)),
                    t("Result"): t(label_of("call.result", c.result)) if c.result else "",
                    t("Seconds"): c.duration_s,
                    t("Recording"): c.recording_url or "",
                }
                for c in calls
            ]
        ),
        column_config={t("Recording"): st.column_config.LinkColumn()},
        hide_index=True,
        width="stretch",
    )


def import_tab() -> None:
    run_pending(CALLS, me, "calls_import")
    st.caption(
        t(
            "The vendor's export of ended calls: call id, seat, customer number, times, duration, result and recording on each row. Calls recorded before are skipped, so a file can be imported again safely."
        )
    )
    import_page(
        CALLS,
        me,
        "calls_import",
        ImportTexts(
            upload=t("Call record file"),
            upload_help=t("A CSV or Excel export of the vendor's call records."),
            rejected_file="rejected_calls.csv",
            import_button=t("Record the calls"),
        ),
        show_result=_import_result,
    )


def _import_result(result) -> None:
    counts = result.counts
    if result.refused:
        st.warning(t("Nothing was recorded: some rows are bad."))
        return
    st.success(
        t(
            "Import done: {recorded} calls recorded ({follow_ups} follow-ups), {unknown} to numbers that are no lead's, {already} recorded already, {rejected} bad rows left out.",
            recorded=counts.get("recorded", 0),
            follow_ups=counts.get("follow_ups", 0),
            unknown=counts.get("unknown_numbers", 0),
            already=counts.get("already", 0),
            rejected=counts.get("rejected", 0),
        )
    )
    if counts.get("flagged"):
        st.info(
            nt(
                "{n} call summary holds sensitive words: it waits in the QA queue.",
                "{n} call summaries hold sensitive words: they wait in the QA queue.",
                counts["flagged"],
            )
        )


tabs = [
    (t("Provider"), provider_tab),
    (t("Lines"), lines_tab),
    (t("Seats"), seats_tab),
    (t("Call log"), log_tab),
    (t("Import call records"), import_tab),
]
shown = st.tabs([title for title, _ in tabs], key="calls_tabs", on_change="rerun")
for tab, (_, show) in zip(shown, tabs, strict=True):
    with tab:
        if tab.open:
            try:
                show()
            except CrmError as error:
                show_error(error)
